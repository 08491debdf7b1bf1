"""Data: CSV / NPZ / IDX loaders, the bundled digits, deterministic splits, feature scaling."""

from chainrule.data.dataset import Dataset
from chainrule.data.digits import load_digits
from chainrule.data.load import load_data, parse_shape
from chainrule.data.scaling import Scaler, ready
from chainrule.data.split import train_validation_split

__all__ = ["Dataset", "load_data", "load_digits", "parse_shape", "ready", "Scaler", "train_validation_split"]

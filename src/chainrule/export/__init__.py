"""Writing chainrule models for other runtimes. Each format's package is imported only when used."""

from chainrule.export.onnx import onnx_model, save_onnx

__all__ = ["onnx_model", "save_onnx"]

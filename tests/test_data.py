"""Loaders on generated files of every format, splits, scaling, and their one-line errors."""

import gzip

import numpy as np
import pytest

from chainrule.data import Scaler, load_data, load_digits, parse_shape, train_validation_split
from chainrule.data.idx import read_idx
from chainrule.errors import ChainruleError


def idx_bytes(a: np.ndarray, kind: int = 0x08) -> bytes:
    head = bytes([0, 0, kind, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    return head + a.astype(">u1" if kind == 0x08 else ">f8").tobytes()


@pytest.fixture
def images():
    g = np.random.default_rng(0)
    return g.integers(0, 256, (7, 5, 4)).astype(np.uint8), g.integers(0, 10, 7).astype(np.uint8)


@pytest.mark.parametrize("header", [False, True, "pandas"])
def test_csv_label_first(tmp_path, header):
    p = tmp_path / "d.csv"
    head = {False: "", True: "label,a,b,c\n", "pandas": "y,0,1,2\n"}[header]  # numbered feature columns
    p.write_text(head + "1,0.5,2,3\n0,4,5,6e-1\n\n2,7,8,9\n")
    d = load_data(p)
    np.testing.assert_array_equal(d.y, [1, 0, 2])
    np.testing.assert_array_equal(d.X, [[0.5, 2, 3], [4, 5, 0.6], [7, 8, 9]])
    assert d.num_classes == 3 and d.y.dtype == np.int64


def test_csv_in_a_legacy_encoding_and_binary_files(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("label,Größe,Höhe\n1,2,3\n0,4,5\n".encode("cp1252"))  # a header saved by a spreadsheet
    np.testing.assert_array_equal(load_data(p).X, [[2, 3], [4, 5]])
    z = tmp_path / "excel.csv.gz"
    z.write_bytes(gzip.compress(p.read_bytes()))
    np.testing.assert_array_equal(load_data(z).X, [[2, 3], [4, 5]])
    b = tmp_path / "binary.csv"
    b.write_bytes(b"PK\x03\x04\x00\xff\xfe")
    with pytest.raises(ChainruleError, match="not a text file"):
        load_data(b)


def test_csv_regression_and_image_shape(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("0.25,1,2,3,4\n-1.5,5,6,7,8\n")
    d = load_data(p, task="regression", image_shape=parse_shape("2,2"))
    assert d.X.shape == (2, 1, 2, 2) and d.y.dtype == np.float64
    np.testing.assert_array_equal(d.y, [0.25, -1.5])


def test_npz(tmp_path):
    X, y = np.arange(24.0).reshape(4, 6), np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    d = load_data(tmp_path / "d.npz")
    np.testing.assert_array_equal(d.X, X)
    np.testing.assert_array_equal(d.y, y)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_plain_and_gzipped(tmp_path, images, gz):
    X, y = images
    wrap = gzip.compress if gz else (lambda b: b)
    suffix = ".gz" if gz else ""
    (tmp_path / f"train-images-idx3-ubyte{suffix}").write_bytes(wrap(idx_bytes(X)))
    (tmp_path / f"train-labels-idx1-ubyte{suffix}").write_bytes(wrap(idx_bytes(y)))
    d = load_data(tmp_path / f"train-images-idx3-ubyte{suffix}")  # labels found by MNIST's naming
    assert d.X.shape == (7, 1, 5, 4)
    np.testing.assert_array_equal(d.X[:, 0], X)
    np.testing.assert_array_equal(d.y, y)


def test_idx_float_type(tmp_path):
    a = np.linspace(0, 1, 12).reshape(3, 4)
    (tmp_path / "x.idx").write_bytes(idx_bytes(a, 0x0E))
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), a)


def test_digits_and_split():
    d = load_digits()
    assert d.X.shape == (1797, 1, 8, 8) and d.num_classes == 10
    tr, va = train_validation_split(d, 0.2, seed=0)
    tr2, va2 = train_validation_split(d, 0.2, seed=0)
    assert len(tr) == 1438 and len(va) == 359
    np.testing.assert_array_equal(va.X, va2.X)
    _, va3 = train_validation_split(d, 0.2, seed=1)
    assert not np.array_equal(va.y, va3.y)


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_scaler_round_trips_through_json(kind):
    X = np.array([[1.0, 5, 2], [3, 5, 4], [5, 5, 9]])
    s = Scaler.fit(kind, X)
    Z = s.transform(X)
    assert np.all(np.isfinite(Z))  # the constant column gets scale 1, not 0
    if kind == "standard":
        np.testing.assert_allclose(Z[:, 0].mean(), 0, atol=1e-15)
    else:
        np.testing.assert_allclose(Z[:, 2], [0, 2 / 7, 1])
    np.testing.assert_array_equal(Scaler.from_json(s.to_json()).transform(X), Z)


CSV_ERRORS = [
    ("1,2,3\n4,5\n", "line 2: 2 columns"),
    ("1,2,3\n4,x,6\n", "line 2, column 2: 'x' is not a number"),
    ("", "empty"),
    ("1,2,3\n1.5,2,3\n", "line 2: label 1.5 is not an integer"),
    ("1,2,3\n1,nan,3\n", "line 2: value nan"),
    ("1,2,3\n0,2,inf\n", "line 2: value inf"),
    ("-1,2,3\n", "negative"),
    # a first line with a bad cell is data, not a header to drop silently
    ("1,,3\n0,2,3\n", "line 1, column 2: '' is not a number"),
    ("1,2,3,\n0,2,3,\n", "line 1, column 4"),
    # a real-valued target without --task regression would make a network with 250001 outputs
    ("250000,2,3\n199000,1,1\n", "line 1: label 250000 would need 250001 classes"),
    ("1e20,2,3\n", "line 1: label 1e+20"),
]


@pytest.mark.parametrize("text, needle", CSV_ERRORS)
def test_csv_errors_name_file_and_line(tmp_path, text, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ChainruleError) as e:
        load_data(p)
    assert str(p) in str(e.value) and needle in str(e.value)


def test_idx_errors(tmp_path, images):
    X, y = images
    good = idx_bytes(X)
    bad_magic = tmp_path / "a-images-idx3-ubyte"
    bad_magic.write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(ChainruleError, match="magic number 0x1234"):
        load_data(bad_magic)
    short = tmp_path / "b-images-idx3-ubyte.gz"
    short.write_bytes(gzip.compress(good[:-5]))
    with pytest.raises(ChainruleError, match="truncated"):
        load_data(short)
    img, lab = tmp_path / "c-images-idx3-ubyte", tmp_path / "c-labels-idx1-ubyte"
    img.write_bytes(good)
    lab.write_bytes(idx_bytes(y[:5]))
    with pytest.raises(ChainruleError, match="5 labels, but .* holds 7 images"):
        load_data(img)
    empty = tmp_path / "e-images-idx3-ubyte"
    empty.write_bytes(idx_bytes(X[:0]))
    with pytest.raises(ChainruleError, match="holds no examples"):
        load_data(empty, labelled=False)
    lab.write_bytes(idx_bytes(y))
    with pytest.raises(ChainruleError, match="--image-shape 1,3,3 needs 9 values per example"):
        load_data(img, labels=None, image_shape=(1, 3, 3))


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "a.npz", X=np.ones((3, 2)), z=np.ones(3))
    with pytest.raises(ChainruleError, match="expected arrays 'X' and 'y'"):
        load_data(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(ChainruleError, match="3 examples but y has 4"):
        load_data(tmp_path / "b.npz")
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.array(1))
    with pytest.raises(ChainruleError, match="y is a single number"):
        load_data(tmp_path / "d.npz")
    (tmp_path / "c.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ChainruleError, match="not a readable .npz"):
        load_data(tmp_path / "c.npz")


def test_bundled_digits_resource_equals_scikit_learns_load_digits():
    from sklearn.datasets import load_digits as sk_digits

    d, ours = sk_digits(), load_digits()
    np.testing.assert_array_equal(ours.X.reshape(len(ours), -1), d.data)  # the same stored numbers, not computed
    np.testing.assert_array_equal(ours.y, d.target)
    assert ours.X.dtype == d.data.dtype and ours.y.dtype == d.target.dtype


def test_bundled_digits_need_no_scikit_learn():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
        "from chainrule.data import load_digits; print(load_digits().X.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(1797, 1, 8, 8)"

"""CSV files with the label (or target) in the first column, then one column per feature.

This is the course's format: ``label,pixel_1,…,pixel_M``, one example per line. A header line is
allowed (it is recognised by its first cell, the label column's name, not being a number).
Cells may be separated by commas, semicolons or tabs (a spreadsheet's export): the first line's
separator is used for the whole file; a quoted cell ("1.5") is read as its contents. Errors name the
file, the line and the column.
"""

from pathlib import Path

import numpy as np

from chainrule.data.dataset import Dataset, check_features, check_targets
from chainrule.data.limits import csv_limit
from chainrule.errors import ChainruleError
from chainrule.files import read_bytes


def read_csv_rows(path: "str | Path") -> tuple[np.ndarray, int]:
    """All rows as one float64 matrix (n, columns) and the 1-based line number of row 0.

    A fast path parses the whole file with NumPy; only when that fails is the file read line by line
    to find and name the bad line (ragged row or non-number).
    """
    path = Path(path)
    raw = read_bytes(path, "a CSV file", gunzip=True, limit=csv_limit(), text="CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\0" in raw:  # binary (or UTF-16): not the comma-separated text this reads
            raise ChainruleError(f"{path}: not a text file (is it really CSV?)") from None
        text = raw.decode("latin-1")  # a spreadsheet's legacy encoding: only a header can hold non-ASCII
    lines = text.splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ChainruleError(f"{path}: the file is empty; expected one example per line (label first)")
    sep = _separator(numbered[0][1])
    if '"' in text:  # quoted cells ("1","0.5": a spreadsheet's or pandas' QUOTE_ALL export) are their contents
        import csv

        numbered = [(n, sep.join(next(csv.reader([line], delimiter=sep)))) for n, line in numbered]
    if _is_header(numbered[0][1], sep):
        numbered = numbered[1:]
        if not numbered:
            raise ChainruleError(f"{path}: the file has a header line but no examples")
    first_line = numbered[0][0]
    width = numbered[0][1].count(sep) + 1
    try:  # the fast path: NumPy's C parser
        rows = np.loadtxt([line for _, line in numbered], delimiter=sep, dtype=np.float64, ndmin=2)
        if rows.shape == (len(numbered), width):
            return rows, first_line
    except ValueError:
        pass
    rows = np.empty((len(numbered), width), dtype=np.float64)
    for r, (lineno, line) in enumerate(numbered):
        cells = line.split(sep)
        if len(cells) != width:
            raise ChainruleError(
                f"{path}: line {lineno}: {len(cells)} columns, but line {first_line} has "
                f"{width}; every row needs the same number of columns"
            )
        try:
            rows[r] = [float(c) for c in cells]
        except ValueError:
            for col, c in enumerate(cells, 1):
                try:
                    float(c)
                except ValueError:
                    decimal = " (a decimal comma? write numbers with '.')" if sep == ";" and "," in c else ""
                    raise ChainruleError(
                        f"{path}: line {lineno}, column {col}: {c.strip()!r} is not a number{decimal}"
                    ) from None
    return rows, first_line


def _separator(line: str) -> str:
    """The cell separator of the file, from its first line: semicolons, else commas, else tabs.

    Semicolons win over commas: a spreadsheet that writes decimal commas ("1,5;2") separates cells by
    semicolons; its decimal commas are then refused cell by cell, saying so.
    """
    return next((sep for sep in (";", ",", "\t") if sep in line), ",")


def _is_header(line: str, sep: str = ",") -> bool:
    """A header names the label column first ("label,a,b", ",0,1"): its first cell is not a number.

    A first line whose label is a number is data, so a bad cell in it ("1,,3", "1,2,3,") is reported
    at line 1 rather than the line silently dropped as a header.
    """
    if _is_numeric_row(line, sep):
        return False
    try:
        float(line.split(sep, 1)[0])
    except ValueError:
        return True
    return False


def _is_numeric_row(line: str, sep: str = ",") -> bool:
    try:
        [float(c) for c in line.split(sep)]
    except ValueError:
        return False
    return True


def load_csv(path: "str | Path", task: str = "classification", labelled: bool = True) -> Dataset:
    """A Dataset from a CSV file; ``labelled=False`` reads every column as a feature."""
    rows, first = read_csv_rows(path)
    if labelled and rows.shape[1] < 2:
        raise ChainruleError(
            f"{path}: each line has only {rows.shape[1]} column; expected the label, then at least one feature"
        )
    return rows_to_dataset(rows, first, path, task, labelled)


def rows_to_dataset(rows: np.ndarray, first: int, path: "str | Path", task: str, labelled: bool) -> Dataset:
    """A Dataset from read_csv_rows' (rows, first line): column 0 the target when ``labelled``.

    Features are checked before targets, so a line bad in both is reported for its features.
    """
    X = rows[:, 1:] if labelled else rows
    X = check_features(X, str(path), first, first_column=2 if labelled else 1)
    y = check_targets(rows[:, 0], task, str(path), first) if labelled else None
    return Dataset(X, y, task, str(path))

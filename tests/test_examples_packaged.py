"""The example specs the CLI reads by default are package data: copies of examples/, kept identical."""

from importlib.resources import files
from pathlib import Path

REPO_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_packaged_examples_are_identical_to_the_repos_examples():
    packaged = [p for p in files("chainrule").joinpath("examples").iterdir() if p.name.endswith(".toml")]
    assert packaged, "no example specs in the package"
    for p in packaged:
        assert p.read_bytes() == (REPO_EXAMPLES / p.name).read_bytes(), f"src/chainrule/examples/{p.name}"


def test_explain_default_is_the_packaged_recitation_spec():
    from chainrule.cli.explain import RECITATION

    assert files("chainrule").joinpath("examples", RECITATION).is_file()

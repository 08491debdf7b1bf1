# Two commands for a fresh machine: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test test-stress lint typecheck format-check bench clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# trains the default MLP (64-128-10, tanh) on the bundled digits; model, metrics and curves in runs/demo
demo: $(VENV)/.base
	$(VENV)/bin/chainrule train --out runs/demo --overwrite

test: $(VENV)/.dev
	$(PY) -m pytest -q -n 2 --dist loadfile

# the suite 3 times with OPENBLAS_CORETYPE=Haswell and 3 times unset, with every core kept busy (docs/testing.md)
test-stress: $(VENV)/.dev
	scripts/test-stress.sh $(PY)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests benchmarks

# mypy, pinned in the dev extra, configured in pyproject.toml ([tool.mypy]: src/)
typecheck: $(VENV)/.dev
	$(VENV)/bin/mypy

# the tree is formatted by ruff format; .ci/run checks that it stays so
format-check: $(VENV)/.dev
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: $(VENV)/.dev
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache

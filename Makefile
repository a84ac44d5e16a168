# `make demo` (the running example: its table, graph.svg and, with Pillow, backward.gif) and
# `make test` do all the set-up: a virtual environment in .venv with the package
# and its development tools, and Graphviz's dot program where it can be installed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest notebooks bench graphviz clean

demo: $(STAMP) graphviz
	$(PY) -m microgrowth demo

test: $(STAMP) graphviz lint typecheck pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest

graphviz:
	@sh scripts/ensure-graphviz.sh

# Re-execute every notebook and write its outputs into the file (commit them): the test suite
# compares a new run with these outputs. Also redraws docs/backward.gif.
notebooks: $(STAMP) graphviz
	$(PY) scripts/execute_notebooks.py notebooks/*.ipynb
	$(PY) scripts/running_example_gif.py docs/backward.gif

# The benchmarks compare with micrograd, installed from PyPI into their own environment only.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-bench

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m benchmarks.run

$(BENCH_STAMP): pyproject.toml
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e . "micrograd==0.1.0"
	@touch $(BENCH_STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis graph.svg graph.dot backward.gif

# Set-up and everyday tasks. Each target creates .venv and installs what it needs.
# make demo | make test | make test-quick | make test-faults | make bench | make lint

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-quick test-faults bench bench-lab bench-quick lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e ".[demo]" --group test --group dev
	@touch $@

demo: $(STAMP)  ## the bioimage pipeline with lineage on (.demo/bioimage), then trace the panel
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

test: $(STAMP)  ## the whole suite, end-to-end tests included, with the coverage floor
	$(PY) -m pytest --cov --cov-report=term

test-quick: $(STAMP)  ## the quick local loop: no real snakemake / validator runs
	$(PY) -m pytest -m "not e2e"

test-faults: $(STAMP)  ## the reliability suite: faults tried / held as one table (FAULTS=--quick)
	$(PY) tests/faults/table.py $(FAULTS)

bench: $(STAMP)  ## full benchmarks, ~5 min (+7 the first time): table, benchmarks/results/latest.json
	$(PY) -m benchmarks

bench-lab: $(STAMP)  ## lab scale: container, PostgreSQL trace on 10^6 files, 4 writers (~20 min the first time)
	$(PY) -m benchmarks --lab --only container --only pg-store --only pg-write

bench-quick: $(STAMP)  ## the same at small sizes, < 1 min (benchmarks/results/quick.json)
	$(PY) -m benchmarks --quick

lint: $(STAMP)
	$(VENV)/bin/ruff check iscc_lineage snakemake_logger_plugin_iscc tests benchmarks
	$(VENV)/bin/ruff format --check iscc_lineage snakemake_logger_plugin_iscc tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache build dist

# `make demo`: bake the default project and run its whole lifecycle on this machine.
# `make test`: every test of the template, including the baked projects' own suites.
# Both build .venv from requirements-dev.txt first; nothing else needs to be installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := build/demo
DEMO_PROJECT := $(DEMO_DIR)/taxi-fare-mlops
# Answers on top of the defaults, e.g. `make demo DEMO_ANSWERS=deployment_pattern=deploy_model`
# to see promotion (the default deploy_code pattern trains in every catalog instead). Not
# project_name: the demo's paths assume the default.
DEMO_ANSWERS ?=
# The demo's bundle checks take the schema from the CLI or DATABRICKS_BUNDLE_SCHEMA if the user
# has one, else from ../shared when it is there; with none, that check skips with one line.
DATABRICKS_BUNDLE_SCHEMA ?= $(wildcard $(abspath ../shared/bundle-schema/jsonschema.json))
export DATABRICKS_BUNDLE_SCHEMA

.PHONY: demo test test-fast lint format snapshots benchmark clean

# pip brings in uv (pinned in requirements-dev.txt), uv installs the rest: 3-8x faster than pip
# alone (benchmarks/bench_install.py). --compile-bytecode does what pip does by default: without
# it every process that cannot write __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only venv)
# compiles MLflow and scikit-learn again, about 6 s of CPU per baked project's test worker.
$(BIN)/activate: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep '^uv==' requirements-dev.txt)"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements-dev.txt
	touch $(BIN)/activate

demo: $(BIN)/activate
	rm -rf $(DEMO_DIR)
	$(BIN)/cookiecutter --no-input . --output-dir $(DEMO_DIR) $(DEMO_ANSWERS)
	$(BIN)/python -m pip install --quiet --no-deps -e $(DEMO_PROJECT)
	cd $(DEMO_PROJECT) && ../../../$(BIN)/python -m pytest -q tests/test_bundle.py
	cd $(DEMO_PROJECT) && ../../../$(BIN)/python -m taxi_fare_mlops lifecycle

test: $(BIN)/activate
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Everything but the slow tests that run the baked projects' own suites.
test-fast: $(BIN)/activate
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/activate
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Bake the golden snapshots under tests/snapshots/ anew; review the diff, then commit it.
snapshots: $(BIN)/activate
	$(BIN)/python tests/golden.py

# Wall times of the generated project, lifecycle and tests per problem type (against the
# template checkout BASELINE=<dir> if given), then its peak memory per stage at 1M and 5M rows;
# then the template's own `make test-fast` (against BASELINE too).
benchmark: $(BIN)/activate
	$(BIN)/python benchmarks/bench_project.py
	$(BIN)/python benchmarks/bench_problem_types.py $(if $(BASELINE),--baseline $(BASELINE))
	$(BIN)/python benchmarks/bench_memory.py
	$(BIN)/python benchmarks/bench_template_tests.py $(if $(BASELINE),--baseline $(BASELINE))

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache

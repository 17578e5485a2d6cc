# Two commands on a fresh machine: `make demo` and `make test`. `make bench` times nntrain against its peers
# (pass options with BENCH_ARGS, e.g. `make bench BENCH_ARGS=--quick` or `BENCH_ARGS='--repeats 3'`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BENCH_ARGS ?=

.PHONY: demo test bench docs clean postgres

demo: $(VENV)/.installed
	$(BIN)/nntrain fit configs/iris.yaml --overwrite
	$(BIN)/nntrain eval runs/iris

# --dist loadgroup: the tests sharing a session fixture (marked xdist_group) run on one worker, which builds it once.
test: $(VENV)/.installed-dev postgres
	$(BIN)/python -m pytest -n auto --dist loadgroup

# The sweep tests start a throw-away PostgreSQL server of their own: they need its programs (initdb, pg_ctl),
# which Debian's postgresql package brings.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

docs: $(VENV)/.installed
	$(BIN)/python -m nntrain.config.reference README.md
	$(BIN)/python -m nntrain.sweep.reference README.md
	$(BIN)/nntrain schema > nntrain.schema.json

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) runs build *.egg-info

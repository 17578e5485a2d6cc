# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test docs clean

demo: $(VENV)/.installed
	$(BIN)/nntrain fit configs/iris.yaml --overwrite
	$(BIN)/nntrain eval runs/iris

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

docs: $(VENV)/.installed
	$(BIN)/python -m nntrain.config.reference README.md

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) runs build *.egg-info

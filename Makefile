# Two commands on a fresh machine (Python 3.11 with venv):
#   make serve   install and run the service on SQLite, seeded from fixtures/
#   make test    install and run every check (ruff, mypy, pytest)
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install install-test serve test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The project's own modules are compiled once here: an editable install leaves them as source,
# and where PYTHONDONTWRITEBYTECODE is set every process (each `policy-engine` command, each
# worker) would compile them again at start (about 0.09 CPU s).
COMPILE := $(BIN)/python -m compileall -q cli engine graphql_api policy screening services store testing

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(COMPILE)

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,spark]'
	$(COMPILE)

serve: install
	$(BIN)/policy-engine serve --host $(HOST) --port $(PORT)

lint: install-test
	$(BIN)/ruff check .

typecheck: install-test
	$(BIN)/mypy

test: install-test lint typecheck
	$(BIN)/pytest

bench: install-test
	$(BIN)/python bench/determination.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

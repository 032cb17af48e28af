# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint system-deps bench clean

run: $(VENV)/.installed instance/bin/devdb
	$(BIN)/python -m devdb.run

test: system-deps $(VENV)/.installed instance/bin/devdb
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# Debian packages the tests drive (Chromium); installed only when missing.
system-deps:
	@bash .ci/system-deps

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# FerretDB 1.24 (SQLite backend) from its Go module: the local database for `make run` and tests.
instance/bin/devdb: devdb/main.go devdb/go.mod devdb/go.sum
	cd devdb && go build -o ../instance/bin/devdb .

bench: $(VENV)/.installed instance/bin/devdb
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) instance/bin test-artifacts

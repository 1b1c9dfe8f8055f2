# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 6543
INI ?= development.ini

.PHONY: run test init clean i18n

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e ".[testing]"
	touch $@

var/Data.fs: | $(VENV)/.installed
	mkdir -p var/mail var/blobs
	$(BIN)/canonportal-init $(INI) --demo

init: var/Data.fs

run: $(VENV)/.installed var/Data.fs
	@echo "Mails are written as files under var/mail/new"
	@echo "Serving http://localhost:$(PORT)/  (sign in with CME930812PW3 / CME930812PW3)"
	$(BIN)/pserve $(INI) http_port=$(PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# Re-extract the message catalog and compile the translations.
i18n: $(VENV)/.installed
	$(BIN)/pip install -q "lingua>=4.15"
	$(BIN)/pot-create -o canonportal/locale/canonportal.pot canonportal
	$(BIN)/pybabel update -D canonportal -i canonportal/locale/canonportal.pot -d canonportal/locale -l en
	$(BIN)/pybabel compile -D canonportal -d canonportal/locale

clean:
	rm -rf $(VENV) var *.egg-info

# Two commands on a fresh machine with only Python: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 6543
INI ?= development.ini
# Chameleon keeps compiled templates here instead of compiling them again in every
# process and for every app a test builds (it reads the variable once, at import).
CHAMELEON_CACHE ?= $(abspath $(VENV))/chameleon-cache
export CHAMELEON_CACHE

.PHONY: run test init clean i18n bench bench-import sat-catalogs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e ".[testing]"
	mkdir -p $(CHAMELEON_CACHE)
	touch $@

var/Data.fs: | $(VENV)/.installed
	mkdir -p var/blobs
	$(BIN)/canonportal-init $(INI) --demo

init: var/Data.fs

run: $(VENV)/.installed var/Data.fs
	mkdir -p $(CHAMELEON_CACHE)
	$(BIN)/canonportal-evolve $(INI)
	@echo "Mails are written as files under var/mail/new"
	@echo "Serving http://localhost:$(PORT)/  (sign in with CME930812PW3 / CME930812PW3)"
	$(BIN)/pserve $(INI) http_port=$(PORT)

# The suite runs on every core (pytest-xdist), one test module per worker at a time:
# module-scoped servers stay in one process and every server takes a free port.
# TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto
test: $(VENV)/.installed
	mkdir -p $(CHAMELEON_CACHE)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The load runs of docs/benchmarks.md: BENCH_RUNS runs (the first builds the databases,
# the others reuse them), then their medians in docs/benchmarks-results.json.
# BENCH_ARGS="--invoices 20000 --duration 5" BENCH_RUNS=1 for a quick look.
BENCH_ARGS ?=
BENCH_RUNS ?= 3
bench: $(VENV)/.installed
	command -v wrk >/dev/null || (apt-get update -q && apt-get install -y -q wrk)
	test -x /usr/sbin/nginx || command -v nginx >/dev/null || apt-get install -y -q nginx-light
	test -x $(BIN)/locust || $(BIN)/pip install -q -e ".[testing,bench]"
	rm -f var/bench/run-*.json
	$(BIN)/python -m benchmarks.run --out var/bench/run-1.json $(BENCH_ARGS)
	for n in $$(seq 2 $(BENCH_RUNS)); do \
	  $(BIN)/python -m benchmarks.run --reuse --out var/bench/run-$$n.json $(BENCH_ARGS) || exit 1; done
	$(BIN)/python -m benchmarks.median var/bench/run-*.json --out docs/benchmarks-results.json

# The ERP import of 1,000,000 invoices (CSV), timed; added to docs/benchmarks-results.json.
bench-import: $(VENV)/.installed
	rm -rf var/bench/import
	$(BIN)/python -m benchmarks.erp_import --out docs/benchmarks-results.json

# Re-extract the message catalog, merge it into the English catalog and compile it.
# Then translate every new or fuzzy entry of the .po and run `make i18n` again
# (tests/test_i18n.py fails while an entry is untranslated or the .mo is stale).
LOCALE := canonportal/locale
i18n: $(VENV)/.installed
	test -x $(BIN)/pot-create || $(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pot-create -d canonportal --package-name canonportal -o $(LOCALE)/canonportal.pot canonportal
	$(BIN)/pybabel update -D canonportal -i $(LOCALE)/canonportal.pot -d $(LOCALE) -l en \
		--init-missing --ignore-obsolete
	$(BIN)/pybabel compile -D canonportal -d $(LOCALE) --statistics

# The SAT's c_RegimenFiscal and c_UsoCFDI, taken unchanged from the newest release of the
# PyPI package odoo-addon-l10n-mx-catalogs (canonportal/data/SAT-CATALOGS.md).
SAT_PKG := odoo-addon-l10n-mx-catalogs
sat-catalogs: $(VENV)/.installed
	rm -rf var/sat && mkdir -p var/sat
	$(BIN)/pip download -q --no-deps $(SAT_PKG) -d var/sat
	for f in c_regimen_fiscal c_uso_cfdi; do \
		unzip -p var/sat/*.whl odoo/addons/l10n_mx_catalogs/data/l10n_mx_catalogs.$$f.csv \
			> canonportal/data/sat_$$f.csv || exit 1; done
	unzip -p var/sat/*.whl odoo/addons/l10n_mx_catalogs/data/l10n_mx_catalogs.c_codigo_postal.csv \
		| tail -n +2 | cut -d, -f2 | LC_ALL=C sort -u > canonportal/data/sat_c_codigo_postal.txt
	@echo "check canonportal/data/SAT-CATALOGS.md (version) and run tests/test_fiscal.py"

clean:
	rm -rf $(VENV) var *.egg-info

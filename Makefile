# 企业服务走访 CRM — `make run` to try it, `make test` to check it. Needs only Python ≥ 3.11.

PYTHON ?= python3
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app crm
INSTALLED := $(VENV)/.installed
BABEL_EXTRACT := -F babel.cfg -k _l -k lazy_gettext --ignore-dirs ".* .venv" --no-location --sort-output --omit-header --no-wrap

.PHONY: run test bench load setup database translations messages icons lint format

run: setup
	@echo "企业服务走访 CRM: http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The suite on both cores (each worker with its own PostgreSQL database and Redis number), then
# the tests that measure speed, alone on the machine.
test: setup
	$(BIN)/pytest -n 2 --dist loadfile -m "not timed"
	$(BIN)/pytest -m timed

# Full-scale measurements (tests/perf), on SQLite and on CRM_TEST_DATABASE_URL when set.
bench: setup
	rm -f build/bench/results.md
	CRM_BENCH_PUBLISH=1 $(BIN)/pytest tests/perf -o addopts="" -q -s -p no:cacheprovider -p no:locust
	@cat build/bench/results.md

# The load test at full length: 50 officers and chiefs for 60 s against gunicorn, on SQLite and,
# when CRM_TEST_DATABASE_URL is set, on PostgreSQL (tests/test_load.py; loopback only).
load: setup
	rm -f build/load/results.md
	CRM_LOAD_SECONDS=60 CRM_LOAD_ENTERPRISES=10000 CRM_LOAD_VISITS=100000 \
		$(BIN)/pytest tests/test_load.py -q -s -p no:randomly
	@cat build/load/results.md

setup: $(INSTALLED) translations instance/secret_key database

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python ≥ 3.11 is required ($(PYTHON) is $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The compiled catalogues (.mo) are build output; the .po files are the source.
translations: $(INSTALLED)
	$(BIN)/pybabel --quiet compile -d crm/translations

# A random key for this checkout, used when CRM_SECRET_KEY is not set (see README).
instance/secret_key:
	@mkdir -p instance
	@umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

# Migrate the default SQLite database (or CRM_DATABASE_URL) and add demo data when it is empty.
database: $(INSTALLED) instance/secret_key
	$(FLASK) db upgrade
	$(FLASK) crm demo --if-empty

# After changing UI text: extract the messages, then translate the new entries in zh_Hans_CN.
messages: $(INSTALLED)
	$(BIN)/pybabel extract $(BABEL_EXTRACT) -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-wrap --ignore-obsolete

# After using a Bootstrap Icons name that is new to the product: rebuild the icon subset.
icons: $(INSTALLED)
	$(BIN)/python -m crm.assets icons

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

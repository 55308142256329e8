# Outreach: `make run` sets everything up and serves the app; `make test` sets up and tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app outreach
STAMPS := .make
CHROMIUM := /usr/bin/chromium
WEBKIT_DRIVER := /usr/bin/WebKitWebDriver
# PostgreSQL for the second test pass: a throwaway database is made from this server.
TEST_PG_URL ?= postgresql+psycopg://127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup assets translations messages db audit lint format clean release

# In development a fresh database gets demo accounts, services and a few months of activity
# (every demo-* command refuses in production; demo-activity never touches a database that
# already holds records).
run: setup db
	@$(FLASK) demo-directory
	@$(FLASK) demo-users
	@$(FLASK) demo-activity
	@echo "Serving Outreach on http://$(HOST):$(PORT)  (Ctrl+C to stop)"
	@$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --threads 4 --access-logfile - \
		--access-logformat '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss' "outreach:create_app()"

test: setup $(STAMPS)/chromium $(STAMPS)/webkit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r outreach -ll
	npm run --silent lint
	npm run --silent test:js
	@echo "== tests on SQLite =="
	$(BIN)/pytest -p no:cacheprovider -n 2
	@echo "== tests on PostgreSQL =="
	TEST_DATABASE_URL=$(TEST_PG_URL) $(BIN)/pytest -p no:cacheprovider -n 2

setup: $(STAMPS)/python $(STAMPS)/node assets translations

$(STAMPS)/python: pyproject.toml constraints.txt
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# `npm ci` installs exactly the committed lock and never rewrites it (the lock lists every
# platform's optional packages, so no machine adds its own), so `git pull` is never blocked.
$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: $(STAMPS)/node
	npm run --silent build

translations: $(STAMPS)/python
	$(BIN)/pybabel compile -d outreach/translations

# Pulls new message ids from the code into the catalogues (then translate and commit).
messages: $(STAMPS)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o outreach/translations/messages.pot .
	$(BIN)/pybabel update -N -i outreach/translations/messages.pot -d outreach/translations

db: $(STAMPS)/python
	$(FLASK) upgrade

# A release a server installs with Python only (no Node, no build tools): dist/outreach-*.tar.gz
# with the app's wheel (front end, translations, templates, migrations and content inside)
# and every dependency as a wheel. See docs/deploy.md.
release: setup
	$(BIN)/python scripts/build_release.py

# Chromium drives the browser tests; Playwright's own browser download is not used.
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "Chromium is missing: run 'sudo apt-get install -y chromium'"; exit 1; fi; \
	fi
	@touch $@

# WebKit (the engine of every iPhone browser) for the browser tests under tests/browser/webkit:
# WebKitGTK's WebDriver and MiniBrowser, on a virtual X display.
$(STAMPS)/webkit:
	@mkdir -p $(STAMPS)
	@if [ ! -x $(WEBKIT_DRIVER) ] || ! command -v Xvfb >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq webkit2gtk-driver xvfb; \
		else echo "WebKit is missing: run 'sudo apt-get install -y webkit2gtk-driver xvfb'"; exit 1; fi; \
	fi
	@touch $@

# Known-vulnerability checks; they need the advisory services (see README, "Security").
audit: $(STAMPS)/python $(STAMPS)/node
	$(BIN)/pip-audit -r constraints.txt --progress-spinner off
	npm audit

lint: $(STAMPS)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMPS)/python
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) node_modules static/dist $(STAMPS) dist

# Datacapt — the two commands of the README, and the chores behind them.
#   make run    install, migrate the embedded SQLite database, load the demo, serve on :6543
#   make test   install, then run the whole suite (see tests/conftest.py for the services)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= development.ini
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CATALOG := datacapt/locale/datacapt.pot

.PHONY: run test install run-packages test-packages lint messages

$(BIN)/datacapt: setup.cfg pyproject.toml | run-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/datacapt

run: $(BIN)/datacapt
	$(BIN)/datacapt -c $(CONFIG) db upgrade
	$(BIN)/datacapt -c $(CONFIG) demo
	$(BIN)/datacapt -c $(CONFIG) serve

test: $(BIN)/datacapt test-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian's packages the app needs (cairo: the reports' PNG charts; Pango and DejaVu: the PDF
# casebooks), and those the tests add (Chromium for the browser tests, which Playwright cannot
# download here; poppler to read the casebooks back; Node to read the calendar feeds with a
# second parser, ical.js, kept in tests/data/icaljs/).
RUN_PACKAGES := libcairo2 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils nodejs

# Installs those of the packages $(1) that are not installed yet.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	[ -z "$$missing" ] || { echo "Installing Debian's" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }
endef

run-packages:
	$(call apt_install,$(RUN_PACKAGES))

test-packages:
	$(call apt_install,$(TEST_PACKAGES))

lint: $(BIN)/datacapt
	$(BIN)/ruff check datacapt tests alembic/env.py
	$(BIN)/ruff format --check datacapt tests alembic/env.py

# Extract the UI strings, merge them into the en/fr/de/pl catalogues, compile them.
messages: $(BIN)/datacapt
	$(BIN)/pybabel extract -F babel.cfg -k pluralize:1,2 -o $(CATALOG) --width 100 \
		--project datacapt --copyright-holder "Datacapt contributors" \
		--msgid-bugs-address dev@datacapt.org --no-location --sort-output .
	$(BIN)/pybabel update -i $(CATALOG) -d datacapt/locale -D datacapt --width 100 \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d datacapt/locale -D datacapt --statistics

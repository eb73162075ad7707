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

.PHONY: run test install chromium cairo lint messages

$(BIN)/datacapt: setup.cfg pyproject.toml | cairo
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/datacapt

run: $(BIN)/datacapt
	$(BIN)/datacapt -c $(CONFIG) db upgrade
	$(BIN)/datacapt -c $(CONFIG) demo
	$(BIN)/datacapt -c $(CONFIG) serve

test: $(BIN)/datacapt chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the end-to-end tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Reports rasterise their SVG charts to PNG with cairosvg, which loads Debian's libcairo2.
cairo:
	@ldconfig -p | grep -q 'libcairo\.so\.2 ' || { \
		echo "Installing Debian's libcairo2 for the reports' PNG charts"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcairo2 >/dev/null; }

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

# The README's two commands: `make run` (the embedded default) and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The suite runs in two workers a core (pytest-xdist): a worker spends half its time waiting on the
# servers, browsers and databases its tests start, so one a core left the cores idle (BENCHMARKS.md,
# "The suite"). `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
SERVE_ARGS ?=

# Compiled message catalogs are not kept in git: the .po files are the source. Installing the package
# compiles them (build_catalogs.py); these rules compile a .po edited since.
CATALOGS := $(wildcard vendortrack/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2

.PHONY: run test lint messages

run: $(VENV)/.installed-run $(COMPILED)
	$(BIN)/flask --app wsgi serve $(SERVE_ARGS)

test: $(VENV)/.installed-test $(COMPILED)
	$(BIN)/pytest --numprocesses $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# After changing user-visible text: refresh the template and every catalog, then translate what is new.
messages: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-wrap --sort-by-file \
		-o vendortrack/translations/messages.pot .
	$(BIN)/pybabel update -i vendortrack/translations/messages.pot -d vendortrack/translations \
		--no-wrap --ignore-obsolete

%.mo: %.po | $(VENV)/.installed-run
	$(BIN)/pybabel compile --statistics -i $< -o $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# A stamp per extras set: pip runs again only when pyproject.toml is newer than the stamp.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

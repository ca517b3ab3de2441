# Rob'O — every target installs what it needs first (a virtualenv in .venv, Debian packages only when absent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` and `make test-fast` (CI has 2 cores); TEST_WORKERS=0 runs in one process.
# Three were tried (the two kept the cores 80 % busy): within the machine's noise (1230 and 1568 s against 1393 and
# 1569 s) and a desktop test failed under the extra load, so two it stays.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadgroup
COVERAGE_JSON := coverage.json
# Python writes and reuses its compiled modules (__pycache__, git-ignored) even where PYTHONDONTWRITEBYTECODE is set
# (some sandboxes and CI images set it): without them each of the hundreds of `python -m runner.cli` processes the
# tests start compiles runner/ and robots/ again (~10 % of the CPU of a subprocess test), and pytest rewrites every
# test module again in each worker (collection: 9.6 s of CPU instead of 3.7 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install sysdeps lint format messages schema test test-fast coverage demo bench soak clean

help:
	@echo "make demo    set up and run the demo workflow against the built-in mock intranet"
	@echo "make test    set up and run every check and test (lint, types, pytest), then print branch coverage"
	@echo "make coverage  the tests again, measuring the robo processes they start too (slower): the coverage to quote"
	@echo "make lint    ruff and mypy"
	@echo "make messages  extract the messages to translate (Babel) and update the fr and en catalogs"
	@echo "make schema  write the workflow language's JSON Schema again (schema/robo.schema.json, for editors)"
	@echo "make bench   benchmarks (speed and memory, reported as ratios), ending with one table of the figures against"
	@echo "             their goals; BENCH=\"browser fleet\" runs some of them (ROBO_BENCH_RECORDS, ROBO_BENCH_ROUNDS…)"
	@echo "make soak    the long forms of the statistical tests: the crash test with 20 kills instead of 5 (on SQLite"
	@echo "             and on PostgreSQL), four lanes on 400 records instead of 100, the OCR rate on 60 scans instead of 30,"
	@echo "             the fleet's kill and server-error tests on 300 records instead of 60 and 30"

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the browser and desktop tests need: installed only when missing.
sysdeps:
	@PYTHON=$(PYTHON) bash scripts/install-system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The gettext catalogs (robots/kit/locale/): messages marked with _(), ngettext(), N_() extracted to robo.pot,
# each language's .po updated (no dates: merges stay quiet; new messages untranslated, removed ones dropped: tests/test_translations.py fails
# until every French msgstr is written), then compiled to .mo (build outputs, also made by `pip install`).
LOCALE := robots/kit/locale
messages: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg --add-location=file --sort-by-file --no-wrap \
		--project="Rob'O" --copyright-holder="Rob'O" -o $(LOCALE)/robo.pot .
	for lang in fr en; do \
		if [ -f $(LOCALE)/$$lang/LC_MESSAGES/robo.po ]; then \
			$(BIN)/pybabel --quiet update -D robo -i $(LOCALE)/robo.pot -d $(LOCALE) -l $$lang \
				--no-fuzzy-matching --ignore-obsolete --no-wrap; \
		else \
			$(BIN)/pybabel --quiet init -D robo -i $(LOCALE)/robo.pot -d $(LOCALE) -l $$lang --no-wrap; \
		fi; \
	done
	sed -i '/^"POT-Creation-Date: /d; /^"PO-Revision-Date: /d' $(LOCALE)/robo.pot $(LOCALE)/*/LC_MESSAGES/robo.po
	$(BIN)/pybabel compile -D robo -d $(LOCALE) --statistics

# The published JSON Schema of the workflow language (editors complete and check workflows with it; the example
# workflows name it on their first line). tests/scaffold/test_schema_file.py fails when it is stale.
schema: $(STAMP)
	$(BIN)/robo schema -o schema/robo.schema.json

# Branch coverage of runner/ and robots/ ([tool.coverage.run] in pyproject), printed per module then per package, even
# when a test fails. `make test` measures the tests' own processes (pytest-cov: the pytest-xdist workers included), not
# the `robo` processes they start: measuring those too (coverage traces every line of Playwright's client there) made
# the tests take 1 691 s instead of 1 191 s on one machine, for 5.5 points more. `make coverage` measures every
# process: its figures are the ones to quote, and it flags the packages under the bar.
COVERAGE_REPORT = $(BIN)/coverage report && $(BIN)/coverage json --quiet -o $(COVERAGE_JSON) \
	&& $(BIN)/python scripts/coverage_summary.py
test: sysdeps $(STAMP) lint
	$(BIN)/coverage erase
	status=0; $(BIN)/python -m pytest --cov --cov-report= $(XDIST) $(PYTEST_ARGS) || status=$$?; \
	$(COVERAGE_REPORT) --tests-only $(COVERAGE_JSON) && exit $$status

coverage: sysdeps $(STAMP)
	$(BIN)/coverage erase
	status=0; COVERAGE_PROCESS_START=$(CURDIR)/pyproject.toml COVERAGE_FILE=$(CURDIR)/.coverage \
		$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS) \
		|| status=$$?; $(BIN)/coverage combine --quiet && $(COVERAGE_REPORT) $(COVERAGE_JSON) && exit $$status

test-fast: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

demo: sysdeps $(STAMP)
	$(BIN)/python -m workflows.demo

# The benchmarks named in BENCH, all by default; the peers they compare with install themselves in bench/.peers/.
BENCH ?=
bench: sysdeps $(STAMP)
	$(BIN)/python -m bench $(BENCH)

# `make test` runs the same tests in a shorter form (tests/e2e/test_unattended.py, test_data_entry.py,
# tests/robots/test_documents_reading.py read these variables).
soak: sysdeps $(STAMP)
	ROBO_CRASH_KILLS=20 ROBO_LANE_RECORDS=400 ROBO_OCR_SCANS=60 ROBO_FLEET_CHAOS_RECORDS=300 ROBO_FLEET_FAULTY_RECORDS=300 \
		$(BIN)/python -m pytest -s --timeout=3600 \
		"tests/e2e/test_unattended.py::test_killed_at_random_moments_and_resumed_every_record_is_entered_once" \
		"tests/e2e/test_data_entry.py::test_four_lanes_enter_every_record_once_without_duplicate" \
		"tests/robots/test_documents_reading.py::TestScans::test_ocr_finds_the_reference_in_95_percent_of_the_scans" \
		"tests/fleet/test_distributed_loop.py::test_a_worker_killed_mid_item_and_another_stopped_still_every_record_once" \
		"tests/fleet/test_distributed_loop.py::test_with_server_errors_after_saving_still_every_record_once" \
		$(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage .coverage.* $(COVERAGE_JSON)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-shifted soak bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Stoplight Prism, pinned in tests/providers/prism/package-lock.json: the local provider
# mocks that check every SendGrid, Twilio and Mastodon request against the official specs.
MOCKS := tests/providers/prism/node_modules/.installed
$(MOCKS): tests/providers/prism/package-lock.json
	cd tests/providers/prism && SCARF_ANALYTICS=false npm ci --no-audit --no-fund --silent
	touch $(MOCKS)

demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/orchestrator --store sqlite:///demo.db demo
	$(BIN)/orchestrator --store sqlite:///demo.db report --html report.html
	@echo "open file://$(CURDIR)/report.html in a browser (no network needed)"

# Debian's Chromium and its WebDriver: tests/browser opens the HTML report in it, headless.
BROWSER := .venv/.browser
$(BROWSER):
	test -x /usr/bin/chromium && test -x /usr/bin/chromedriver || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium chromium-driver; }
	mkdir -p $(VENV) && touch $(BROWSER)

# The whole suite, then, side by side: the tests that run the product end to end (CLI,
# stores, subprocesses) again, on SQLite (the clock does not depend on the store), with
# the wall clock moved 1,000 days on (across a leap day,
# another weekday; SHIFTS="365 3650" runs one shift per number, side by side), in every
# Python process of the run (no test may depend on today's date; the unit tests take
# "now" as an argument, and tests/unit/test_architecture.py checks no module but the
# composition root reads the wall clock), and the crash tests (tests/crash: a dispatcher
# SIGKILLed over seeded runs; the live scheduler killed, stopped and cut off). Both mostly
# wait on databases and subprocesses, so they share the 2 cores well; each has its own
# temporary folder and log, printed in turn.
test: $(STAMP) $(MOCKS) $(BROWSER)
	$(BIN)/python -m pytest --ignore=tests/crash
	$(MAKE) --no-print-directory test-shifted

SHIFTS ?= 1000
test-shifted: $(STAMP) $(MOCKS)
	@rm -rf .shifted && mkdir -p .shifted
	@for days in $(SHIFTS); do \
	  ( PYTHONPATH=tests/clock_shift TEST_CLOCK_SHIFT_DAYS=$$days $(BIN)/python -m pytest \
	      -p no:cacheprovider -W ignore::pytest.PytestAssertRewriteWarning \
	      --basetemp=.shifted/tmp-$$days -k "not postgresql" \
	      tests/integration tests/replay tests/contract \
	      > .shifted/$$days.log 2>&1; echo $$? > .shifted/$$days.rc ) & \
	done; \
	( $(BIN)/python -m pytest -p no:cacheprovider --basetemp=.shifted/tmp-crash tests/crash \
	    > .shifted/crash.log 2>&1; echo $$? > .shifted/crash.rc ) & \
	wait; status=0; \
	for run in $(SHIFTS) crash; do \
	  if [ $$run = crash ]; then echo "== the crash tests (a dispatcher killed, 50 seeded runs each; the live scheduler under faults) =="; \
	  else echo "== the end-to-end tests again, the clock shifted by $$run days =="; fi; \
	  if [ "$$(cat .shifted/$$run.rc)" = 0 ]; then tail -n 3 .shifted/$$run.log; \
	  else cat .shifted/$$run.log; status=1; fi; \
	done; exit $$status

# The crash tests with many more seeded runs (make test runs 50 of each kind of kill).
# WORKER_CRASH_RUNS: kill -9 of an `orchestrator worker` (3 runs a store in make test).
CRASH_RUNS ?= 500
WORKER_CRASH_RUNS ?= 100
# The whole live service (two schedulers, two workers) killed at random: 10,000 messages.
CHAOS_MESSAGES ?= 10000
CHAOS_KILLS ?= 60
soak: $(STAMP) $(MOCKS)
	CRASH_RUNS=$(CRASH_RUNS) WORKER_CRASH_RUNS=$(WORKER_CRASH_RUNS) \
	  CHAOS_MESSAGES=$(CHAOS_MESSAGES) CHAOS_KILLS=$(CHAOS_KILLS) $(BIN)/python -m pytest \
	  -p no:cacheprovider tests/crash tests/integration/test_workers.py -k killed -s

bench: $(STAMP) $(MOCKS)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm outbox .shifted report.html test-artifacts

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-shifted bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	$(BIN)/orchestrator --store sqlite:///demo.db demo

# The whole suite, then the tests that run the product end to end (CLI, stores,
# subprocesses) again with the wall clock moved one and ten years on, in every Python
# process of the run: no test may depend on today's date. (The unit tests take "now" as an
# argument; tests/unit/test_architecture.py checks no module but the composition root
# reads the wall clock.)
test: $(STAMP)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-shifted

test-shifted: $(STAMP)
	@for days in 365 3650; do \
	  echo "== the suite again, the clock shifted by $$days days =="; \
	  PYTHONPATH=tests/clock_shift TEST_CLOCK_SHIFT_DAYS=$$days $(BIN)/python -m pytest \
	    -p no:cacheprovider -W ignore::pytest.PytestAssertRewriteWarning \
	    tests/integration tests/replay tests/contract || exit 1; \
	done

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm outbox

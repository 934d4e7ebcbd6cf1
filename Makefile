# Two entry points: `make demo` (set up, run the embedded default) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/balanced-calendar demo
	@echo "Opt-in portal: click through the whole opt-in on this machine (fake Google and Microsoft"
	@echo "sign-in servers from the tests, https with a test CA), on this demo's store:  $(BIN)/python -m tests.portal_site --demo balanced-calendar-demo"

test: $(BIN)/.installed
	.ci/system-deps
	$(BIN)/python -m pytest -n auto --dist loadfile

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_audit.py
	$(BIN)/python bench/bench_service.py
	$(BIN)/python bench/bench_planner.py

clean:
	rm -rf $(VENV) balanced-calendar-demo .pytest_cache

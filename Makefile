# gwreplay: the two commands of the README.
#   make demo   fresh machine -> .venv -> installs -> embedded MDC replayed end to end
#   make test   the test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_SUPEREVENTS ?= 6

.PHONY: demo test lint format venv clean-demo

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint constraints.txt --editable '.[dev]'
	touch $@

demo: venv
	$(BIN)/gwreplay demo $(DEMO_DIR) --superevents $(DEMO_SUPEREVENTS)

test: venv
	$(BIN)/python -m pytest -ra

lint: venv
	$(BIN)/ruff check gwreplay scripts tests bench
	$(BIN)/ruff format --check gwreplay scripts tests bench
	$(BIN)/snakefmt --check Snakefile rules
	mkdir -p .lint/store/events
	CONDOR_CONFIG=/dev/null $(BIN)/snakemake --lint --config store=.lint/store results=.lint/results

format: venv
	$(BIN)/ruff format gwreplay scripts tests bench
	$(BIN)/snakefmt Snakefile rules

clean-demo:
	rm -rf $(DEMO_DIR)

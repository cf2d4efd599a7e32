# gwreplay: the two commands of the README.
#   make demo   fresh machine -> .venv -> installs -> embedded MDC replayed end to end
#   make test   the test suite (what CI runs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo
DEMO_SUPEREVENTS ?= 6

.PHONY: demo test lint format venv clean-demo oracle

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		--constraint constraints.txt --editable '.[dev]'
	touch $@

# gwcelery 3.0.0, the test oracle of tests/oracle (docs/policies.md): its own
# venv, without its dependencies but the pinned set its modules import. A no-op
# when the venv's stamp matches the requirements' hash.
ORACLE_VENV ?= $(HOME)/.cache/gwreplay/oracle-gwcelery-3.0.0
ORACLE_REQUIREMENTS := tests/oracle/requirements.txt
export GWREPLAY_ORACLE_PYTHON ?= $(ORACLE_VENV)/bin/python

oracle:
	@want=$$(sha256sum $(ORACLE_REQUIREMENTS) | cut -d' ' -f1); \
	if [ "$$(cat '$(ORACLE_VENV)/.stamp' 2>/dev/null)" = "$$want" ]; then exit 0; fi; \
	echo "oracle: building gwcelery 3.0.0 in $(ORACLE_VENV) (a few minutes)"; \
	if [ -e '$(ORACLE_VENV)' ] && [ ! -f '$(ORACLE_VENV)/pyvenv.cfg' ]; then \
		echo "oracle: $(ORACLE_VENV) exists and is not a venv; not replacing it" >&2; exit 1; fi; \
	rm -rf '$(ORACLE_VENV)' && $(PYTHON) -m venv '$(ORACLE_VENV)' && \
	'$(ORACLE_VENV)/bin/python' -m pip install --quiet --disable-pip-version-check \
		--no-deps --requirement $(ORACLE_REQUIREMENTS) && \
	echo "$$want" > '$(ORACLE_VENV)/.stamp'

demo: venv
	$(BIN)/gwreplay demo $(DEMO_DIR) --superevents $(DEMO_SUPEREVENTS)

# Two pytest workers, one test file each at a time (pytest-xdist,
# --dist loadfile: a file's module fixtures, such as its replays, are built
# once): the replays' serial stretches (one BAYESTAR job, one superevent)
# leave a core idle otherwise. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

test: venv oracle
	$(BIN)/python -m pytest -ra --durations=25 -n $(PYTEST_WORKERS) --dist loadfile

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

# Two commands on a fresh machine with python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test browser lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The install ends by recording one small file of each compiled format, which fills numba's cache:
# a user's first record is then not the one that compiles the kernels.
WARM_FILES := fixtures/aln_bwa.bam fixtures/reads_R1.fastq.gz fixtures/calls.vcf.gz fixtures/windows.bed fixtures/reads_R1.paf

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	$(BIN)/genotel record --no-gain $(WARM_FILES) > /dev/null
	$(BIN)/genotel record $(WARM_FILES) > /dev/null
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Set up, then make the record of a bundled BAM and print it, and say how to run genotel next.
demo: $(VENV)/.installed
	$(BIN)/genotel record fixtures/aln_bwa.bam --json
	@echo
	@echo "genotel is installed in $(VENV). Run it on your own files with"
	@echo "  $(BIN)/genotel record YOUR_FILE.bam"
	@echo "or put it on your PATH for this shell first:"
	@echo "  . $(BIN)/activate && genotel record --help"

# The browser the report tests drive: Debian's Chromium and its driver, installed when missing
# (as root, with apt-get); elsewhere a note, and those tests skip (under CI=true they fail).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "note: install chromium and chromium-driver to run the report tests"; fi

# Set up with the test extras and the browser, lint, then run the whole test suite.
test: $(VENV)/.installed-test browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info

# The two commands of the README. Everything installs itself into .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: conformance test serve faults bench-smtp bench-pop3 clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
	touch $(STAMP)

## make conformance: every suite against the embedded reference server; reports in reports/
conformance: $(STAMP)
	$(BIN)/mailconform check --report-dir reports

## make test: the project's own tests (ruff, mypy, unit, integration, meta-tests) via tox
test: $(STAMP)
	$(BIN)/tox run

## make bench-smtp: reference server vs aiosmtpd with durable Maildir delivery (see benchmarks/README.md)
bench-smtp: $(STAMP)
	$(BIN)/python -m benchmarks.run_smtp

## make bench-pop3: reference server POP3 vs Dovecot (Dovecot needs root; see benchmarks/README.md)
bench-pop3: $(STAMP)
	$(BIN)/python -m benchmarks.run_pop3

serve: $(STAMP)
	$(BIN)/mailconform serve

faults: $(STAMP)
	$(BIN)/mailconform faults

clean:
	rm -rf $(VENV) .tox reports/junit.xml reports/allure-results reports/conformance.*

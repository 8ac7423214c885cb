# The README's two set-up commands: `make demo` and `make test`.
# Each one creates or refreshes .venv from requirements.lock (hashes required) and
# installs the OS packages it needs (SoftHSM2) when they are missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# An independent SLIP-39 implementation (slip39-js) for the interoperability tests.
INTEROP := tests/interop/node_modules/.installed

.PHONY: test demo os-deps lock audit clean

# Types first (mypy, configured in pyproject.toml), then the suite.
test: $(STAMP) os-deps $(INTEROP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

demo: $(STAMP) os-deps
	$(BIN)/python scripts/demo.py

os-deps:
	@scripts/ensure-os-deps

# Refreshed whenever the lock or the project metadata changes. The editable install puts
# the project folder on sys.path (compat mode): `python -m vault` run in a folder that holds
# a ceremony output named `vault/` must still import the package, not that folder.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable . \
		--config-settings editable_mode=compat
	@touch $@

$(INTEROP): tests/interop/package-lock.json | os-deps
	npm ci --silent --ignore-scripts --no-audit --no-fund --prefix tests/interop
	@touch $@

# Re-lock after changing dependencies in pyproject.toml (needs network and pip-tools).
lock:
	$(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet pip-tools==7.6.2
	.lockenv/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --extra test --extra bench \
		-o requirements.lock pyproject.toml requirements-build.in
	rm -rf .lockenv

# Release step (needs network, not run by CI): check every locked version against
# PyPI's vulnerability data. --strict fails when a package could not be audited.
audit:
	$(PYTHON) -m venv .auditenv
	.auditenv/bin/python -m pip install --quiet pip-audit==2.10.1
	.auditenv/bin/pip-audit --strict --require-hashes --disable-pip -r requirements.lock; \
		status=$$?; rm -rf .auditenv; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis tests/interop/node_modules

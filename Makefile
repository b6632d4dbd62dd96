# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 5000
# A terminal's logs: text lines, none for static files and an open page's background
# requests. Production (`cbt serve`) writes JSON lines: `make run LOG_FORMAT=json ACCESS_LOG=full`.
LOG_FORMAT ?= text
ACCESS_LOG ?= quiet

.PHONY: run test install install-test

install:
	@# Without the font the engine still runs; only the certificates' PDF says it is missing.
	bash scripts/install-fonts.sh || echo "warning: fonts-ipaexfont-gothic not installed: certificate PDFs unavailable"
	$(PYTHON) -m pip install -q -e .
	@command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

install-test:
	bash scripts/install-test-deps.sh
	bash scripts/install-fonts.sh
	$(PYTHON) -m pip install -q -e '.[test]'
	@command -v pyenv >/dev/null 2>&1 && pyenv rehash || true

# Install, create instance/ with the starter banks, demo accounts and open sessions
# (printed), and serve on http://$(HOST):$(PORT)/ under gunicorn.
run: install
	$(PYTHON) -m app.cli demo
	$(PYTHON) -m app.cli serve --host $(HOST) --port $(PORT) --log-format $(LOG_FORMAT) --access-log $(ACCESS_LOG)

# Install what the tests need (Chromium and PostgreSQL from Debian included) and run every
# test twice: on SQLite, then on a throw-away PostgreSQL server.
test: install-test
	$(PYTHON) -m pytest
	PYTHON=$(PYTHON) bash scripts/test-postgresql.sh

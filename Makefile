# The two commands of the README: `make run` and `make test`. Everything else
# here is what they stand on.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test setup ocr lint format check-migrations clean

run: setup ocr
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py load_demo
	@echo "Serving on http://127.0.0.1:$(PORT)/  (Ctrl-C stops)"
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(STAMP) node_modules/.installed

# axe-core for the accessibility scans in the browser tests; without npm
# those scans skip and say so.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: accessibility scans will be skipped"; fi

# OCR for scanned certificates is optional: install tesseract where we can,
# otherwise say what is missing (uploads still work; extraction skips scans).
ocr:
	@command -v tesseract >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-ces >/dev/null; \
		else echo "Note: tesseract not found; scanned certificates will not be read. Install tesseract-ocr to enable OCR."; fi; }

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || { \
		interpreter=$$(PYTHON="$(PYTHON)" scripts/find-python) || exit 1; \
		echo "Creating $(VENV) with $$interpreter"; \
		"$$interpreter" -m venv $(VENV); \
	}
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: setup
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) node_modules db.sqlite3* media staticfiles .pytest_cache .ruff_cache .hypothesis test-artifacts

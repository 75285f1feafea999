# doudi: `make demo` starts the platform on a synthetic county; `make test` runs the whole suite.
SHELL := /bin/bash
PY ?= $(shell for p in python3.12 python3.11 python3; do command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt package.json | sha1sum | cut -c1-12)
VENDOR := src/doudi/web/static/vendor
PYTEST_WORKERS ?= 2

.PHONY: demo test lint bench install assets system-deps clean serve

demo: install                     ## set up everything and serve a synthetic 安丘 county at http://127.0.0.1:8000
	$(BIN)/doudi demo

test: install system-deps         ## the whole suite, on SQLite and PostgreSQL, with headless Chromium
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: install                     ## ruff, mypy (strict) and the import-layering contracts
	$(BIN)/ruff check src tests bench testkit
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install                    ## benchmarks (not part of `make test`), each against a reference in the same run
	$(BIN)/python -m bench

serve: install
	$(BIN)/doudi serve

install: $(STAMP) $(VENDOR)/htmx.min.js

$(STAMP): pyproject.toml constraints.txt package.json
	@test -n "$(PY)" || { echo "Python >= 3.11 is required"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench,spark]'
	rm -f $(VENV)/.installed-*
	touch $@

# Front-end assets come from the npm registry at install time; they are never committed.
assets $(VENDOR)/htmx.min.js: package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --silent && \
	  mkdir -p $(VENDOR) && \
	  cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/ && \
	  cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/ && \
	  cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/ ; \
	else \
	  echo "warning: npm not found; the console works without htmx, but without live search and charts"; \
	  mkdir -p $(VENDOR) && touch $(VENDOR)/htmx.min.js; \
	fi

# Chromium (browser tests), CJK fonts (PDF notices, screenshots) and Java (Spark's local mode) from Debian's packages.
system-deps:
	@if ! command -v java >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q default-jre-headless; \
	  else \
	    echo "warning: install default-jre-headless (apt-get) for the Spark tests"; \
	  fi; \
	fi
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	  else \
	    echo "warning: install chromium and fonts-noto-cjk (apt-get) for the browser and PDF tests"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) build var .pytest_cache .mypy_cache .ruff_cache $(VENDOR)

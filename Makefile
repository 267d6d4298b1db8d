# VIHub: `make run` serves everything on the embedded default; `make test` runs the suite on
# real PostgreSQL and Redis (installed and started by the command itself).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
export PORT

.PHONY: run test test-sqlite lint bench bench-quick bench-load bench-load-quick bench-audit-durable demo-receiver clean help

help:
	@echo "make run          web UI + API + Celery worker + beat on http://127.0.0.1:$(PORT)/"
	@echo "make test         the whole suite on throwaway PostgreSQL + Redis (+ Chromium)"
	@echo "make test-sqlite  the quick local loop: the suite on SQLite, leaving out what needs the servers"
	@echo "make lint         ruff + mypy + makemigrations --check"
	@echo "make bench        full benchmarks on PostgreSQL (1M tasks); make bench-quick: the CI size"
	@echo "make bench-load   HTTP load (locust on gunicorn, durable PostgreSQL): 10/50/200 users + intake"
	@echo "make demo-receiver  the demo agency's loopback webhook receiver (after seed_demo)"

$(VENV)/bin/activate:
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml native/auditscan.c | $(VENV)/bin/activate
	$(PIP) install --quiet .
	touch $@

$(VENV)/.installed-test: pyproject.toml native/auditscan.c | $(VENV)/bin/activate
	$(PIP) install --quiet ".[test]"
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	./scripts/run.sh

demo-receiver: $(VENV)/.installed-run
	$(PY) manage.py demo_receiver

test: $(VENV)/.installed-test
	./scripts/with-services.sh ./scripts/test-suite.sh

test-sqlite: $(VENV)/.installed-test
	VIHUB_DATA_DIR=$$(mktemp -d) DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -q -p no:cacheprovider --ignore=tests/e2e

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

bench: $(VENV)/.installed-test
	./scripts/with-services.sh $(PY) -m bench.run --full

bench-quick: $(VENV)/.installed-test
	./scripts/with-services.sh $(PY) -m bench.run --quick

# Production durability (fsync, synchronous_commit, full_page_writes on); ARGS="--users 10,50" etc.
bench-load: $(VENV)/.installed-test
	VIHUB_PG_DURABLE=1 VIHUB_E2E=0 ./scripts/with-services.sh $(PY) -m bench.load $(ARGS)

# The audit bench's append rates depend on commit durability: this runs it as production would.
bench-audit-durable: $(VENV)/.installed-test
	VIHUB_PG_DURABLE=1 VIHUB_E2E=0 ./scripts/with-services.sh $(PY) -m bench.run --full --only audit

bench-load-quick: $(VENV)/.installed-test
	VIHUB_PG_DURABLE=1 VIHUB_E2E=0 ./scripts/with-services.sh $(PY) -m bench.load --quick $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

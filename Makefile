# Two commands matter: `make run` (the whole job on the demo shop) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data/demo
OUT ?= out
PORT ?= 3000
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db
# demo keys of the three roles (`make serve` prints them); a shop sets its own long random ones
export RETENTION_STOREFRONT_KEY ?= demo-storefront-key
export RETENTION_API_KEY ?= demo-api-key
export RETENTION_ADMIN_KEY ?= demo-admin-key
PID := $(OUT)/serve.pid

.PHONY: setup run serve stop wrk bench-serve bento test lint bench clean browser java postgres redis jemalloc

setup: $(BIN)/retention

# Re-run the install whenever the project or its lock changes. Bytecode is compiled at install (uv does not by
# default): where PYTHONDONTWRITEBYTECODE is set, every command otherwise compiled ~900 modules at start (1.5 s).
$(BIN)/retention: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24" "uv>=0.4"
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python -q --no-deps -e '.[test,spark]'
	$(BIN)/python -m compileall -q -j0 features models serving training
	touch $@

run: setup
	$(BIN)/retention demo-data --out $(DATA)
	$(BIN)/retention validate --data $(DATA)
	$(BIN)/retention train --data $(DATA)
	$(BIN)/retention score --data $(DATA) --out $(OUT)/scores.csv
	$(BIN)/retention churn-list --data $(DATA) --limit 100 --out $(OUT)/churn_list.csv
	$(BIN)/retention recommend --data $(DATA) --customers $(OUT)/scores.csv --k 10 --out $(OUT)/recommendations.csv
	@echo "Scores in $(OUT)/scores.csv, churn-risk list in $(OUT)/churn_list.csv, picks in $(OUT)/recommendations.csv."
	@$(MAKE) --no-print-directory serve

# The service in the background on the demo shop (pid in $(PID), log in $(OUT)/serve.log); `make stop` ends it.
serve: setup stop jemalloc
	@mkdir -p $(OUT)
	@$(BIN)/retention serve --data $(DATA) --port $(PORT) > $(OUT)/serve.log 2>&1 & echo $$! > $(PID)
	@echo "Waiting for the service on port $(PORT) (it loads the champions and scores every customer) ..."
	@for i in $$(seq 600); do curl -sf localhost:$(PORT)/readyz > /dev/null && break; \
		kill -0 $$(cat $(PID)) 2>/dev/null || { tail -20 $(OUT)/serve.log; exit 1; }; sleep 1; done
	@curl -sf localhost:$(PORT)/readyz > /dev/null || { echo "not ready; see $(OUT)/serve.log"; exit 1; }
	@C=$$(curl -s -XPOST localhost:$(PORT)/churn_list -H "X-API-Key: $(RETENTION_API_KEY)" \
		-H 'Content-Type: application/json' -d '{"limit": 1}' \
		| $(BIN)/python -c "import json,sys; print(json.load(sys.stdin)['customers'][0]['customer_id'])"); \
	J="Content-Type: application/json"; \
	echo "The service is up: http://localhost:$(PORT) (docs at /, stop it with make stop)."; \
	echo "Demo keys: storefront $(RETENTION_STOREFRONT_KEY), marketer $(RETENTION_API_KEY), admin $(RETENTION_ADMIN_KEY)."; \
	echo "Web page: http://localhost:$(PORT)/ui (marketer key: $(RETENTION_API_KEY)). Try:"; \
	echo "  curl -s -XPOST localhost:$(PORT)/recommend -H 'X-API-Key: $(RETENTION_STOREFRONT_KEY)' -H '$$J' -d '{\"customer_id\": \"$$C\", \"k\": 3}'"; \
	echo "  curl -s -XPOST localhost:$(PORT)/events -H 'X-API-Key: $(RETENTION_STOREFRONT_KEY)' -H '$$J' -d '{\"customer_id\": \"$$C\", \"event_type\": \"cart_add\", \"item_id\": \"I00001\"}'"; \
	echo "  curl -s -XPOST localhost:$(PORT)/customer -H 'X-API-Key: $(RETENTION_API_KEY)' -H '$$J' -d '{\"customer_id\": \"$$C\"}'"; \
	echo "  curl -s -XPOST localhost:$(PORT)/churn_list -H 'X-API-Key: $(RETENTION_API_KEY)' -H '$$J' -d '{\"limit\": 3, \"format\": \"csv\"}'"; \
	echo "  curl -s localhost:$(PORT)/segments -H 'Authorization: Bearer $(RETENTION_API_KEY)'"; \
	echo "  curl -s -XPOST localhost:$(PORT)/admin/reload -H 'Authorization: Bearer $(RETENTION_ADMIN_KEY)'"

stop:
	@if [ -f $(PID) ] && kill -TERM $$(cat $(PID)) 2>/dev/null; then \
		for i in $$(seq 60); do kill -0 $$(cat $(PID)) 2>/dev/null || break; sleep 0.5; done; \
		echo "stopped the service (pid $$(cat $(PID)))"; fi; rm -f $(PID)

wrk:
	@command -v wrk > /dev/null || apt-get install -y wrk

bench-serve: setup wrk redis jemalloc
	$(BIN)/python benchmarks/serve_speed.py --data $(DATA)

# A Bento that carries the champions (copied from MLflow into BentoML's model store first); works offline.
bento: setup
	$(BIN)/retention export-models
	RETENTION_MODELS=bento $(BIN)/bentoml build -f serving/bentofile.yaml .

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Debian's chromium for the browser tests (Playwright drives it; Playwright's own browser download is never used).
CHROMIUM := /usr/lib/chromium/chromium
browser:
	test -x $(CHROMIUM) || (apt-get update -q && apt-get install -y -q chromium)

# Debian's redis-server for the tests of several workers (each test starts its own on a free port and stops it by
# pid) and for `RETENTION_REDIS_URL`; never the system service.
redis:
	command -v redis-server > /dev/null || (apt-get update -q && apt-get install -y -q redis-server)

# jemalloc for the service's workers (`retention serve` preloads it when present): with glibc's allocator a worker
# keeps part of each replaced bundle and grows about 1% per reload. Without root the service still runs on glibc's.
jemalloc:
	ls /usr/lib/*/libjemalloc.so.2 > /dev/null 2>&1 || (apt-get update -q && apt-get install -y -q libjemalloc2) \
		|| echo "libjemalloc2 not installed: the service will use the system allocator"

# A Java runtime for `--engine spark` (PySpark starts a JVM); Debian's OpenJDK when none is on the PATH.
java:
	command -v java > /dev/null || (apt-get update -q && apt-get install -y -q default-jre-headless)

# Debian's PostgreSQL for the shared-tracking-server tests (tests/code/training/test_shared_server.py starts its own
# cluster with initdb and pg_ctl in a private folder on a free port, as the `postgres` user when run as root, and
# stops it by its process id).
postgres:
	ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)

test: setup lint browser java postgres redis jemalloc
	$(BIN)/python -m pytest -q --durations=15

bench: setup
	$(BIN)/python benchmarks/cdnow.py

clean: stop
	rm -rf $(VENV) mlflow.db mlruns $(OUT)

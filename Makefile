# Two commands matter: `make run` (the whole job on the demo shop) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data/demo
OUT ?= out
PORT ?= 3000
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db

.PHONY: setup run test lint bench clean

setup: $(BIN)/retention

# Re-run the install whenever the project or its lock changes.
$(BIN)/retention: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24" "uv>=0.4"
	$(BIN)/uv pip install --python $(BIN)/python -q -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python -q --no-deps -e '.[test]'
	touch $@

run: setup
	$(BIN)/retention demo-data --out $(DATA)
	$(BIN)/retention validate --data $(DATA)
	$(BIN)/retention train --data $(DATA)
	$(BIN)/retention score --data $(DATA) --out $(OUT)/scores.csv
	$(BIN)/retention churn-list --data $(DATA) --limit 100 --out $(OUT)/churn_list.csv
	$(BIN)/retention recommend --data $(DATA) --customers $(OUT)/scores.csv --k 10 --out $(OUT)/recommendations.csv
	@echo "Scores in $(OUT)/scores.csv, churn-risk list in $(OUT)/churn_list.csv, picks in $(OUT)/recommendations.csv."
	@echo "The HTTP service is the next milestone; until then run stops after training and scoring."

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -q --durations=15

bench: setup
	$(BIN)/python benchmarks/cdnow.py

clean:
	rm -rf $(VENV) mlflow.db mlruns $(OUT)

# newsevents: `make repro` and `make test` are all the set-up a fresh clone needs.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup repro test labelstudio labelstudio-stop bench bench-ray

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[all]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install the project with the pinned versions

repro: setup ## run the DVC pipeline (prepare → train → export, evaluate → dashboard, review)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

test: setup ## run the test suite (starts its own Label Studio server and headless Chromium)
	scripts/labelstudio.sh install
	scripts/install-chromium.sh
	$(BIN)/pytest

labelstudio: ## install (once) and start Label Studio on 127.0.0.1:8080; prints how to log in
	scripts/labelstudio.sh start

labelstudio-stop: ## stop the Label Studio server started by `make labelstudio`
	scripts/labelstudio.sh stop

bench: setup ## print inference throughput and memory of the pipeline's models (after `make repro`)
	$(BIN)/python bench/predict.py

bench-ray: setup ## compare predict-dataset (local Ray) with single-process predict on 100k sentences
	$(BIN)/python bench/ray_predict.py

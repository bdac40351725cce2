# The README's commands. Each target creates .venv and installs what it needs.
.PHONY: run test test-sqlite test-postgres lint bench

run:
	bash scripts/run-demo.sh

test:
	bash scripts/test.sh

test-sqlite:
	bash scripts/test.sh sqlite

test-postgres:
	bash scripts/test.sh postgres

lint:
	bash scripts/bootstrap.sh && .venv/bin/ruff check . && .venv/bin/ruff format --check .

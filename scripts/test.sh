#!/usr/bin/env bash
# The whole test suite, twice: on the embedded SQLite default, then on PostgreSQL + Redis
# (127.0.0.1:5432 / :6379; a fresh database per run). `scripts/test.sh sqlite|postgres`
# runs one half; further arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1

halves="sqlite postgres"
case "${1:-}" in
  sqlite|postgres) halves="$1"; shift ;;
esac

status=0
echo "==> ruff"
.venv/bin/ruff check --quiet . || status=1
for backend in $halves; do
  echo "==> tests on $backend"
  MEMBERPOS_TEST_BACKEND=$backend .venv/bin/python -m pytest -p no:cacheprovider "$@"
  code=$?
  [ $code -eq 0 ] || status=$code
done
exit $status

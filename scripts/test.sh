#!/usr/bin/env bash
# The whole test suite, twice: on the embedded SQLite default and on PostgreSQL + Redis
# (127.0.0.1:5432 / :6379; a fresh database per run). The two halves share nothing (their own
# database files/servers, Redis only in the PostgreSQL half), so they run side by side, one per
# core, and their output is shown one half after the other. `scripts/test.sh sqlite|postgres`
# runs one half; further arguments go to pytest. MEMBERPOS_TEST_SERIAL=1 runs them in turn.
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

run_half() {
  MEMBERPOS_TEST_BACKEND=$1 .venv/bin/python -m pytest -p no:cacheprovider "${@:2}"
}

if [ "$halves" = "sqlite postgres" ] && [ -z "${MEMBERPOS_TEST_SERIAL:-}" ]; then
  logs=$(mktemp -d)
  declare -A pids
  for backend in $halves; do
    run_half "$backend" "$@" >"$logs/$backend.log" 2>&1 &
    pids[$backend]=$!
  done
  for backend in $halves; do
    wait "${pids[$backend]}"
    code=$?
    echo "==> tests on $backend (exit $code)"
    cat "$logs/$backend.log"
    [ $code -eq 0 ] || status=$code
  done
  rm -rf "$logs"
else
  for backend in $halves; do
    echo "==> tests on $backend"
    run_half "$backend" "$@"
    code=$?
    [ $code -eq 0 ] || status=$code
  done
fi
exit $status

#!/usr/bin/env bash
# Quick start: the service on the embedded SQLite default, with the demo chain loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export MEMBERPOS_DATABASE_URL="${MEMBERPOS_DATABASE_URL:-sqlite:///var/memberpos.sqlite}"
.venv/bin/memberpos migrate
.venv/bin/memberpos demo
exec .venv/bin/memberpos serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"

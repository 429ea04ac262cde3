#!/usr/bin/env bash
# One entry point for people and CI: creates ./.venv on first use (re-installs when pyproject.toml changes),
# then runs
#   bash run.sh demo [--option value ...]   the end-to-end demo on the built-in synthetic benchmark
#   bash run.sh test [pytest args ...]      the test suite
#   bash run.sh python ARGS...              anything else inside the environment
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.10 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "run.sh: need Python >= 3.10 (set PYTHON=/path/to/python3.11)" >&2
  exit 2
fi

VENV=${LATENTANON_VENV:-.venv}
STAMP="$VENV/.latentanon-installed"
WANT=$(cat pyproject.toml | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ ! -x "$VENV/bin/python" ]; then
  echo "run.sh: creating $VENV with $("$PYTHON" --version)" >&2
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "run.sh: installing latentanon and its dependencies into $VENV (first run: a few minutes)" >&2
  log="$VENV/pip-install.log"
  if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e ".[dev]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "run.sh: installation failed; full log in $log" >&2
    exit 1
  fi
  echo "$WANT" > "$STAMP"
fi

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  demo) exec "$VENV/bin/python" -m latentanon.demo "$@" ;;
  test) exec "$VENV/bin/python" -m pytest -q "$@" ;;
  python) exec "$VENV/bin/python" "$@" ;;
  *) echo "usage: bash run.sh demo|test|python [args...]" >&2; exit 2 ;;
esac

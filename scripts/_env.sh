# Shared set-up for scripts/run and scripts/test: a virtual environment with the project in it,
# installed from a hash-checked lock file (requirements/app.txt or requirements/test.txt, made by
# scripts/lock), so every machine, CI and the Docker image run the same versions of everything.
# Usage: source scripts/_env.sh app|test   (also works as `bash scripts/_env.sh test`)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Safe Share needs Python 3.11 or newer ($PYTHON is older or missing)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  "$PYTHON" -m venv --clear .venv
fi
lock=requirements/${1:-app}.txt
stamp=.venv/.safeshare-installed-${1:-app}
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # Every file is checked against its hash in the lock; then the project itself, whose
  # dependencies are exactly those (no resolver, no unlocked download).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  touch "$stamp"
fi

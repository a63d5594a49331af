# Shared by scripts/start and scripts/test: make .venv and install the project into it.
# `source scripts/_env.sh dev` installs with the dev tools, `... run` (the default) without.
# Re-installs only when pyproject.toml changed since the last install or the install lacks
# what is asked for (a stamp file): a dev install satisfies run, a run install not dev, so
# ./scripts/start after ./scripts/test reuses the dev install instead of reinstalling.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "dueprocess needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.dueprocess-installed"
mode="${1:-run}"
case "$mode" in
  dev|run) ;;
  *) echo "_env.sh: unknown install mode '$mode' (dev or run)" >&2; exit 2 ;;
esac
sha="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$have" != "$sha-dev" ] && [ "$have" != "$sha-$mode" ]; then
  echo "==> installing dueprocess and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  if [ "$mode" = dev ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  fi
  echo "$sha-$mode" > "$stamp"
fi

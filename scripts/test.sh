#!/usr/bin/env bash
# The test command: sets up what a fresh machine lacks, then runs every check.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== generated/ is fresh"
cargo xtask codegen --check

echo "== cargo test"
cargo test --workspace --locked

if [ -x scripts/clients.sh ]; then
  echo "== real MCP clients"
  scripts/clients.sh
fi

#!/usr/bin/env bash
# The test command (what CI runs through .ci/run): installs what a fresh machine lacks, then
# runs every check, stopping at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# A one-shot build gains nothing from incremental state, which is as large as the build itself.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { echo; echo "== test: $* ($((SECONDS - start))s, $(df -h --output=avail . | tail -1 | tr -d ' ') free)"; }
trap 'rc=$?; [ $rc -eq 0 ] || echo "test: FAILED in step: ${current:-?} (exit $rc)" >&2' EXIT

current="scripts/setup.sh (Python mcp venv, Node 22, conformance + Inspector + mcp-remote)"; step "$current"
scripts/setup.sh

current="cargo fmt --all --check"; step "$current"
cargo fmt --all --check

current="cargo clippy --workspace --all-targets --locked -- -D warnings"; step "$current"
cargo clippy --workspace --all-targets --locked -- -D warnings

current="cargo xtask codegen --check (generated/ matches spec/)"; step "$current"
cargo xtask codegen --check

current="cargo test --workspace --locked"; step "$current"
cargo test --workspace --locked

current="cargo build -p gumloop-mcp -p gumloop-testkit --bins"; step "$current"
cargo build --locked -p gumloop-mcp -p gumloop-testkit --bins

current="scripts/clients.sh (real MCP clients against gumloop-mcp and the fake Gumloop)"; step "$current"
scripts/clients.sh

current=done
echo
echo "test: all passed in $((SECONDS - start))s"

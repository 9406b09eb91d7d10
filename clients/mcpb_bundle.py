"""Checks the MCP Bundle `cargo xtask mcpb` built, with the official `@anthropic-ai/mcpb` CLI
and the Python `mcp` client, the way a desktop app installs and starts it.

usage: mcpb_bundle.py --bundle MCPB --cli MCPB_CLI_JS --work DIR --fake ORIGIN --api URL --ws URL

  1. `mcpb info` reads the bundle, `mcpb unpack` unpacks it into DIR/unpacked, and
     `mcpb validate` passes on the unpacked manifest.json (schema and icon);
  2. the manifest lists exactly generated/mcp/tools.json's tools, and its entry point is an
     executable in the bundle;
  3. the server command is resolved as Claude Desktop resolves it (clients/mcpb_config.mjs,
     the mcpb package's getMcpConfigForManifest): nothing without the required key; with a
     personal key and with a team id, no `${...}` left;
  4. each resolved command is started over stdio (with only the fake's URLs added to its
     environment) and the Python client lists the tools (the same names as tools.json) and
     calls list_all_gumloop_flows, which reaches the fake with the key, the user id and the
     team id from the user config, and with no team_id when none is set.
Exits 1 with a FAILED line on the first failed check.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys

from mcp import Client, StdioServerParameters

from harness import check, fake_requests, text_of
from python_client import first_failure, list_all_tools

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KEY, USER = "test-key", "user_test"  # what the fake accepts


def run(label, *cmd, cwd=HERE):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    check(p.returncode == 0, f"{label}: exit {p.returncode}\n  command: {' '.join(cmd)}\n--- stdout:\n{p.stdout[-3000:]}\n--- stderr:\n{p.stderr[-3000:]}")
    return p.stdout


def resolve(unpacked, user_config):
    out = run("mcpb_config.mjs", "node", os.path.join(HERE, "mcpb_config.mjs"), unpacked, json.dumps(user_config))
    return json.loads(out)


async def start_and_list(label, cfg, a, want_names, team):
    env = dict(cfg.get("env", {}))
    # Only where Gumloop is: the fake instead of api.gumloop.com.
    env.update(GUMLOOP_BASE_URL=a.api, GUMLOOP_WS_BASE_URL=a.ws, GUMLOOP_MCP_LOG="warn")
    params = StdioServerParameters(command=cfg["command"], args=cfg.get("args", []), env=env)
    seen = len(fake_requests(a.fake))
    async with Client(params, mode="legacy") as c:
        tools, _ = await list_all_tools(c)
        names = sorted(t.name for t in tools)
        check(names == want_names, f"{label}: tools/list gave {len(names)} tools, tools.json has {len(want_names)}; "
              f"missing {sorted(set(want_names) - set(names))}, extra {sorted(set(names) - set(want_names))}")
        r = await c.call_tool("list_all_gumloop_flows", {})
        check(not r.is_error, f"{label}: list_all_gumloop_flows returned isError: {text_of(r)}")
    sent = fake_requests(a.fake)[seen:]
    check(len(sent) == 1, f"{label}: expected exactly one request upstream, the fake got {json.dumps(sent)}")
    req = sent[0]
    check(req["headers"].get("authorization") == f"Bearer {KEY}", f"{label}: the key from user_config was not sent as the bearer token: {req['headers']}")
    check(req["headers"].get("x-auth-key") == USER, f"{label}: the user id from user_config was not sent as x-auth-key: {req['headers']}")
    teams = [v for k, v in req["query"] if k == "team_id"]
    check(teams == ([team] if team else []), f"{label}: team_id query {teams}, expected {[team] if team else []}: {req}")
    return len(names)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", required=True)
    p.add_argument("--cli", required=True, help="the mcpb CLI, node_modules/@anthropic-ai/mcpb/dist/cli/cli.js")
    p.add_argument("--work", required=True, help="a scratch directory")
    p.add_argument("--fake", required=True, help="the fake Gumloop's origin")
    p.add_argument("--api", required=True, help="the fake's API base URL")
    p.add_argument("--ws", required=True, help="the fake's WebSocket base URL")
    a = p.parse_args()
    a.cli = os.path.abspath(a.cli)  # the CLI runs from clients/

    bundle = os.path.abspath(a.bundle)
    info = run("mcpb info", "node", a.cli, "info", bundle)
    check(f"File: {os.path.basename(bundle)}" in info and "Size:" in info, f"mcpb info: unexpected output {info!r}")
    unpacked = os.path.join(os.path.abspath(a.work), "unpacked")
    shutil.rmtree(unpacked, ignore_errors=True)
    run("mcpb unpack", "node", a.cli, "unpack", bundle, unpacked)
    out = run("mcpb validate", "node", a.cli, "validate", os.path.join(unpacked, "manifest.json"))
    check("Manifest schema validation passes!" in out and "ERROR" not in out, f"mcpb validate: {out!r}")
    print(f"ok: mcpb info, unpack and validate ({os.path.getsize(bundle) / 1e6:.1f} MB bundle)")

    with open(os.path.join(unpacked, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(ROOT, "generated", "mcp", "tools.json")) as f:
        want_names = sorted(t["name"] for t in json.load(f))
    listed = sorted(t["name"] for t in manifest.get("tools", []))
    check(listed == want_names, f"manifest tools ({len(listed)}) are not tools.json's ({len(want_names)})")
    entry = os.path.join(unpacked, manifest["server"]["entry_point"])
    check(os.path.isfile(entry) and os.access(entry, os.X_OK), f"entry point {entry} is not an executable file after mcpb unpack")

    check(resolve(unpacked, {"gumloop_user_id": USER}) is None, "without the required API key the app would still start the server")
    cases = [("personal key", {"gumloop_api_key": KEY, "gumloop_user_id": USER}, None),
             ("team key", {"gumloop_api_key": KEY, "gumloop_user_id": USER, "gumloop_team_id": "team_from_bundle"}, "team_from_bundle")]
    for label, user_config, team in cases:
        cfg = resolve(unpacked, user_config)
        check(cfg is not None, f"{label}: getMcpConfigForManifest gave no config for {user_config}")
        check("${" not in json.dumps(cfg), f"{label}: a variable was left unsubstituted: {cfg}")
        check(os.path.realpath(cfg["command"]) == os.path.realpath(entry), f"{label}: command {cfg['command']} is not the entry point {entry}")
        count = await start_and_list(label, cfg, a, want_names, team)
        print(f"ok: mcpb {label}: started as the app would ({os.path.relpath(cfg['command'], unpacked)} {' '.join(cfg['args'])}), "
              f"{count} tools (tools.json's), one call with the user config's credential")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - report a failed check plainly, anything else with its traceback
        if (failed := first_failure(e)) is None:
            raise
        sys.exit(f"FAILED: {failed}")

"""The team-deployment flow end to end, with the official Python MCP client (PyPI `mcp`).

usage: managed_flow.py --server-bin PATH --fake ORIGIN --data-dir DIR

Starts `gumloop-mcp serve` itself (it must kill and restart it), against the fake
Gumloop at ORIGIN (whose GET /__fake/requests lists every request it received):

 1. reads the admin API token the first start prints, creates a second API token, an
    account and a read-only server limited to the `flows` tag (plus one that expires in
    61 s and one that expires in an hour);
 2. connects with the MCP client in both protocol eras: only read tools tagged `flows`
    are listed; a read call reaches the fake as the account; a write tool is refused and
    the fake saw no request;
 3. requires API-token auth on the server: without the token the URL answers 401 (and the
    client fails), with it the client works;
 4. lets the 61 s server expire: its URL is refused and the client fails;
 5. kills the process (SIGKILL) and restarts it: accounts, servers and expiries are
    intact, URLs still work, and the expired server is gone from the store.
Exits 1 with a FAILED line on the first failed check.
"""

import argparse
import asyncio
import datetime
import json
import os
import select
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from harness import Failed, check, fake_requests, serve


def log(msg):
    print(f"  managed: {msg}", flush=True)


class Server:
    """One `gumloop-mcp serve` process on 127.0.0.1:0."""

    def __init__(self, binary, fake, data_dir):
        self.proc, self.addr = serve(binary, fake, data_dir)
        # The first start prints its admin token before it listens.
        out = b""
        while select.select([self.proc.stdout], [], [], 0.2)[0]:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        self.stdout = out.decode()
        self.base = f"http://{self.addr}"

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


class Admin:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        req = urllib.request.Request(f"{self.base}{path}", method=method, data=None if body is None else json.dumps(body).encode())
        req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        check(status in expect, f"{method} {path}: HTTP {status}, expected {expect}: {text[:500]!r}")
        return json.loads(text) if text else None


def raw_status(url, token=None):
    """The HTTP status of a stateless tools/list POST to an MCP URL."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode())
    for k, v in {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}.items():
        req.add_header(k, v)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers


def client(url, mode, token=None):
    if token is None:
        return Client(url, mode=mode, cache=None)
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    return Client(streamable_http_client(url, http_client=http), mode=mode, cache=None)


async def client_fails(url, mode, token=None):
    try:
        async with client(url, mode, token) as c:
            await c.list_tools()
    except BaseException as e:  # the client raises transport errors in exception groups
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return True
    return False


async def tool_names(url, mode, token=None):
    async with client(url, mode, token) as c:
        names, cursor = [], None
        while True:
            page = await c.list_tools(cursor=cursor)
            names += [t.name for t in page.tools]
            check(all(t.annotations and t.annotations.read_only_hint for t in page.tools), f"{mode}: a listed tool is not read-only")
            cursor = page.next_cursor
            if not cursor:
                return names


async def read_and_refused_write(url, mode, fake, token=None):
    before = len(fake_requests(fake))
    async with client(url, mode, token) as c:
        r = await c.call_tool("list_all_gumloop_flows", {})
        check(not r.is_error and r.structured_content is not None, f"{mode}: list_all_gumloop_flows failed: {r}")
        sent = fake_requests(fake)[before:]
        check(len(sent) == 1 and sent[0]["method"] == "GET", f"{mode}: expected one GET upstream, got {sent}")
        check(sent[0]["headers"].get("authorization") == "Bearer test-key", f"{mode}: the call was not made as the account")
        refused = None
        try:
            r = await c.call_tool("create_a_gumloop_flow_run", {"saved_item_id": "flow_1"})
            refused = "unknown tool" in json.dumps(r.model_dump(mode="json")) if r.is_error else False
        except Exception as e:  # a JSON-RPC error, as for a tool that does not exist
            refused = "unknown tool" in str(e)
        check(refused, f"{mode}: the write tool was not refused as unknown")
    check(len(fake_requests(fake)) == before + 1, f"{mode}: the refused write reached the fake")


async def main(args):
    fake = args.fake.rstrip("/")
    iso = lambda secs: (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=secs)).isoformat()

    # 1. Tokens, an account, servers.
    server = Server(args.server_bin, fake, args.data_dir)
    try:
        lines = server.stdout.strip().splitlines()
        check(len(lines) == 2 and lines[1].startswith("gmat_"), f"the first start did not print one admin token: {server.stdout!r}")
        admin = Admin(server.base, lines[1])
        agent_token = admin.call("POST", "/api-token", {"name": "e2e agent"})["token"]
        acct = admin.call("POST", "/integrated-account", {"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}})
        check("test-key" not in json.dumps(acct), "the account response returned the key")
        acct_id = acct["id"]
        reader = admin.call("POST", f"/integrated-account/{acct_id}/mcp", {"name": "flows reader", "config": {"methods": ["read"], "tags": ["flows"]}})
        expiring = admin.call("POST", f"/integrated-account/{acct_id}/mcp", {"name": "expiring", "expires_at": iso(61)})
        expiring_at = datetime.datetime.fromisoformat(expiring["expires_at"].replace("Z", "+00:00"))
        hourly = admin.call("POST", f"/integrated-account/{acct_id}/mcp", {"name": "hourly", "expires_at": iso(3600), "config": {"methods": ["read"]}})
        log(f"account {acct_id}, servers {reader['id']} (read, flows), {expiring['id']} (expires {expiring['expires_at']}), {hourly['id']}")

        # 2. Only read tools tagged flows; a write tool is refused and never sent.
        preview = [t["name"] for t in admin.call("GET", "/tools?methods=read&tags=flows")["result"]]
        for mode in ("legacy", "2026-07-28"):
            names = await tool_names(reader["url"], mode)
            check(names == preview, f"{mode}: listed {names}, expected {preview}")
            check("list_all_gumloop_flows" in names and "list_all_gumloop_agents" not in names and "create_a_gumloop_flow_run" not in names, f"{mode}: wrong tools {names}")
            await read_and_refused_write(reader["url"], mode, fake)
        log(f"read-only flows server: {len(preview)} tools listed in both eras; read call made as the account; write refused unsent")

        # 3. API-token auth.
        admin.call("PATCH", f"/integrated-account/{acct_id}/mcp/{reader['id']}", {"config": {"methods": ["read"], "tags": ["flows"], "require_api_token_auth": True}})
        status, headers = raw_status(reader["url"])
        check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Bearer"), f"without an API token: HTTP {status}")
        check(await client_fails(reader["url"], "2026-07-28"), "the client connected without an API token")
        check(raw_status(reader["url"], agent_token)[0] == 200, "with the API token: not 200")
        for mode in ("legacy", "2026-07-28"):
            check(await tool_names(reader["url"], mode, agent_token) == preview, f"{mode}: with the API token, wrong tools")
            await read_and_refused_write(reader["url"], mode, fake, agent_token)
        log("API-token auth: 401 + WWW-Authenticate without it, the client works with it")

        # 4. Expiry.
        wait = (expiring_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds() + 1
        log(f"waiting {wait:.0f} s for {expiring['id']} to expire")
        await asyncio.sleep(max(wait, 0))
        check(raw_status(expiring["url"])[0] == 404, "the expired server's URL is not refused")
        check(await client_fails(expiring["url"], "2026-07-28"), "the client connected to an expired server")
        check(raw_status(hourly["url"])[0] == 200, "the hourly server stopped working")
        log("expired server refused (404), the others still served")

        # 5. SIGKILL and restart.
        server.kill()
    finally:
        if server.proc.poll() is None:
            server.kill()
    server = Server(args.server_bin, fake, args.data_dir)
    try:
        check(server.stdout == "", f"a restart printed another admin token: {server.stdout!r}")
        admin.base = server.base
        move = lambda url: url.replace(url.split("/mcp/")[0], server.base)
        check(admin.call("GET", f"/integrated-account/{acct_id}")["name"] == "ops", "the account is gone")
        servers = {s["id"]: s for s in admin.call("GET", f"/integrated-account/{acct_id}/mcp")["result"]}
        check(set(servers) == {reader["id"], hourly["id"]}, f"servers after restart: {sorted(servers)}")
        check(servers[hourly["id"]]["expires_at"] == hourly["expires_at"], "the hourly server's expiry changed")
        check(servers[reader["id"]]["config"] == {"methods": ["read"], "tags": ["flows"], "require_api_token_auth": True, "flow_tools": False}, "the reader's config changed")
        admin.call("GET", f"/integrated-account/{acct_id}/mcp/{expiring['id']}", expect=(404,))
        stored = json.loads(subprocess.run([args.server_bin, "server", "list", "--json", "--data-dir", args.data_dir], check=True, capture_output=True).stdout)
        check(expiring["id"] not in [s["id"] for s in stored], "the expired server is still in the store")
        check(await tool_names(move(reader["url"]), "2026-07-28", agent_token) == preview, "the reader URL does not work after restart")
        check(raw_status(move(reader["url"]))[0] == 401, "the reader lost its API-token requirement")
        calls = admin.call("GET", f"/integrated-account/{acct_id}/mcp/{reader['id']}/calls?limit=500")["result"]
        outcomes = sorted({c["outcome"] for c in calls})
        check(len(calls) >= 8 and outcomes == ["ok", "rejected"], f"audit trail after restart: {len(calls)} calls, outcomes {outcomes}")
        log(f"after SIGKILL and restart: account, servers, configs and expiries intact; expired server deleted; {len(calls)} audited calls kept")
    finally:
        server.kill()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--data-dir", required=True)
    a = p.parse_args()
    try:
        asyncio.run(main(a))
    except Failed as e:
        print(f"FAILED: managed flow: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok: managed servers flow (python mcp client): tokens, account, read-only tagged server, API-token auth, expiry, SIGKILL restart")

"""Signs in to gumloop-mcp with the official Python MCP client's OAuth provider
(`mcp.client.auth.OAuthClientProvider`, PyPI `mcp` as pinned in requirements.txt).

usage: oauth_python.py --server-bin PATH --fake ORIGIN --data-dir DIR

Starts `gumloop-mcp serve --auth oauth --oauth-allow-private-metadata` (the test-only flag that
lets the server fetch a client metadata document from 127.0.0.1 over http) against the fake
Gumloop at ORIGIN, with a connected account and a local user (clients/oauth_consent.py), and a
local http server for the client's metadata document. Then, for each registration (DCR, and a
Client ID Metadata Document) and each protocol era (legacy 2025-11-25 sessions, 2026-07-28):
  1. the client's first request gets 401; the provider discovers the protected resource and
     authorization server metadata from it, registers (POST /oauth/register, or the document
     URL as client_id, which the server fetches), sends the browser to the authorization URL
     (redirect_handler: sign-in and consent over HTTP) and gets code, state and iss
     (callback_handler), and redeems the code: the time from the first request to the stored
     token is printed as `oauth full flow (python client): N ms`;
  2. tools/list (every page, all three scopes granted) and a read tool call, which reaches the
     fake as the account and never carries the access token upstream;
  3. refresh: the access token is marked expired in the provider, so the next call refreshes
     (rotation: a new access and refresh token) and still works; the admin API shows the grant;
  4. revocation (RFC 7009, POST /oauth/revoke): the revoked access token gets 401
     invalid_token; the client then signs in again by itself (a new grant) and works - in the
     legacy era in a new session, since a session on /mcp belongs to the grant that opened it
     and the old one answers 404; revoking the refresh token revokes the grant (the admin API
     shows it revoked) and its access token with it.
Exits 1 with a FAILED line on the first failed check.
"""

import argparse
import asyncio
import base64
import http.server
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import anyio
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from harness import Failed, check, fake_requests
from oauth_consent import OAuthServer, consent, query

MIN_TOOLS = 50


def log(msg):
    print(f"  oauth python: {msg}", flush=True)


class MemoryStorage:
    """The provider's TokenStorage, in memory; remembers every token set it was given."""

    def __init__(self):
        self.tokens, self.client_info, self.history = None, None, []

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken):
        self.tokens = tokens
        self.history.append((time.monotonic(), tokens))

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull):
        self.client_info = client_info


class MetadataDocuments:
    """A local http server for client metadata documents: GET /clients/<name>.json."""

    def __init__(self):
        self.docs, self.fetches = {}, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches.append(self.path)
                doc = outer.docs.get(self.path)
                body = json.dumps(doc).encode() if doc else b"{}"
                self.send_response(200 if doc else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, name, redirect_uri):
        url = f"{self.base}/clients/{name}.json"
        self.docs[f"/clients/{name}.json"] = {
            "client_id": url,
            "client_name": f"Python mcp client ({name})",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
        return url

    def stop(self):
        self.httpd.shutdown()


class Browser:
    """The provider's redirect and callback handlers: the user signs in and approves over
    HTTP (clients/oauth_consent.py), and the redirect's code, state and iss come back."""

    def __init__(self):
        self.locations, self.opened, self.took = [], [], []

    async def redirect_handler(self, authorization_url):
        self.opened.append(authorization_url)
        t = time.monotonic()
        self.locations.append(await anyio.to_thread.run_sync(consent, authorization_url))
        self.took.append(time.monotonic() - t)

    async def callback_handler(self):
        q = query(self.locations[-1])
        check("code" in q, f"the authorization response has no code: {self.locations[-1]}")
        return AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss"))


def raw_list_status(url, token):
    """(status, WWW-Authenticate) of a stateless tools/list with TOKEN."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}}
    req = urllib.request.Request(url, method="POST", data=json.dumps(body).encode())
    for k, v in {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list", "Authorization": f"Bearer {token}"}.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("WWW-Authenticate")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("WWW-Authenticate")


def revoke(server, storage, token):
    """POST /oauth/revoke as the client (RFC 7009), authenticating as it registered."""
    info = storage.client_info
    form = {"token": token}
    headers = {}
    if info.token_endpoint_auth_method == "client_secret_basic" and info.client_secret:
        pair = f"{urllib.parse.quote(info.client_id, safe='')}:{urllib.parse.quote(info.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = info.client_id
    req = urllib.request.Request(f"{server.issuer}/oauth/revoke", method="POST", data=urllib.parse.urlencode(form).encode(), headers=headers)
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


async def list_all(c):
    names, cursor = [], None
    while True:
        page = await c.list_tools(cursor=cursor)
        names += [t.name for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return names


async def read_call(c, fake, label, token):
    before = len(fake_requests(fake))
    r = await c.call_tool("list_all_gumloop_flows", {})
    check(not r.is_error and isinstance(r.structured_content, dict), f"{label}: list_all_gumloop_flows failed: {r}")
    sent = fake_requests(fake)[before:]
    check(len(sent) == 1 and sent[0]["method"] == "GET", f"{label}: expected one GET upstream, the fake got {sent}")
    check(sent[0]["headers"].get("authorization") == "Bearer test-key", f"{label}: the call did not act as the grant's account: {sent[0]['headers']}")
    check(token not in json.dumps(sent), f"{label}: the access token went upstream")


async def flow(server, fake, docs, registration, mode):
    """One client from nothing to revoked; returns the ms from the first request to the token."""
    label = f"{registration}, {mode}"
    storage, browser = MemoryStorage(), Browser()
    redirect = "http://127.0.0.1:9/callback"  # nothing listens: the callback handler reads the redirect
    metadata = OAuthClientMetadata(client_name=f"Python mcp client ({label})", redirect_uris=[redirect])
    provider = OAuthClientProvider(server.mcp, metadata, storage, browser.redirect_handler, browser.callback_handler)
    if registration == "cimd":
        # The provider takes an https document URL only (its constructor checks); the test's
        # document is on http://127.0.0.1, which the server fetches because of
        # --oauth-allow-private-metadata. Set after the constructor's check; used as is.
        provider.context.client_metadata_url = docs.publish(f"python-{mode}", redirect)

    http = create_mcp_http_client(auth=provider)
    exchanges = []

    async def seen(response):
        exchanges.append((response.request.method, response.request.url.path, response.status_code))

    http.event_hooks = {"request": [], "response": [seen]}
    started = time.monotonic()
    async with http, Client(streamable_http_client(server.mcp, http_client=http), mode=mode, cache=None) as c:
        # 1. Discovery, registration, authorization, token: on the first request (legacy:
        # the initialize; 2026-07-28: no handshake, so the tools/list below).
        names = await list_all(c)
        check(storage.history, f"{label}: listed tools without a token")
        full_ms = (storage.history[0][0] - started) * 1000
        browser_ms = browser.took[0] * 1000
        check(len(browser.opened) == 1, f"{label}: the browser was opened {len(browser.opened)} times")
        # What the provider did, in order: the MCP request's 401, protected resource metadata
        # at the URL the challenge named, authorization server metadata, DCR (none with a
        # metadata document: the server fetched it at the authorization request), the token,
        # and the MCP request again.
        want = [("POST", "/mcp", 401), ("GET", "/.well-known/oauth-protected-resource/mcp", 200),
                ("GET", "/.well-known/oauth-authorization-server", 200)]
        want += [("POST", "/oauth/register", 201)] if registration == "dcr" else []
        want += [("POST", "/oauth/token", 200), ("POST", "/mcp", 200)]
        check(exchanges[: len(want)] == want, f"{label}: the provider's requests were {exchanges[:len(want) + 2]}, expected {want}")
        auth = query(browser.opened[0])
        check(auth.get("code_challenge_method") == "S256", f"{label}: no S256 challenge in {browser.opened[0]}")
        check(auth.get("resource") == server.mcp, f"{label}: resource {auth.get('resource')!r}, expected {server.mcp}")
        check(query(browser.locations[0]).get("iss") == server.issuer, f"{label}: no iss {server.issuer} in {browser.locations[0]}")
        info = storage.client_info
        _, clients = server.admin("GET", "/oauth-client")
        record = [k for k in (clients["result"] if isinstance(clients, dict) else clients) if k["client_id"] == info.client_id]
        check(record, f"{label}: the client {info.client_id} is not in GET /oauth-client")
        if registration == "dcr":
            check(info.client_id.startswith("gmcl_"), f"{label}: DCR gave client_id {info.client_id}")
            check(record[0].get("kind") == "dynamic", f"{label}: the registered client is {record[0]}")
        else:
            check(info.client_id == provider.context.client_metadata_url, f"{label}: client_id {info.client_id}, not the document URL")
            check(f"/clients/python-{mode}.json" in docs.fetches, f"{label}: the server never fetched the document ({docs.fetches})")
            check(record[0].get("kind") == "metadata", f"{label}: the document client is {record[0]}")
        first = storage.tokens
        check(first.refresh_token, f"{label}: no refresh token")
        check(set((first.scope or "").split()) == {"tools:read", "tools:write", "tools:custom"}, f"{label}: granted scope {first.scope!r}")

        # 2. Tools under the grant.
        check(len(names) >= MIN_TOOLS and "list_all_gumloop_flows" in names and "create_a_gumloop_agent" in names, f"{label}: tools/list gave {len(names)} tools")
        await read_call(c, fake, label, first.access_token)

        # 3. Refresh: the token is due, so the provider refreshes before the next request.
        provider.context.token_expiry_time = time.time() - 1
        await read_call(c, fake, f"{label} after refresh", first.access_token)
        check(len(storage.history) == 2, f"{label}: expected one refresh, token sets: {len(storage.history)}")
        second = storage.tokens
        check(second.access_token != first.access_token and second.refresh_token and second.refresh_token != first.refresh_token,
              f"{label}: the refresh did not rotate both tokens")
        check(len(browser.opened) == 1, f"{label}: the refresh opened the browser")
        check(raw_list_status(server.mcp, second.access_token)[0] == 200, f"{label}: the refreshed access token is refused")

        # 4. Revoke the access token: 401 invalid_token; the client signs in again by itself.
        check(revoke(server, storage, second.access_token) == 200, f"{label}: POST /oauth/revoke of the access token failed")
        status, challenge = raw_list_status(server.mcp, second.access_token)
        check(status == 401 and 'error="invalid_token"' in (challenge or ""), f"{label}: the revoked access token got HTTP {status} ({challenge})")
        if mode == "legacy":
            # A legacy session on /mcp belongs to the grant it was opened under, and the new
            # sign-in is a new grant: the old session answers 404 (the spec's "start a new
            # session"), which this client reports rather than re-initializing by itself.
            try:
                await c.call_tool("list_all_gumloop_flows", {})
                check(False, f"{label}: the session of the revoked grant's token still answered for the new grant")
            except Failed:
                raise
            except Exception as e:
                check("Session not found" in str(e), f"{label}: after signing in again, the old session gave {e!r}")
        else:
            await read_call(c, fake, f"{label} after re-sign-in", second.access_token)
        check(len(browser.opened) == 2, f"{label}: the client did not sign in again after the revocation ({len(browser.opened)} sign-ins)")
        third = storage.tokens
    if mode == "legacy":
        # A new session with the same provider: the new grant's token, no new sign-in.
        async with Client(streamable_http_client(server.mcp, http_client=create_mcp_http_client(auth=provider)), mode=mode, cache=None) as c:
            await read_call(c, fake, f"{label} new session after re-sign-in", second.access_token)
        check(len(browser.opened) == 2 and storage.tokens is third, f"{label}: the new session signed in again")

    # Revoking the refresh token revokes the grant, and its access token dies with it.
    grants = [g for g in server.grants() if g.get("client_id") == info.client_id]
    check(len(grants) == 2, f"{label}: expected two grants (a sign-in each) for the client, got {grants}")
    check(revoke(server, storage, third.refresh_token) == 200, f"{label}: POST /oauth/revoke of the refresh token failed")
    live = [g for g in server.grants() if g.get("client_id") == info.client_id and not g.get("revoked_at")]
    check(len(live) == 1, f"{label}: revoking the refresh token should revoke its grant, live: {live}")
    status, _ = raw_list_status(server.mcp, third.access_token)
    check(status == 401, f"{label}: the access token of a revoked grant got HTTP {status}")
    log(f"{label}: 401 -> discovery -> {'DCR' if registration == 'dcr' else 'metadata document'} -> sign-in + consent -> token in {full_ms:.0f} ms "
        f"(the browser part {browser_ms:.0f} ms); {len(names)} tools, a read call, refresh rotated, revoked token 401, signed in again, grant revoked")
    return full_ms, browser_ms


class _QuietSessionEnd(logging.Filter):
    """The client logs its DELETE of the old grant's session, which answers 404 (expected)."""

    def filter(self, record):
        return "Session termination failed: 404" not in record.getMessage()


logging.getLogger("mcp.client.streamable_http").addFilter(_QuietSessionEnd())


def first_failed(e):
    """The Failed check in E, or in the exception groups it is wrapped in."""
    if isinstance(e, Failed):
        return e
    for sub in getattr(e, "exceptions", ()):
        found = first_failed(sub)
        if found is not None:
            return found
    return None


async def main(args):
    fake = args.fake.rstrip("/")
    docs = MetadataDocuments()
    server = OAuthServer(args.server_bin, fake, args.data_dir, extra=["--oauth-allow-private-metadata"])
    try:
        timings = []
        for registration in ("dcr", "cimd"):
            for mode in ("legacy", "2026-07-28"):
                timings.append(await flow(server, fake, docs, registration, mode))
        full = [t[0] for t in timings]
        print(f"oauth full flow (python client): {statistics.median(full):.0f} ms "
              f"(median of {len(full)}: {', '.join(f'{t:.0f}' for t in full)} ms, from the first request's 401 to the stored token; "
              f"of it the browser part, sign-in (argon2id) and consent over HTTP: {statistics.median(t[1] for t in timings):.0f} ms; "
              f"{args.build} build of gumloop-mcp)", flush=True)
    finally:
        server.stop()
        docs.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--build", default="debug", help="what build the binary is, for the timing line")
    a = p.parse_args()
    a.data_dir = a.data_dir or tempfile.mkdtemp(prefix="oauth-python.")
    try:
        asyncio.run(main(a))
    except BaseException as e:  # the client's task groups wrap a failed check
        failed = first_failed(e)
        if failed is None:
            raise
        print(f"FAILED: {failed}", file=sys.stderr)
        sys.exit(1)

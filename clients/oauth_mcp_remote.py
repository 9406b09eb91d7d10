"""mcp-remote (the npm stdio-to-HTTP bridge many Claude Desktop users run, pinned in
package.json) signs in to gumloop-mcp with OAuth, with a fake browser.

usage: oauth_mcp_remote.py --server-bin PATH --fake ORIGIN --proxy PATH/mcp-remote/dist/proxy.js [--data-dir DIR]

Starts `gumloop-mcp serve --auth oauth` (clients/oauth_consent.py: a connected account and a
local user). mcp-remote runs with HOME in a temp directory (its ~/.mcp-auth token store too)
and a fake browser: it opens the authorization URL with the `open` package, whose bundled
xdg-open runs $BROWSER when no desktop is found (a stub `xdg-open` is also first on PATH, for
an `open` that uses the system one). The stub signs in and approves over HTTP
(clients/oauth_consent.py --follow) and then requests the final Location, so mcp-remote's own
callback server on 127.0.0.1 gets the code. Then, over mcp-remote's stdio:
  1. first run (its default legacy protocol): initialize, tools/list (>= 50 tools, the known
     names), and a read tool call that reaches the fake as the grant's account; the browser
     opened exactly once, the client registered itself (DCR) and holds one grant for /mcp;
  2. second run with `--protocol auto` (the 2026-07-28 era through server/discover): the
     tokens stored in ~/.mcp-auth are used, the browser is not opened again.
Exits 1 with a FAILED line on the first failed check.
"""

import argparse
import json
import os
import select
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse

from harness import Failed, check, fake_requests
from oauth_consent import PASSWORD, USERNAME, OAuthServer

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN_TOOLS = ["list_all_gumloop_flows", "list_all_gumloop_agents", "create_a_gumloop_agent"]


def log(msg):
    print(f"  oauth mcp-remote: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_browser(bin_dir, opened_log):
    """A `browser` for $BROWSER and an `xdg-open` for PATH: each records the URL and runs the
    HTTP sign-in and consent, then follows the redirect to the client's callback."""
    os.makedirs(bin_dir, exist_ok=True)
    script = (
        "#!/bin/sh\n"
        f'echo "$1" >>"{opened_log}"\n'
        f'exec "{sys.executable}" "{os.path.join(HERE, "oauth_consent.py")}" --follow "$1" >>"{opened_log}.out" 2>&1\n'
    )
    for name in ("browser", "xdg-open"):
        path = os.path.join(bin_dir, name)
        with open(path, "w") as f:
            f.write(script)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return os.path.join(bin_dir, "browser")


class Bridge:
    """mcp-remote as a stdio MCP server, as a desktop host runs it."""

    def __init__(self, proxy, url, port, home, browser, stderr_path, extra=()):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GUMLOOP_", "XDG_", "DISPLAY", "WAYLAND_", "DBUS_", "KDE_", "GNOME_", "DESKTOP_"))}
        env.update(HOME=home, MCP_REMOTE_CONFIG_DIR=os.path.join(home, ".mcp-auth"), BROWSER=browser,
                   PATH=f"{os.path.dirname(browser)}:{env.get('PATH', '')}",
                   GUMLOOP_TEST_OAUTH_USER=USERNAME, GUMLOOP_TEST_OAUTH_PASSWORD=PASSWORD)
        self.stderr = open(stderr_path, "ab")
        self.proc = subprocess.Popen(["node", proxy, url, str(port), "--transport", "http-only", *extra],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env, cwd=home)
        self.buf, self.next_id = b"", 1

    def send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method, params, timeout):
        rid, self.next_id = self.next_id, self.next_id + 1
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.time() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if not line.strip():
                    continue
                msg = json.loads(line)
                if msg.get("id") == rid and ("result" in msg or "error" in msg):
                    check("error" not in msg, f"{method}: mcp-remote answered an error: {msg.get('error')}")
                    return msg["result"]
            left = deadline - time.time()
            check(left > 0, f"{method}: no answer from mcp-remote within {timeout} s")
            check(self.proc.poll() is None, f"{method}: mcp-remote exited with code {self.proc.returncode}")
            if select.select([self.proc.stdout], [], [], min(left, 0.5))[0]:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                check(chunk, f"{method}: mcp-remote closed its stdout (exit code {self.proc.poll()})")
                self.buf += chunk

    def session(self, fake, label):
        """initialize, tools/list, a read call; returns the tool names."""
        init = self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                           "clientInfo": {"name": "gumloop-mcp clients.sh", "version": "1"}}, timeout=90)
        check(init.get("serverInfo", {}).get("name"), f"{label}: initialize gave no serverInfo: {init}")
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        names, cursor = [], None
        while True:
            page = self.request("tools/list", {"cursor": cursor} if cursor else {}, timeout=30)
            names += [t["name"] for t in page["tools"]]
            cursor = page.get("nextCursor")
            if not cursor:
                break
        check(len(names) >= 50 and all(n in names for n in KNOWN_TOOLS), f"{label}: tools/list gave {len(names)} tools: {names[:10]}")
        before = len(fake_requests(fake))
        r = self.request("tools/call", {"name": "list_all_gumloop_flows", "arguments": {}}, timeout=30)
        check(not r.get("isError") and r.get("structuredContent"), f"{label}: list_all_gumloop_flows failed: {r}")
        sent = fake_requests(fake)[before:]
        check(len(sent) == 1 and sent[0]["headers"].get("authorization") == "Bearer test-key", f"{label}: the call did not reach the fake as the account: {sent}")
        return init, names

    def close(self):
        try:
            self.proc.stdin.close()  # mcp-remote shuts down when its stdin ends
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait(5)
        self.stderr.close()


def main(args):
    fake = args.fake.rstrip("/")
    tmp = tempfile.mkdtemp(prefix="oauth-mcp-remote.")
    home, opened = os.path.join(tmp, "home"), os.path.join(tmp, "browser-opened.log")
    os.makedirs(home)
    browser = fake_browser(os.path.join(tmp, "bin"), opened)
    server = OAuthServer(args.server_bin, fake, args.data_dir or os.path.join(tmp, "data"))
    port = free_port()
    stderr_path = os.path.join(tmp, "mcp-remote.stderr")
    try:
        # 1. First connection: sign-in through the fake browser.
        t = time.monotonic()
        bridge = Bridge(args.proxy, server.mcp, port, home, browser, stderr_path)
        try:
            init, names = bridge.session(fake, "first run")
        except Failed as e:
            raise Failed(f"{e}\n--- mcp-remote stderr:\n{open(stderr_path, errors='replace').read()[-3000:]}"
                         f"\n--- fake browser:\n{open(opened + '.out', errors='replace').read()[-2000:] if os.path.exists(opened + '.out') else '(never opened)'}")
        finally:
            bridge.close()
        first_s = time.monotonic() - t
        urls = open(opened).read().split() if os.path.exists(opened) else []
        check(len(urls) == 1 and urls[0].startswith(f"{server.issuer}/oauth/authorize?"), f"the browser should open once at the authorization endpoint: {urls}")
        _, clients = server.admin("GET", "/oauth-client")
        dynamic = [c for c in (clients["result"] if isinstance(clients, dict) else clients) if c["kind"] == "dynamic"]
        check(len(dynamic) == 1, f"mcp-remote should have registered one client (DCR): {clients}")
        grants = server.grants()
        check(len(grants) == 1 and grants[0]["client_id"] == dynamic[0]["client_id"] and grants[0]["resource"] == server.mcp,
              f"expected one grant for /mcp to mcp-remote's client: {grants}")
        check(set(grants[0]["scope"].split()) == {"tools:read", "tools:write", "tools:custom"},
              f"mcp-remote should ask for the challenge's scopes (all three): {grants[0]['scope']}")
        check(f"resource={urllib.parse.quote(server.mcp, safe='')}" in urls[0], f"mcp-remote sent no resource={server.mcp}: {urls[0]}")
        log(f"first run: browser opened once, DCR client '{dynamic[0]['name']}', sign-in + consent, "
            f"{init.get('protocolVersion')}: {len(names)} tools and a read call as the account ({first_s:.1f} s)")

        # 2. Again, in the 2026-07-28 era: the stored tokens, no browser.
        t = time.monotonic()
        seen = os.path.getsize(stderr_path)
        bridge = Bridge(args.proxy, server.mcp, port, home, browser, stderr_path, extra=["--protocol", "auto"])
        try:
            init, names = bridge.session(fake, "second run (--protocol auto)")
        except Failed as e:
            raise Failed(f"{e}\n--- mcp-remote stderr:\n{open(stderr_path, errors='replace').read()[-3000:]}")
        finally:
            bridge.close()
        with open(stderr_path, errors="replace") as f:
            f.seek(seen)
            check("speaks MCP 2026-07-28" in f.read(), "mcp-remote --protocol auto did not find the 2026-07-28 era (no 'speaks MCP 2026-07-28' in its log)")
        urls = open(opened).read().split()
        check(len(urls) == 1, f"the second run opened the browser again: {urls}")
        check(len(server.grants()) == 1, "the second run made a new grant")
        log(f"second run (--protocol auto): stored tokens from ~/.mcp-auth, no browser; {len(names)} tools and a read call "
            f"({time.monotonic() - t:.1f} s)")
    finally:
        server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--proxy", required=True, help="mcp-remote's dist/proxy.js")
    p.add_argument("--data-dir", default=None)
    a = p.parse_args()
    try:
        main(a)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)

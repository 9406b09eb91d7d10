"""The official conformance suite's authorization-server scenarios against gumloop-mcp's
built-in authorization server, with sign-in and consent done over HTTP.

usage: oauth_conformance.py --server-bin PATH --fake ORIGIN --suite PATH/dist/index.js --out DIR [--data-dir DIR]

Starts `gumloop-mcp serve --auth oauth` (clients/oauth_consent.py: a connected account and a
local user) and pre-registers a public client (POST /oauth-client) whose redirect URI is the
suite's callback, http://127.0.0.1:<free port>/callback. Runs
    conformance authorization --url <issuer> --client-id <id> -p <port> -o DIR
(@modelcontextprotocol/conformance 0.2.0-alpha.12; without --scenario it runs every
authorization-server scenario: authorization-server-metadata-endpoint, then
authorization-code-grant, which reads the metadata the first one fetched). The suite prints
an authorization URL and waits for its callback: this harness reads the URL from the suite's
stdout, signs in and approves (clients/oauth_consent.py), and GETs the final Location, so the
suite's callback server receives code, state and iss; the suite then redeems the code.

It runs twice: as the reference does (no resource: the server must default to its /mcp), and
with --resource <issuer>/mcp (RFC 8707, as MCP clients send it), into DIR/default and
DIR/with-resource. Passes when the suite exits 0 each time, both scenarios' checks.json have a
SUCCESS and no FAILURE, and the two grants exist for the client; prints every WARNING.
Exits 1 otherwise.
"""

import argparse
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import Failed, check
from oauth_consent import OAuthServer, consent

SCENARIOS = ("authorization-server-metadata-endpoint", "authorization-code-grant")


def log(msg):
    print(f"  oauth conformance: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_suite(args, server, client, port, out, resource=None):
    """One run of the suite's authorization-server scenarios; returns its summary line."""
    cmd = ["node", args.suite, "authorization", "--url", server.issuer, "--client-id", client["client_id"], "-p", str(port), "-o", out]
    if resource:
        cmd += ["--resource", resource]
    suite = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    output, consented, problems = [], [], []

    def read():
        for line in suite.stdout:
            output.append(line)
            url = line.strip()
            if url.startswith(f"{server.issuer}/oauth/authorize?") and not consented:
                consented.append(url)
                try:
                    location = consent(url)
                    # The suite's callback server: it answers "OK" and takes the code.
                    with urllib.request.urlopen(location, timeout=15) as r:
                        check(r.status == 200, f"the suite's callback answered HTTP {r.status}")
                except (Failed, OSError) as e:
                    problems.append(f"consent for the suite's authorization URL failed: {e}")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        rc = suite.wait(args.timeout)
    except subprocess.TimeoutExpired:
        suite.kill()
        rc = None
    reader.join(5)
    text = "".join(output)
    check(not problems, "; ".join(problems) + "\n--- suite output:\n" + text[-4000:])
    check(rc is not None, f"the suite did not finish within {args.timeout} s\n--- suite output:\n{text[-4000:]}")
    check(consented, f"the suite printed no authorization URL under {server.issuer}/oauth/authorize\n--- suite output:\n{text[-4000:]}")
    if resource:
        check(f"resource={urllib.parse.quote(resource, safe='')}" in consented[0], f"the suite did not send resource={resource}: {consented[0]}")

    # Each scenario's checks, as the suite saved them.
    checks = {}
    for path in glob.glob(os.path.join(out, "**", "checks.json"), recursive=True):
        for c in json.load(open(path)):
            checks.setdefault(c["id"], []).append(c)
    failed = [c for cs in checks.values() for c in cs if c["status"] == "FAILURE"]
    warnings = [c for cs in checks.values() for c in cs if c["status"] == "WARNING"]
    check(rc == 0 and not failed, f"the suite exited {rc} with {len(failed)} failed checks: "
          + "; ".join(f"{c['id']}: {c.get('errorMessage')}" for c in failed) + f"\n--- suite output:\n{text[-4000:]}")
    for want in ("authorization-server-metadata", "authorization-code-grant"):
        check(any(c["status"] == "SUCCESS" for c in checks.get(want, [])), f"no SUCCESS for check {want} (checks: {sorted(checks)})")
    for w in warnings:
        log(f"WARNING {w['id']}: {w.get('errorMessage') or w.get('description')}")
    n = sum(len(cs) for cs in checks.values())
    summary = [l.strip() for l in output if l.startswith(("\u2713", "\u2717", "Total:"))]
    for scenario in SCENARIOS:
        check(f"\u2713 {scenario}:" in "\n".join(summary), f"scenario {scenario} did not pass: {summary}")
    return f"{' | '.join(summary)} ({n} checks, {len(failed)} failed, {len(warnings)} warnings)"


def main(args):
    started = time.monotonic()
    server = OAuthServer(args.server_bin, args.fake.rstrip("/"), args.data_dir)
    try:
        port = free_port()
        client = server.client("Conformance suite", [f"http://127.0.0.1:{port}/callback"])
        # As the reference runs it (no resource: the server defaults to /mcp), then with
        # --resource, the RFC 8707 parameter every MCP client sends.
        for resource in (None, server.mcp):
            t = time.monotonic()
            out = os.path.join(args.out, "with-resource" if resource else "default")
            summary = run_suite(args, server, client, port, out, resource)
            log(f"{'--resource ' + resource if resource else 'no --resource'}: {summary} in {time.monotonic() - t:.1f} s")
        grants = [g for g in server.grants() if g.get("client_id") == client["client_id"]]
        check(len(grants) == 2 and all(g["resource"] == server.mcp for g in grants), f"expected two grants for /mcp to the suite's client, got {grants}")
        log(f"passed, results in {args.out} ({time.monotonic() - started:.1f} s)")
    finally:
        server.stop()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake", required=True)
    p.add_argument("--suite", required=True, help="the conformance CLI's dist/index.js (0.2.0-alpha.12)")
    p.add_argument("--out", required=True, help="the suite's -o directory")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    a.data_dir = a.data_dir or tempfile.mkdtemp(prefix="oauth-conformance.")
    try:
        main(a)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)

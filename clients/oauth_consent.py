"""Signs in and consents on gumloop-mcp's OAuth pages over plain HTTP, as a browser does, so
real OAuth clients can be driven headless; and starts a `serve --auth oauth` with a user
who may sign in.

As a module:
    location = consent(authorization_url, username, password)   # the client's redirect URI
                                                                 # with code, state and iss
    server = OAuthServer(binary, fake, data_dir)                # serve --auth oauth, an
                                                                 # account and user USERNAME
As a command (the conformance harness and the fake browser of mcp-remote use it):
    oauth_consent.py [--follow] [--deny] AUTHORIZATION_URL
        the user and password come from GUMLOOP_TEST_OAUTH_USER and
        GUMLOOP_TEST_OAUTH_PASSWORD; prints the final Location; with --follow, also GETs it
        (the client's local callback server) and fails unless that answers 2xx.

The flow, exactly as server/tests/oauth.rs does it: GET the authorization URL (no redirect
followed) -> 200 sign-in page with the session cookie (`__Host-gmcp_session`, `Secure`, so it
is sent back by hand: cookie jars keep Secure cookies off plain http) and hidden `csrf` and
`request`; POST /oauth/login -> 303 to /oauth/authorize?request=... with a new cookie; GET it ->
consent page with new `csrf`/`request`, an account <select> and scope checkboxes; POST
/oauth/consent (decision=approve, the account, each scope) -> 303 to the client's redirect_uri.
"""

import argparse
import html
import json
import os
import re
import select
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import Failed, check, serve

USERNAME = "alice"
# Test-only; at least 12 characters, as the admin API requires.
PASSWORD = "correct horse battery staple"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class Page:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.html = status, headers, body

    @property
    def location(self):
        return self.headers.get("Location")


class Browser:
    """No redirects followed; the one session cookie kept by hand."""

    def __init__(self):
        self.cookie = None

    def _send(self, req):
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with _opener.open(req, timeout=15) as r:
                status, headers, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        for v in headers.get_all("Set-Cookie") or []:
            pair = v.split(";", 1)[0].strip()
            self.cookie = None if pair.endswith("=") else pair
        return Page(status, headers, body.decode("utf-8", "replace"))

    def get(self, url):
        return self._send(urllib.request.Request(url))

    def post(self, url, fields):
        data = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(url, data=data, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        return self._send(req)


def field(page, name):
    """A hidden input's value."""
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page.html)
    check(m, f"no `{name}` field in the page (HTTP {page.status}):\n{page.html[:2000]}")
    return html.unescape(m.group(1))


def accounts(page):
    """The account <option> values of a consent page."""
    m = re.search(r'<select name="account"[^>]*>(.*?)</select>', page.html, re.S)
    check(m, f"no account choice in the consent page:\n{page.html[:2000]}")
    return [html.unescape(v) for v in re.findall(r'<option value="([^"]*)"', m.group(1))]


def offered_scopes(page):
    """The scope checkboxes of a consent page (the scopes the client asked for)."""
    return [html.unescape(v) for v in re.findall(r'<input type="checkbox" name="scope" value="([^"]*)"', page.html)]


def consent(authorization_url, username=USERNAME, password=PASSWORD, account=None, scopes=None, decision="approve"):
    """Signs in as USERNAME and decides the request at AUTHORIZATION_URL; returns the 303's
    Location (the client's redirect URI with `code`, `state` and `iss`, or an error). ACCOUNT
    defaults to the first one offered, SCOPES to every scope the page offers."""
    parts = urllib.parse.urlsplit(authorization_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    b = Browser()
    first = b.get(authorization_url)
    check(first.status == 200 and "Sign in" in first.html, f"GET {authorization_url}: HTTP {first.status}, not the sign-in page:\n{first.html[:2000]}")
    check(b.cookie and b.cookie.startswith("__Host-gmcp_session="), f"the sign-in page set no __Host-gmcp_session cookie (got {b.cookie!r})")
    login = b.post(f"{origin}/oauth/login", [("csrf", field(first, "csrf")), ("request", field(first, "request")), ("username", username), ("password", password)])
    check(login.status == 303 and login.location, f"POST /oauth/login: HTTP {login.status}, expected 303:\n{login.html[:2000]}")
    page = b.get(urllib.parse.urljoin(origin, login.location))
    check(page.status == 200 and "Allow access" in page.html, f"GET {login.location}: HTTP {page.status}, not the consent page:\n{page.html[:2000]}")
    offered = accounts(page)
    check(offered, "the consent page offers no account")
    account = account or offered[0]
    check(account in offered, f"account {account} is not offered (offered: {offered})")
    form = [("csrf", field(page, "csrf")), ("request", field(page, "request")), ("decision", decision), ("account", account)]
    form += [("scope", s) for s in (offered_scopes(page) if scopes is None else scopes)]
    done = b.post(f"{origin}/oauth/consent", form)
    check(done.status == 303 and done.location, f"POST /oauth/consent: HTTP {done.status}, expected 303:\n{done.html[:2000]}")
    return done.location


def query(url):
    """A URL's query parameters, each given once."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def http_json(method, url, body=None, token=None, form=None, expect=(200, 201, 204)):
    """(status, parsed JSON body or None) of a request; fails unless the status is in EXPECT."""
    data = None
    req = urllib.request.Request(url, method=method)
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    req.data = data
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    check(status in expect, f"{method} {url}: HTTP {status}, expected {expect}: {text[:500]!r}")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, None


class OAuthServer:
    """`gumloop-mcp serve --auth oauth` on 127.0.0.1:0 (so its issuer is http://127.0.0.1:PORT)
    against the fake at ORIGIN FAKE, with, through the admin API: a connected account for
    the fake's key, and the local user USERNAME who may grant it. EXTRA are more serve flags;
    its log is copied to the file LOG, if given."""

    def __init__(self, binary, fake, data_dir, extra=(), log=None, env=None):
        self.proc, addr = serve(binary, fake, data_dir, env=env, args=["--auth", "oauth", *extra], log=log)
        self.issuer = f"http://{addr}"
        self.mcp = f"{self.issuer}/mcp"
        # The first start prints the admin API token (second line of stdout) before it listens.
        out, deadline = b"", time.time() + 5
        while b"gmat_" not in out and time.time() < deadline:
            if select.select([self.proc.stdout], [], [], 0.2)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        tokens = [l for l in out.decode().split() if l.startswith("gmat_")]
        check(tokens, f"the first start printed no admin token: {out!r}")
        self.admin_token = tokens[0]
        _, acct = self.admin("POST", "/integrated-account", {"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}})
        self.account = acct["id"]
        self.admin("POST", "/user", {"username": USERNAME, "password": PASSWORD, "access": [{"account_id": self.account}]})

    def admin(self, method, path, body=None, expect=(200, 201, 204)):
        return http_json(method, f"{self.issuer}{path}", body, token=self.admin_token, expect=expect)

    def client(self, name, redirect_uris, confidential=False):
        """A pre-registered client (POST /oauth-client); its record (with `client_id`)."""
        _, c = self.admin("POST", "/oauth-client", {"name": name, "redirect_uris": redirect_uris, "confidential": confidential})
        check(c and c.get("client_id"), f"POST /oauth-client returned no client_id: {c}")
        return c

    def grants(self):
        _, g = self.admin("GET", "/oauth-grant")
        return g["result"] if isinstance(g, dict) else g

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="the authorization URL a client opened")
    p.add_argument("--follow", action="store_true", help="also GET the final Location (the client's callback)")
    p.add_argument("--deny", action="store_true", help="deny instead of approving")
    a = p.parse_args()
    try:
        location = consent(
            a.url,
            os.environ.get("GUMLOOP_TEST_OAUTH_USER", USERNAME),
            os.environ.get("GUMLOOP_TEST_OAUTH_PASSWORD", PASSWORD),
            decision="deny" if a.deny else "approve",
        )
        print(location, flush=True)
        if a.follow:
            try:
                with urllib.request.urlopen(location, timeout=15) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            check(200 <= status < 300, f"the client's callback {location.split('?')[0]} answered HTTP {status}")
    except Failed as e:
        print(f"FAILED: oauth consent: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

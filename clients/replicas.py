"""Three gumloop-mcp replicas on one PostgreSQL behind nginx (round robin), driven with the
official Python MCP client (PyPI `mcp`) through the balancer and with plain requests to
each replica where the point is to reach a particular one.

usage: replicas.py --server-bin PATH --fake-bin PATH

Starts, in a temp directory, and stops on exit: a throwaway PostgreSQL cluster (private
unix socket, no TCP), the fake Gumloop, three `gumloop-mcp serve --database-url` sharing
GUMLOOP_MCP_SECRET_KEY, and nginx with deploy/nginx/gumloop-mcp.conf. Then:
  1. a managed server created through the admin API on one replica is used at once
     through the balancer (both protocol eras, legacy sessions included);
  2. a task created on replica A is read through B and cancelled through C, with exactly
     one upstream cancel; another task polled through the balancer completes;
  3. a revoked URL is refused on every replica on its next request;
  4. replica A is SIGKILLed while it polls a task, and the task completes through another;
  5. a download link minted on one replica is read through every replica;
  6. a `subscriptions/listen` stream on one replica gets tools/list_changed when the
     server's config is changed through another.
Needs PostgreSQL (/usr/lib/postgresql/*/bin) and nginx: scripts/setup.sh installs both.
Exits 1 with a FAILED line naming the step.
"""

import argparse
import asyncio
import glob
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from mcp import Client

from harness import Failed, check, fake_requests, text_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = "io.modelcontextprotocol/tasks"


def log(msg):
    print(f"  replicas: {msg}", flush=True)


def as_postgres(argv):
    """initdb and pg_ctl refuse to run as root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class Postgres:
    """A throwaway cluster on a private unix socket; durability off (it is thrown away)."""

    def __init__(self, tmp):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        check(bins, "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/setup.sh")
        self.bin = os.path.dirname(bins[-1])
        self.dir = os.path.join(tmp, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            os.chmod(tmp, 0o755)
        subprocess.run(as_postgres([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-U", "postgres", "-A", "trust", "--no-sync"]), check=True, capture_output=True)
        self.start()
        self.url = f"postgres://postgres@/postgres?host={self.dir}"

    def start(self):
        opts = f"-c listen_addresses= -k {self.dir} -F -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        subprocess.run(as_postgres([f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o", opts, "start"]), check=True, capture_output=True)

    def stop(self):
        subprocess.run(as_postgres([f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "stop"]), capture_output=True)


class Fake:
    def __init__(self, binary, tmp):
        self.proc = subprocess.Popen([binary, "--bind", "127.0.0.1:0", "--session-polls", "6"], stdout=subprocess.PIPE, stderr=open(f"{tmp}/fake.log", "w"))
        line = ""
        while not line.startswith("api "):
            line = self.proc.stdout.readline().decode()
            check(line, "fake-gumloop exited at start-up")
        self.origin = line.split()[1].removesuffix("/api/v1")

    def requests(self):
        return fake_requests(self.origin)


class Replica:
    """`gumloop-mcp serve` on 127.0.0.1:0 with the shared database and secret."""

    def __init__(self, name, binary, fake, db_url, secret, tmp, public_url):
        self.name = name
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUMLOOP_")}
        env.update({"GUMLOOP_API_KEY": "test-key", "GUMLOOP_USER_ID": "user_test", "GUMLOOP_MCP_SECRET_KEY": secret, "GUMLOOP_MCP_LOG": "info"})
        self.log_path = f"{tmp}/{name}.log"
        self.proc = subprocess.Popen(
            [binary, "serve", "--bind", "127.0.0.1:0", "--data-dir", f"{tmp}/{name}-data", "--database-url", db_url, "--public-url", public_url,
             "--gumloop-base-url", f"{fake.origin}/api/v1", "--gumloop-ws-base-url", f"{fake.origin}/ws/api/v1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.stdout = ""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        log_file = open(self.log_path, "w")
        deadline = time.time() + 30
        while True:
            check(time.time() < deadline, f"{name} did not start listening within 30 s")
            line = self.proc.stderr.readline().decode()
            check(line, f"{name} exited at start-up (code {self.proc.poll()}); see {self.log_path}")
            log_file.write(line)
            if "at http://" in line:
                self.addr = line.split("at http://", 1)[1].split("/", 1)[0]
                break
        threading.Thread(target=lambda: [log_file.write(l.decode()) or log_file.flush() for l in self.proc.stderr], daemon=True).start()
        self.base = f"http://{self.addr}"

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.stdout += line.decode()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Nginx:
    def __init__(self, tmp, upstreams):
        check(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"), "nginx is not installed; run scripts/setup.sh")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        site = open(os.path.join(ROOT, "deploy/nginx/gumloop-mcp.conf")).read()
        site = site.replace("# __UPSTREAMS__", "\n    ".join(f"server {u};" for u in upstreams)).replace("__LISTEN__", f"127.0.0.1:{self.port}")
        prefix = f"{tmp}/nginx"
        os.makedirs(prefix)
        temp = "".join(f"    {k}_temp_path {prefix}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\nevents {{ worker_connections 1024; }}\nhttp {{\n    access_log {prefix}/access.log;\n{temp}{site}\n}}\n"
        with open(f"{prefix}/nginx.conf", "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([binary, "-p", prefix, "-c", f"{prefix}/nginx.conf", "-e", f"{prefix}/error.log"], stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 10
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/livez", timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except Exception:
                check(self.proc.poll() is None, f"nginx exited: {self.proc.stderr.read().decode()}")
                check(time.time() < deadline, "nginx did not answer within 10 s")
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def free_port():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def admin(base, token, method, path, body=None, expect=(200, 201, 204)):
    status, text = http(method, f"{base}{path}", body, {"Authorization": f"Bearer {token}"})
    check(status in expect, f"{method} {path}: HTTP {status}, expected {expect}: {text[:300]!r}")
    return json.loads(text) if text else None


def rpc(url, method, params, capabilities=None):
    """One stateless 2026-07-28 request; returns (HTTP status, JSON body or None)."""
    params = dict(params)
    params["_meta"] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": capabilities or {}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
    name = params.get("name") or params.get("taskId") or params.get("uri")
    if name:
        headers["Mcp-Name"] = name
    status, text = http("POST", url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def task_rpc(url, method, params):
    status, body = rpc(url, method, params, {"extensions": {TASKS: {}}})
    check(status == 200 and body and "result" in body, f"{method} at {url}: HTTP {status}: {body}")
    return body["result"]


def replica_url(server_url, replica):
    """The same managed URL, sent straight to one replica."""
    return replica.base + server_url[server_url.index("/mcp/"):]


def wait_task(url, task_id, timeout=60):
    deadline = time.time() + timeout
    while True:
        t = task_rpc(url, "tasks/get", {"taskId": task_id})
        if t["status"] != "working":
            return t
        check(time.time() < deadline, f"task {task_id} still working after {timeout} s: {t}")
        time.sleep(0.3)


def cancels(fake):
    return [r for r in fake.requests() if r["path"].endswith("/cancel")]


async def main(a):
    tmp = tempfile.mkdtemp(prefix="gumloop-replicas.")
    started = []
    ok = False
    try:
        pg = Postgres(tmp)
        started.append(pg.stop)
        fake = Fake(a.fake_bin, tmp)
        started.append(fake.proc.terminate)
        secret = secrets.token_hex(32)
        # Nginx needs the replicas' ports, and the replicas the public URL: pick nginx's port first.
        public = f"http://127.0.0.1:{free_port()}"
        replicas = []
        for name in ("a", "b", "c"):
            r = Replica(name, a.server_bin, fake, pg.url, secret, tmp, public)
            started.append(r.stop)
            replicas.append(r)
        A, B, C = replicas
        lb = Nginx(tmp, [r.addr for r in replicas])
        started.append(lb.stop)
        public_fix = lambda url: url.replace(public, lb.base)
        tokens = [line for r in replicas for line in r.stdout.split() if line.startswith("gmat_")]
        check(len(tokens) == 1, f"expected exactly one first-start admin token among the replicas, got {len(tokens)}")
        root = tokens[0]
        log(f"postgres at {pg.dir}, fake at {fake.origin}, replicas {[r.addr for r in replicas]}, nginx at {lb.base}")

        # 1. Create through one replica, use at once through the balancer.
        acct = admin(A.base, root, "POST", "/integrated-account", {"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}})
        server = admin(A.base, root, "POST", f"/integrated-account/{acct['id']}/mcp", {"name": "team", "config": {}})
        url = public_fix(server["url"])
        for mode in ("2026-07-28", "legacy"):
            async with Client(url, mode=mode, cache=None) as c:
                for _ in range(4):  # round robin: each request on the next replica
                    r = await c.call_tool("list_all_gumloop_flows", {})
                    check(not r.is_error and r.structured_content.get("saved_items"), f"1. {mode}: {text_of(r)}")
        log("1. a server created through replica a served at once through the balancer, in both eras (legacy session over 4 round-robin requests)")

        # 2. A task created on A, read on B, cancelled on C; another polled through the balancer.
        before = len(cancels(fake))
        created = task_rpc(replica_url(url, A), "tools/call", {"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "never mind"}})
        check(created.get("resultType") == "task", f"2. no task: {created}")
        tid = created["taskId"]
        seen = task_rpc(replica_url(url, B), "tasks/get", {"taskId": tid})
        check(seen["status"] == "working", f"2. replica b sees {seen}")
        for _ in range(100):  # cancel once the upstream work has an id
            if "state:" in (task_rpc(replica_url(url, B), "tasks/get", {"taskId": tid}).get("statusMessage") or ""):
                break
            time.sleep(0.1)
        task_rpc(replica_url(url, C), "tasks/cancel", {"taskId": tid})
        final = wait_task(replica_url(url, B), tid)
        check(final["status"] == "cancelled", f"2. after cancel through c: {final}")
        check(len(cancels(fake)) == before + 1, f"2. expected one upstream cancel, got {len(cancels(fake)) - before}")
        other = task_rpc(url, "tools/call", {"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "hello"}})
        done = wait_task(url, other["taskId"])
        check(done["status"] == "completed", f"2. the balanced task ended {done}")
        hidden_status, hidden = rpc(f"{lb.base}/mcp", "tasks/get", {"taskId": tid}, {"extensions": {TASKS: {}}})
        check("error" in (hidden or {}), f"2. /mcp sees the managed server's task: {hidden}")
        log("2. a task created on a was read on b and cancelled on c (one upstream cancel); a balanced task completed; another owner cannot see it")

        # 5 (before any replica dies). A download link minted on one replica reads on all.
        signed = task_rpc(replica_url(url, A), "tools/call", {"name": "get_single_gumloop_artifact_by_id", "arguments": {"id": "art_1"}})
        links = [b for b in signed.get("content", []) if b.get("type") == "resource_link"]
        check(links, f"5. no resource_link: {signed}")
        for r in replicas:
            read = task_rpc(replica_url(url, r), "resources/read", {"uri": links[0]["uri"]})
            check(read.get("contents"), f"5. replica {r.name} cannot read the link: {read}")
        log("5. a download link minted on a was read through a, b and c")

        # 6. list_changed across replicas: listen through one, change through another.
        async with Client(replica_url(url, B), mode="2026-07-28", cache=None) as c:
            async with c.listen(tools_list_changed=True) as sub:
                admin(C.base, root, "PATCH", f"/integrated-account/{acct['id']}/mcp/{server['id']}", {"config": {"methods": ["read"]}})
                got = await asyncio.wait_for(sub.__anext__(), 15)
                check(got is not None, "6. no event")
            names = [t.name for t in (await c.list_tools()).tools]
            check(names and "create_a_gumloop_flow_run" not in names, f"6. the new filter is not applied: {len(names)} tools")
        log("6. a listener on b got tools/list_changed when the config was changed through c")

        # 3. Revocation is seen by every replica on its next request.
        doomed = admin(B.base, root, "POST", f"/integrated-account/{acct['id']}/mcp", {"name": "doomed", "config": {}})
        for r in replicas:
            check(rpc(replica_url(doomed["url"], r), "tools/list", {})[0] == 200, f"3. replica {r.name} does not serve the new server")
        admin(A.base, root, "DELETE", f"/integrated-account/{acct['id']}/mcp/{doomed['id']}")
        for r in replicas:
            status = rpc(replica_url(doomed["url"], r), "tools/list", {})[0]
            check(status == 404, f"3. replica {r.name} answered {status} to the revoked URL's next request")
        log("3. a new server was served by every replica at once, and refused by every replica on the next request after its revocation")

        # 4. SIGKILL the replica polling a task; another finishes it (on a server of its own:
        # the first one is read-only since step 6).
        worker = admin(B.base, root, "POST", f"/integrated-account/{acct['id']}/mcp", {"name": "worker", "config": {}})
        url = public_fix(worker["url"])
        created = task_rpc(replica_url(url, A), "tools/call", {"name": "create_a_gumloop_session", "arguments": {"agent_id": "agent_1", "input": "survive"}})
        tid = created["taskId"]
        time.sleep(0.5)
        A.kill()
        final = wait_task(url, tid, timeout=90)
        check(final["status"] == "completed", f"4. after killing a: {final}")
        log("4. replica a was SIGKILLed while polling a task; the task completed through the others")
        ok = True
    finally:
        for stop in reversed(started):
            try:
                stop()
            except Exception as e:  # keep stopping the rest
                print(f"  replicas: stopping: {e}", file=sys.stderr)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"  replicas: logs kept in {tmp}", file=sys.stderr)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake-bin", required=True)
    a = p.parse_args()
    try:
        asyncio.run(main(a))
    except Failed as e:
        print(f"FAILED: replicas: {e}", file=sys.stderr)
        sys.exit(1)
    print("ok: three replicas on one PostgreSQL behind nginx (python mcp client)")

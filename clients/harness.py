"""What the real-client scripts share: failing a check, reading results, the fake's request
log, starting `gumloop-mcp serve` on 127.0.0.1:0, and quieting one harmless client log line."""

import json
import os
import subprocess
import threading
import time
import urllib.request


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def text_of(result):
    return " ".join(getattr(c, "text", "") for c in result.content)


def fake_requests(origin):
    """Every request the fake Gumloop at ORIGIN has received: [{method, path, query, headers}]."""
    with urllib.request.urlopen(f"{origin}/__fake/requests", timeout=10) as r:
        return json.load(r)


def serve(binary, fake, data_dir, env=None, args=(), log=None):
    """Starts `gumloop-mcp serve` on 127.0.0.1:0 against the fake at ORIGIN `fake`, with no
    GUMLOOP_* variable of the caller's and ARGS as more flags; returns (process, "host:port")
    once it listens. LOG, if given, is a file path its log is copied to."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GUMLOOP_")}
    full["GUMLOOP_MCP_LOG"] = "info"
    full.update(env or {})
    proc = subprocess.Popen(
        [binary, "serve", "--bind", "127.0.0.1:0", "--data-dir", data_dir,
         "--gumloop-base-url", f"{fake}/api/v1", "--gumloop-ws-base-url", f"{fake}/ws/api/v1", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full,
    )
    sink = open(log, "ab", buffering=0) if log else None
    deadline = time.time() + 20
    while True:
        check(time.time() < deadline, "gumloop-mcp did not start listening within 20 s")
        raw = proc.stderr.readline()
        if sink:
            sink.write(raw)
        line = raw.decode()
        if not line:
            try:
                code = proc.wait(5)
            except subprocess.TimeoutExpired:
                code = "none yet: it closed its log"
            check(False, f"gumloop-mcp exited at start-up (code {code})")
        if "at http://" in line:
            # Keep draining the log so a chatty server never blocks on a full pipe.
            threading.Thread(target=lambda: [sink and sink.write(l) for l in proc.stderr], daemon=True).start()
            return proc, line.split("at http://", 1)[1].split("/", 1)[0]



"""Drives gumloop-mcp with the official Python MCP client (PyPI `mcp`, pinned in requirements.txt).

usage: python_client.py --fake ORIGIN --mode MODE --http URL
       python_client.py --fake ORIGIN --mode MODE --stdio CMD [ARGS...]

MODE is the client's protocol mode: legacy (2025-11-25 sessions), 2026-07-28 (stateless),
or auto (probes server/discover, falls back to initialize). ORIGIN is the fake Gumloop's
origin (http://127.0.0.1:PORT); its GET /__fake/requests lists every request it received.

Checks, each against the fake's request log:
  - tools/list (all pages): at least 50 tools, the known names, each with a description
    and an object inputSchema, and no schema keyword whose value is null;
  - a read tool (list_all_gumloop_flows) succeeds and sends exactly one GET;
  - write tools (create_a_gumloop_agent, create_a_gumloop_session) succeed and send exactly one POST each;
  - invalid arguments (an unknown argument, a misspelt one) give isError and send nothing.
Exits 1 with a FAILED line on the first failed check.
"""

import argparse
import asyncio
import json
import os
import sys
import urllib.request

from mcp import Client, StdioServerParameters

from harness import Failed, check, text_of

MIN_TOOLS = 50
KNOWN_TOOLS = [
    "list_all_gumloop_flows",
    "get_single_gumloop_automation_by_id",
    "list_all_gumloop_agents",
    "create_a_gumloop_agent",
    "create_a_gumloop_session",
    "list_all_gumloop_models",
]
# The protocol version each HTTP mode must settle on (the server speaks both eras).
EXPECTED_VERSION = {"legacy": "2025-11-25", "2026-07-28": "2026-07-28", "auto": "2026-07-28"}
# Keywords whose value may legitimately be null in a JSON Schema.
NULL_OK = {"const", "default", "examples", "enum"}


class Upstream:
    """The fake Gumloop's request log."""

    def __init__(self, origin):
        self.url = f"{origin}/__fake/requests"
        self.seen = len(self.all())

    def all(self):
        with urllib.request.urlopen(self.url, timeout=10) as r:
            return json.load(r)

    def new(self):
        """The requests received since the previous call."""
        reqs = self.all()
        fresh, self.seen = reqs[self.seen :], len(reqs)
        return fresh


def null_keywords(schema, path="#"):
    """Paths of schema keywords whose value is null (e.g. a YAML description split at a comma)."""
    found = []
    if isinstance(schema, dict):
        for k, v in schema.items():
            if v is None and k not in NULL_OK:
                found.append(f"{path}/{k}")
            elif k not in NULL_OK:
                found += null_keywords(v, f"{path}/{k}")
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            found += null_keywords(v, f"{path}/{i}")
    return found


async def list_all_tools(client):
    tools, cursor, pages = [], None, 0
    while True:
        page = await client.list_tools(cursor=cursor)
        tools += page.tools
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            return tools, pages
        check(pages < 100, "tools/list: more than 100 pages (a cursor loop?)")


async def call_ok(client, upstream, label, tool, args, method, path_suffix):
    """Calls a tool that must succeed with exactly one upstream request METHOD .../PATH_SUFFIX."""
    r = await client.call_tool(tool, args)
    check(not r.is_error, f"{label}: {tool} {json.dumps(args)} returned isError: {text_of(r)}")
    check(isinstance(r.structured_content, dict), f"{label}: {tool}: no structuredContent object: {r.structured_content!r}")
    sent = upstream.new()
    check(
        len(sent) == 1 and sent[0]["method"] == method and sent[0]["path"].endswith(path_suffix),
        f"{label}: {tool}: expected exactly one {method} …{path_suffix} upstream, the fake got {json.dumps(sent)}",
    )
    return r.structured_content, sent[0]


async def call_rejected(client, upstream, label, tool, args, must_mention):
    """Calls a tool with invalid arguments: must give isError and send nothing upstream."""
    r = await client.call_tool(tool, args)
    check(r.is_error, f"{label}: {tool} {json.dumps(args)} was accepted: {r.structured_content or text_of(r)}")
    msg = text_of(r)
    check(must_mention in msg, f"{label}: {tool} {json.dumps(args)}: error does not mention {must_mention!r}: {msg!r}")
    sent = upstream.new()
    check(not sent, f"{label}: {tool} {json.dumps(args)} was rejected but still reached the fake: {json.dumps(sent)}")


async def exercise(client, upstream, label):
    tools, pages = await list_all_tools(client)
    names = [t.name for t in tools]
    check(len(tools) >= MIN_TOOLS, f"{label}: expected at least {MIN_TOOLS} tools, got {len(tools)}")
    check(len(set(names)) == len(names), f"{label}: duplicate tool names")
    for name in KNOWN_TOOLS:
        check(name in names, f"{label}: tool {name} missing from tools/list")
    problems = []
    for t in tools:
        if not (t.description and t.description.strip()):
            problems.append(f"{t.name}: no description")
        if t.input_schema.get("type") != "object":
            problems.append(f"{t.name}: inputSchema type is not object: {t.input_schema}")
        for which, schema in (("inputSchema", t.input_schema), ("outputSchema", t.output_schema)):
            problems += [f"{t.name}: {which} keyword {k!r} is null (a spec description cut at a comma?)" for k in null_keywords(schema or {})]
    check(not problems, f"{label}: tools/list: {len(problems)} schema problem(s):\n  " + "\n  ".join(problems))
    check(not upstream.new(), f"{label}: tools/list reached the fake")

    # Read tool: the credential's user id is filled in.
    out, req = await call_ok(client, upstream, label, "list_all_gumloop_flows", {}, "GET", "/list_saved_items")
    items = out.get("saved_items")
    check(isinstance(items, list) and items, f"{label}: list_all_gumloop_flows: no saved_items in {out}")
    check(["user_id", "user_test"] in req["query"], f"{label}: list_all_gumloop_flows: user_id not filled in: {req}")

    # Write tools.
    name = f"Agent from {label}"
    out, _ = await call_ok(client, upstream, label, "create_a_gumloop_agent", {"name": name, "model_name": "gpt-4.1"}, "POST", "/agents")
    agent = out.get("agent") or {}
    check(agent.get("name") == name and agent.get("id"), f"{label}: create_a_gumloop_agent returned {out}")
    out, _ = await call_ok(client, upstream, label, "create_a_gumloop_session", {"agent_id": "agent_1"}, "POST", "/agents/agent_1/sessions")
    session = out.get("session") or {}
    check(session.get("agent_id") == "agent_1" and session.get("id"), f"{label}: create_a_gumloop_session returned {out}")

    # Invalid arguments never reach Gumloop.
    await call_rejected(client, upstream, label, "list_all_gumloop_flows", {"bogus": 1}, "bogus")
    await call_rejected(client, upstream, label, "create_a_gumloop_agent", {"name": "no model"}, "model_name")
    await call_rejected(client, upstream, label, "list_all_gumloop_sessions", {"agentid": "agent_1"}, "agent_id")

    print(f"ok: python mcp {label}: protocol {client.protocol_version}, {len(tools)} tools in {pages} page(s), read + 2 writes + 3 rejected calls")


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fake", required=True, help="the fake Gumloop's origin, http://127.0.0.1:PORT")
    p.add_argument("--mode", required=True, choices=["legacy", "2026-07-28", "auto"])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--http", metavar="URL", help="the server's streamable HTTP endpoint")
    g.add_argument("--stdio", nargs=argparse.REMAINDER, metavar="CMD", help="the server command for stdio")
    a = p.parse_args()

    upstream = Upstream(a.fake)
    if a.http:
        label = f"http/{a.mode}"
        async with Client(a.http, mode=a.mode) as c:
            want = EXPECTED_VERSION[a.mode]
            check(c.protocol_version == want, f"{label}: negotiated protocol {c.protocol_version}, expected {want}")
            await exercise(c, upstream, label)
    else:
        label = f"stdio/{a.mode}"
        check(bool(a.stdio), "--stdio needs a command")
        # StdioServerParameters passes only a safe subset of the environment; hand over the credential.
        env = {k: os.environ[k] for k in ("GUMLOOP_API_KEY", "GUMLOOP_USER_ID") if k in os.environ}
        env["GUMLOOP_MCP_LOG"] = os.environ.get("GUMLOOP_MCP_LOG", "warn")
        params = StdioServerParameters(command=a.stdio[0], args=a.stdio[1:], env=env)
        async with Client(params, mode=a.mode) as c:
            if a.mode != "auto":
                check(c.protocol_version == EXPECTED_VERSION[a.mode], f"{label}: negotiated protocol {c.protocol_version}")
            await exercise(c, upstream, label)


def first_failure(exc):
    """The Failed inside exc, which anyio may have wrapped in (nested) exception groups."""
    if isinstance(exc, Failed):
        return exc
    for sub in getattr(exc, "exceptions", ()):
        if (found := first_failure(sub)) is not None:
            return found
    return None


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - report a failed check plainly, anything else with its traceback
        if (failed := first_failure(e)) is None:
            raise
        sys.exit(f"FAILED: {failed}")

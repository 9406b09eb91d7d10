"""Drives gumloop-mcp with the official Python `mcp` client (PyPI mcp 2.3.0).

usage: python_client.py FAKE_ORIGIN http URL MODE    (MODE: legacy | 2026-07-28 | auto)
       python_client.py FAKE_ORIGIN stdio CMD [ARGS...]

Lists the tools, calls a read tool and a write tool against the fake Gumloop, and checks
that an invalid call is rejected without any request reaching the fake.
"""
import asyncio
import json
import os
import sys
import urllib.request

from mcp import Client, StdioServerParameters

FAKE = sys.argv[1]


def upstream_requests():
    with urllib.request.urlopen(f"{FAKE}/__fake/requests") as r:
        return json.load(r)


def check(cond, msg):
    if not cond:
        raise SystemExit(f"FAILED: {msg}")


async def exercise(client, label):
    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    check(len(tools) == 57, f"{label}: expected 57 tools, got {len(tools)}")
    for fixed in ["list_all_gumloop_flows", "get_single_gumloop_automation_by_id", "create_a_gumloop_session", "create_a_gumloop_chat_completion"]:
        check(fixed in names, f"{label}: {fixed} missing")
    for t in tools:
        check(t.description and t.input_schema.get("type") == "object", f"{label}: {t.name} lacks description or object schema")

    read = await client.call_tool("list_all_gumloop_flows", {})
    check(not read.is_error, f"{label}: read tool failed: {read.content}")
    check(read.structured_content["saved_items"][0]["saved_item_id"] == "flow_1", f"{label}: unexpected flows {read.structured_content}")

    write = await client.call_tool("create_a_gumloop_agent", {"name": f"Agent from {label}", "model_name": "gpt-4.1"})
    check(not write.is_error, f"{label}: write tool failed: {write.content}")
    check(write.structured_content["agent"]["name"] == f"Agent from {label}", f"{label}: {write.structured_content}")

    before = len(upstream_requests())
    bad = await client.call_tool("list_all_gumloop_sessions", {"agentid": "agent_1"})
    check(bad.is_error, f"{label}: an invalid call was accepted")
    text = bad.content[0].text
    check("did you mean `agent_id`" in text, f"{label}: no suggestion in {text!r}")
    check(len(upstream_requests()) == before, f"{label}: an invalid call reached Gumloop")
    print(f"ok: {label}: {len(tools)} tools, read + write + rejected invalid call (protocol {getattr(client, 'protocol_version', '?')})")


async def main():
    kind = sys.argv[2]
    if kind == "http":
        url, mode = sys.argv[3], sys.argv[4]
        async with Client(url, mode=mode) as c:
            await exercise(c, f"http/{mode}")
    else:
        params = StdioServerParameters(command=sys.argv[3], args=sys.argv[4:], env=dict(os.environ))
        async with Client(params) as c:
            await exercise(c, "stdio")


asyncio.run(main())

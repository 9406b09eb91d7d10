"""The result budget (`--max-result-bytes`) as the official Python MCP client (PyPI `mcp`)
sees it: the client checks every structuredContent against the tool's outputSchema, so a
cut list and a summary it accepts conform.

usage: budget.py --server-bin PATH --fake-bin PATH

It starts its own fake (`fake-gumloop --audit-logs 1000`) and `gumloop-mcp serve
--max-result-bytes 8000` on 127.0.0.1:0, in both protocol eras:
  1. list_all_gumloop_audit_logs with max_items 1000: a cut list, notice first, whose
     continuation gets exactly the next entries;
  2. an agent whose record is over the budget: a summary marked partial, a resource link
     whose resources/read is the whole JSON.
Exits 1 with a FAILED line naming the step.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile

from mcp import Client

from harness import Failed, check, serve

BUDGET = 8000
KEY = "gumloop-mcp/budget"
AUDIT = "list_all_gumloop_audit_logs"


def start_fake(binary):
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1:0", "--audit-logs", "1000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        line = proc.stdout.readline().decode()
        check(line, "fake-gumloop exited at start-up")
        if line.startswith("api "):
            return proc, line.split()[1].removesuffix("/api/v1")


def model_bytes(r):
    text = sum(len(getattr(b, "text", "")) for b in r.content)
    return text + len(json.dumps(r.structured_content, separators=(",", ":"), ensure_ascii=False))


async def run(url, mode):
    args = {"organization_id": "org_1", "user_id": "user_test", "start_time": "2026-11-29T00:00:00Z", "end_time": "2026-12-01T00:00:00Z"}
    async with Client(url, mode=mode) as c:
        await c.list_tools()  # the client keeps the output schemas it validates with
        step = f"{mode}: 1. cut list"
        r = await c.call_tool(AUDIT, {**args, "max_items": 1000})
        check(not r.is_error, f"{step}: {r.content}")
        check(model_bytes(r) <= BUDGET, f"{step}: {model_bytes(r)} bytes over {BUDGET}")
        entries = r.structured_content["audit_logs"]
        account = (r.meta or {}).get(KEY)
        check(account and account["items"] == len(entries) and account["left_out"] == 1000 - len(entries), f"{step}: _meta {account}")
        check(r.content[0].text.startswith("PARTIAL LIST:"), f"{step}: notice {r.content[0].text[:80]}")
        n = len(entries)
        nxt = await c.call_tool(AUDIT, {**args, **account["continue_with"], "max_items": n})
        want = [f"evt_{i:03}" for i in range(n, 2 * n)]
        got = [e["event_id"] for e in nxt.structured_content["audit_logs"]]
        check(got == want, f"{step}: continuing with {account['continue_with']} gave {got[:3]}…, expected {want[:3]}…")
        print(f"ok: {step}: {n} of 1000 entries, continue with {account['continue_with']}")

        step = f"{mode}: 2. summary and link"
        tools = [{"name": f"tool_{i}", "config": {"note": "n" * 80}} for i in range(100)]
        made = await c.call_tool("create_a_gumloop_agent", {"agent_id": "agent_big", "name": "big", "model_name": "gpt-5", "system_prompt": "p" * 20000, "tools": tools})
        # Over the budget too: its summary keeps the small values whole.
        check(not made.is_error and made.structured_content["agent"]["id"] == "agent_big", f"{step}: create {made.content[0]}")
        agent_id = "agent_big"
        r = await c.call_tool("get_single_gumloop_agent_by_id", {"id": agent_id})
        check(not r.is_error and r.content[0].text.startswith("PARTIAL RESULT:"), f"{step}: {r.content[0]}")
        check((r.meta or {}).get(KEY, {}).get("partial") is True, f"{step}: _meta {r.meta}")
        links = [b for b in r.content if b.type == "resource_link"]
        check(len(links) == 1, f"{step}: {len(links)} resource links")
        read = await c.read_resource(links[0].uri)
        whole = json.loads(read.contents[0].text)
        check(len(whole["agent"]["system_prompt"]) == 20000 and len(whole["agent"]["tools"]) == 100, f"{step}: the read is not whole")
        print(f"ok: {step}: {model_bytes(r)} bytes returned, {len(read.contents[0].text)} read from {links[0].uri}")


async def main(a):
    fake, origin = start_fake(a.fake_bin)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"GUMLOOP_API_KEY": "test-key", "GUMLOOP_USER_ID": "user_test"}
        proc, addr = serve(a.server_bin, origin, data_dir, env, args=("--max-result-bytes", str(BUDGET)))
        try:
            for mode in ("legacy", "2026-07-28"):
                await run(f"http://{addr}/mcp", mode)
        finally:
            proc.terminate()
            fake.terminate()
            proc.wait(10)
            fake.wait(10)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake-bin", required=True)
    a = p.parse_args()
    try:
        asyncio.run(main(a))
    except Failed as e:
        print(f"FAILED: budget {e}", file=sys.stderr)
        sys.exit(1)
    print("ok: the result budget (python mcp client)")

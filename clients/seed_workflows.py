"""The six seed workflows of the orchestration issue, end to end, with the official Python
MCP client (PyPI `mcp`) against gumloop-mcp and the fake Gumloop. Each workflow is what a
model would do, step by step, and each is checked against the fake's request log.

usage: seed_workflows.py --server-bin PATH --fake-bin PATH [--only N ...]

It starts its own fake (`fake-gumloop`, sessions finishing after 3 polls) and its own
`gumloop-mcp serve` on 127.0.0.1:0, and stops both on exit.
  1. competitor pricing: find the flow by name, read its inputs, run it with named inputs
     and wait, list the agent's .csv artifacts, get the signed URL, read the bytes
  2. stuck session: find ses_998 processing, cancel it (failed), upload a skill from
     markdown notes, start a new session and follow its progress notifications
  3. bad flow inputs: a missing and a misspelt input, both named; no run started
  4. tasks: a 2026-07-28 client declaring io.modelcontextprotocol/tasks gets a task for a
     session, polls it to completion, and cancels another (Gumloop cancel called)
  5. skill rejections: no frontmatter, an archive with ../evil, over 10 MB: each refused
     before upload
  6. audit logs: the last 48 hours with max_items walk pages until total_pages
Exits 1 with a FAILED line naming the workflow and step.
"""

import argparse
import asyncio
import base64
import datetime
import io
import os
import subprocess
import sys
import time
import zipfile
from typing import Any, Literal

from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp_types import CallToolResult, Request, RequestParams, Result
from pydantic import ConfigDict

from harness import Failed, check, fake_requests, serve, text_of

TASKS = "io.modelcontextprotocol/tasks"


class Fake:
    """The fake Gumloop, as a process, with its request log."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--bind", "127.0.0.1:0", "--session-polls", "3"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        api = None
        while api is None:
            line = self.proc.stdout.readline().decode()
            check(line, "fake-gumloop exited at start-up")
            if line.startswith("api "):
                api = line.split()[1]
        self.api = api
        self.origin = api.removesuffix("/api/v1")
        self.ws = f"{self.origin}/ws/api/v1"
        self.seen = 0

    def requests(self):
        return fake_requests(self.origin)

    def new(self):
        """The requests received since the previous call."""
        reqs = self.requests()
        fresh, self.seen = reqs[self.seen :], len(reqs)
        return fresh


class Server:
    """`gumloop-mcp serve` on 127.0.0.1:0 with the fake as its Gumloop."""

    def __init__(self, binary, fake, data_dir):
        env = {"GUMLOOP_API_KEY": "test-key", "GUMLOOP_USER_ID": "user_test"}
        self.proc, addr = serve(binary, fake.origin, data_dir, env)
        self.url = f"http://{addr}/mcp"


# ---- the tasks extension, as a client implements it (mcp 2.3.0 has none built in) ----


class TaskParams(RequestParams):
    task_id: str


class TasksGet(Request[TaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskParams
    name_param = "taskId"


class TasksCancel(Request[TaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskParams
    name_param = "taskId"


class TaskState(Result):
    """A task as `tasks/get` reports it (the result or error inlined once terminal)."""

    model_config = ConfigDict(extra="allow")
    task_id: str
    status: str
    status_message: str | None = None
    poll_interval_ms: int | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class CreatedTask(Result):
    model_config = ConfigDict(extra="allow")
    result_type: Literal["task"]
    task_id: str
    status: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None


class Empty(Result):
    model_config = ConfigDict(extra="allow")


class TasksExtension(ClientExtension):
    """Declares the extension and resolves a task by polling `tasks/get`; remembers what it saw."""

    identifier = TASKS

    def __init__(self):
        self.created: list[CreatedTask] = []
        self.statuses: list[str] = []
        self.cancel_next = False

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, task: CreatedTask, ctx: ClaimContext) -> CallToolResult:
        self.created.append(task)
        session = ctx.session
        if self.cancel_next:
            # Wait for the upstream work to have an id (the status message shows its state), then cancel.
            for _ in range(100):
                s = await session.send_request(TasksGet(params=TaskParams(task_id=task.task_id)), TaskState)
                if "state:" in (s.status_message or ""):
                    break
                await asyncio.sleep(0.1)
            await session.send_request(TasksCancel(params=TaskParams(task_id=task.task_id)), Empty)
        deadline = time.time() + 30
        while True:
            s = await session.send_request(TasksGet(params=TaskParams(task_id=task.task_id)), TaskState)
            if s.status_message and (not self.statuses or self.statuses[-1] != s.status_message):
                self.statuses.append(s.status_message)
            if s.status == "completed":
                return CallToolResult.model_validate(s.result)
            if s.status in ("failed", "cancelled"):
                return CallToolResult(content=[{"type": "text", "text": f"task {s.status}: {s.error or ''}"}], is_error=True)
            check(time.time() < deadline, f"task {task.task_id} still {s.status} after 30 s")
            await asyncio.sleep((s.poll_interval_ms or 500) / 1000 / 4)


# ---- the workflows ----


async def competitor_pricing(c, fake):
    step = "1. competitor pricing"
    flows = (await c.call_tool("list_all_gumloop_flows", {})).structured_content["saved_items"]
    flow = next((f for f in flows if f["name"] == "Competitor Pricing Scraper"), None)
    check(flow, f"{step}: the flow is not listed by name: {[f['name'] for f in flows]}")
    got = await c.call_tool("get_single_gumloop_automation_by_id", {"id": flow["saved_item_id"]})
    schema = got.structured_content.get("inputs_schema") or {}
    check(schema.get("required") == ["target_company"], f"{step}: inputs_schema: {schema}")
    fake.new()
    run = await c.call_tool("create_a_gumloop_flow_run", {"saved_item_id": flow["saved_item_id"], "inputs": {"target_company": "Competitor X"}, "wait": True, "wait_timeout_seconds": 60})
    check(not run.is_error, f"{step}: the run failed: {text_of(run)}")
    check(run.structured_content.get("state") == "DONE", f"{step}: run not DONE: {run.structured_content}")
    starts = [r for r in fake.new() if r["path"].endswith("/start_pipeline")]
    check(len(starts) == 1, f"{step}: expected one start_pipeline, got {starts}")
    arts = await c.call_tool("list_all_gumloop_artifacts", {"agent_id": "agent_1", "search_query": ".csv", "max_items": 100})
    csvs = [a for a in arts.structured_content["artifacts"] if a["filename"].endswith(".csv")]
    check(len(csvs) == len(arts.structured_content["artifacts"]), f"{step}: the .csv filter let other files through")
    mine = next((a for a in csvs if "competitor-x" in a["filename"]), None)
    check(mine, f"{step}: the run's CSV is not among {[a['filename'] for a in csvs]}")
    signed = await c.call_tool("get_single_gumloop_artifact_by_id", {"id": mine["id"]})
    body = signed.structured_content
    check(body.get("download_url", "").startswith("http") and body.get("media_type") == "text/csv", f"{step}: signed URL: {body}")
    links = [b for b in signed.content if b.type == "resource_link"]
    check(len(links) == 1, f"{step}: no resource_link in {signed.content}")
    read = await c.read_resource(links[0].uri)
    text = read.contents[0].text
    check("Competitor X,Pro,49" in text, f"{step}: the bytes read back: {text!r}")
    print(f"ok: {step}: flow found by name, inputs read, run DONE, {len(csvs)} .csv artifact(s), {len(text)} bytes read via resources/read")


async def stuck_session(c, fake):
    step = "2. stuck session"
    sessions = (await c.call_tool("list_all_gumloop_sessions", {"agent_id": "agent_1", "max_items": 100})).structured_content["sessions"]
    stuck = [s for s in sessions if s["id"] == "ses_998"]
    check(stuck and stuck[0]["state"] == "processing", f"{step}: ses_998 is not listed as processing: {stuck}")
    fake.new()
    cancelled = await c.call_tool("delete_a_gumloop_session_by_id", {"id": "ses_998"})
    check(not cancelled.is_error, f"{step}: cancel failed: {text_of(cancelled)}")
    check([r["path"] for r in fake.new()] == ["/api/v1/sessions/ses_998/cancel"], f"{step}: the cancel did not reach Gumloop once")
    now = (await c.call_tool("get_single_gumloop_session_by_id", {"id": "ses_998"})).structured_content["session"]
    check(now["state"] == "failed", f"{step}: ses_998 is {now['state']} after the cancel")
    notes = "# Churn triage\n\n- Look at the last 90 days first.\n- Flag accounts with more than 3 tickets.\n"
    skill = await c.call_tool("create_a_gumloop_skill", {"skill_markdown": notes, "name": "churn-triage", "description": "How to triage churn risk"})
    check(not skill.is_error, f"{step}: skill upload failed: {text_of(skill)}")
    check(skill.structured_content["skill"]["name"] == "churn-triage", f"{step}: skill: {skill.structured_content}")
    uploads = [r for r in fake.new() if r["path"].endswith("/skills")]
    check(len(uploads) == 1 and uploads[0]["method"] == "POST", f"{step}: expected one POST /skills, got {uploads}")
    progress = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    r = await c.call_tool("create_a_gumloop_session", {"agent_id": "agent_1", "input": "Triage churn for last quarter", "wait": True}, progress_callback=on_progress)
    check(not r.is_error, f"{step}: the new session failed: {text_of(r)}")
    check(r.structured_content["session"]["state"] == "completed", f"{step}: the new session ended {r.structured_content['session']['state']}")
    check(len(progress) >= 2, f"{step}: expected progress notifications, got {progress}")
    check(any("processing" in (m or "") for _, _, m in progress), f"{step}: no progress message names the state: {progress}")
    check(all(progress[i][0] <= progress[i + 1][0] for i in range(len(progress) - 1)), f"{step}: progress went backwards: {progress}")
    print(f"ok: {step}: ses_998 cancelled (failed), skill uploaded from notes, new session completed after {len(progress)} progress notifications")


async def bad_flow_inputs(c, fake):
    step = "3. bad flow inputs"
    fake.new()
    r = await c.call_tool("create_a_gumloop_flow_run", {"saved_item_id": "flow_1", "inputs": {"topc": "AI agents"}})
    check(r.is_error, f"{step}: bad inputs were accepted: {r.structured_content}")
    msg = text_of(r)
    for must in ("topc", "did you mean `topic`", "attachment"):
        check(must in msg, f"{step}: the error does not name {must!r}: {msg}")
    sent = fake.new()
    check(not any(q["path"].endswith("/start_pipeline") for q in sent), f"{step}: a run was started: {sent}")
    print(f"ok: {step}: the misspelt and the missing input both named, no start_pipeline")


async def tasks_client(url, fake):
    step = "4. tasks"
    ext = TasksExtension()
    async with Client(url, mode="2026-07-28", extensions=[ext]) as c:
        check(c.protocol_version == "2026-07-28", f"{step}: negotiated {c.protocol_version}")
        r = await c.call_tool("create_a_gumloop_session", {"agent_id": "agent_1", "input": "Summarise the pricing CSV"})
        check(len(ext.created) == 1, f"{step}: the call did not return a task")
        check(not r.is_error, f"{step}: the task failed: {text_of(r)}")
        check(r.structured_content["session"]["state"] == "completed", f"{step}: final record: {r.structured_content}")
        check(any("state: processing" in s for s in ext.statuses), f"{step}: tasks/get never reported the upstream state: {ext.statuses}")
        fake.new()
        ext.cancel_next = True
        r = await c.call_tool("create_a_gumloop_session", {"agent_id": "agent_1", "input": "Never mind"})
        check(len(ext.created) == 2, f"{step}: the second call did not return a task")
        check(r.is_error and "cancelled" in text_of(r), f"{step}: the cancelled task ended {text_of(r)}")
        cancels = [q for q in fake.new() if q["path"].endswith("/cancel")]
        check(len(cancels) == 1, f"{step}: expected one upstream cancel, got {cancels}")
    # An older client on the same server gets the plain result.
    async with Client(url, mode="legacy") as old:
        r = await old.call_tool("create_a_gumloop_session", {"agent_id": "agent_1", "input": "hi"})
        check(r.structured_content and "session" in r.structured_content, f"{step}: legacy client got {r}")
    print(f"ok: {step}: a task polled to completion ({len(ext.statuses)} status messages), another cancelled upstream; a legacy client got a plain result")


def zip_b64(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return base64.b64encode(buf.getvalue()).decode()


async def skill_rejections(c, fake):
    step = "5. skill rejections"
    skill_md = "---\nname: ok\ndescription: fine\n---\n# Body\n"
    cases = [
        ("no frontmatter", {"files": [{"path": "SKILL.md", "content": "# Just notes, no frontmatter\n"}]}, "frontmatter"),
        ("../evil in an archive", {"archive_base64": zip_b64({"SKILL.md": skill_md, "../evil": "x"})}, "../evil"),
        ("over 10 MB", {"files": [{"path": "SKILL.md", "content": skill_md}, {"path": "data.bin", "content_base64": base64.b64encode(os.urandom(10 * 1024 * 1024 + 1)).decode()}]}, "10 MB"),
    ]
    fake.new()
    for label, args, must in cases:
        r = await c.call_tool("create_a_gumloop_skill", args)
        check(r.is_error, f"{step}: {label} was accepted: {r.structured_content}")
        check(must in text_of(r), f"{step}: {label}: the error does not mention {must!r}: {text_of(r)[:300]}")
    sent = fake.new()
    check(not sent, f"{step}: a rejected skill reached Gumloop: {[q['path'] for q in sent]}")
    print(f"ok: {step}: {len(cases)} packages refused before upload, each with its reason")


async def audit_logs(c, fake):
    step = "6. audit logs"
    end = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = end - datetime.timedelta(hours=48)
    fake.new()
    r = await c.call_tool("list_all_gumloop_audit_logs", {
        "organization_id": "org_1", "user_id": "user_test", "start_time": start.isoformat(), "end_time": end.isoformat(), "max_items": 1000,
    })
    check(not r.is_error, f"{step}: {text_of(r)}")
    out = r.structured_content
    pages = [q for q in fake.new() if q["path"].endswith("/get_audit_logs")]
    check(len(out["audit_logs"]) == out["total_count"] == 120, f"{step}: {len(out['audit_logs'])} of {out.get('total_count')} entries")
    check(out["walk"]["complete"] is True and out["walk"]["pages_read"] == len(pages) == out["total_pages"], f"{step}: walk {out['walk']}, {len(pages)} requests, total_pages {out.get('total_pages')}")
    check([dict(q["query"]).get("page", "1") for q in pages] == [str(i) for i in range(1, len(pages) + 1)], f"{step}: pages asked: {[q['query'] for q in pages]}")
    print(f"ok: {step}: {len(out['audit_logs'])} entries over {len(pages)} pages, stopping at total_pages")


async def main(a):
    fake = Fake(a.fake_bin)
    data_dir = a.data_dir or f"/tmp/seed-workflows-{os.getpid()}"
    server = Server(a.server_bin, fake, data_dir)
    try:
        async with Client(server.url, mode="2026-07-28") as c:
            for n, wf in [(1, competitor_pricing), (2, stuck_session), (3, bad_flow_inputs), (5, skill_rejections), (6, audit_logs)]:
                if not a.only or n in a.only:
                    await wf(c, fake)
        if not a.only or 4 in a.only:
            await tasks_client(server.url, fake)
    finally:
        server.proc.terminate()
        fake.proc.terminate()
        server.proc.wait(10)
        fake.proc.wait(10)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-bin", required=True)
    p.add_argument("--fake-bin", required=True)
    p.add_argument("--data-dir", help="the server's data directory (default: a fresh one under /tmp)")
    p.add_argument("--only", type=int, action="append", help="run only workflow N (repeatable)")
    a = p.parse_args()
    try:
        asyncio.run(main(a))
    except Failed as e:
        print(f"FAILED: seed workflow {e}", file=sys.stderr)
        sys.exit(1)
    print("ok: the six seed workflows (python mcp client)")

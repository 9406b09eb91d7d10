"""Elicitation with the official Python MCP client (PyPI `mcp`) and its elicitation
callback, in both protocol eras (a 2025-11-25 session is asked with elicitation/create;
a 2026-07-28 request gets an input-required result that the client answers and retries),
against gumloop-mcp and the fake Gumloop, each checked on the fake's request log.

usage: elicitation.py --server-bin PATH --fake-bin PATH --data-dir DIR

It starts its own fake and its own `gumloop-mcp serve` on 127.0.0.1:0 (the configured key
on /mcp, and a managed server with confirm_destructive), and stops both on exit. In each era:
  1. a flow run missing an input: the person is asked for exactly it; accept runs the flow
     with the answer; decline and cancel send nothing
  2. a wrong-type answer, then a right one: asked again with the problem named, then run;
     two wrong answers: refused, nothing sent
  3. a client without the elicitation capability: today's error, nothing sent
  4. confirm_destructive: cancelling a session asks yes/no naming it; no and cancel send
     nothing, yes sends the cancel; a client that cannot be asked is refused
and, in 2026-07-28, a forged and an altered requestState are refused, nothing sent.
Exits 1 with a FAILED line naming the era and step.
"""

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import urllib.request

from mcp import Client
import mcp_types as types

from harness import Failed, check, fake_requests, serve, text_of

RUN = "create_a_gumloop_flow_run"
MISSING = {"saved_item_id": "flow_pricing", "inputs": {}, "wait": True}
CANCEL = ("delete_a_gumloop_session_by_id", {"id": "ses_998"})


class Fake:
    """The fake Gumloop, as a process, with its request log."""

    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        api = None
        while api is None:
            line = self.proc.stdout.readline().decode()
            check(line, "fake-gumloop exited at start-up")
            if line.startswith("api "):
                api = line.split()[1]
        self.origin = api.removesuffix("/api/v1")
        self.seen = 0

    def new(self):
        """The requests received since the previous call."""
        reqs = fake_requests(self.origin)
        fresh, self.seen = reqs[self.seen :], len(reqs)
        return fresh


class Person:
    """An elicitation callback that gives the next scripted answer and keeps each question."""

    def __init__(self, *answers):
        self.answers, self.asked = list(answers), []

    async def __call__(self, context, params):
        self.asked.append(params)
        check(self.answers, f"asked more often than expected: {[p.message for p in self.asked]}")
        action, content = self.answers.pop(0)
        return types.ElicitResult(action=action, content=content)


def starts(reqs):
    return [r["json"] for r in reqs if r["path"].endswith("/start_pipeline")]


async def call(url, mode, person, name, args, **kw):
    async with Client(url, mode=mode, cache=None, elicitation_callback=person) as c:
        return await c.call_tool(name, args, **kw)


async def flow_run(url, mode, fake):
    step = f"{mode}: 1. missing input"
    fake.new()
    person = Person(("accept", {"target_company": "Acme"}))
    r = await call(url, mode, person, RUN, MISSING)
    check(not r.is_error and r.structured_content["state"] == "DONE", f"{step}: the run did not finish: {text_of(r)}")
    check(len(person.asked) == 1, f"{step}: asked {len(person.asked)} times")
    schema = person.asked[0].requested_schema
    check(schema["required"] == ["target_company"] and list(schema["properties"]) == ["target_company"], f"{step}: asked for {schema}")
    check(schema["properties"]["target_company"]["type"] == "string", f"{step}: the input's type: {schema}")
    sent = starts(fake.new())
    check(len(sent) == 1 and sent[0]["pipeline_inputs"] == [{"input_name": "target_company", "value": "Acme"}], f"{step}: the run sent {sent}")
    for action in ("decline", "cancel"):
        r = await call(url, mode, Person((action, None)), RUN, MISSING)
        said = "declined" if action == "decline" else "cancelled"
        check(r.is_error and said in text_of(r) and "nothing was sent" in text_of(r), f"{step}: {action}: {text_of(r)}")
    check(starts(fake.new()) == [], f"{step}: decline or cancel started a run")
    print(f"ok: {step}: asked for exactly target_company; accept ran with it, decline and cancel sent nothing")


async def wrong_answers(url, mode, fake):
    step = f"{mode}: 2. wrong answers"
    fake.new()
    person = Person(("accept", {"target_company": 42}), ("accept", {"target_company": "Acme"}))
    r = await call(url, mode, person, RUN, MISSING)
    check(not r.is_error, f"{step}: right the second time, yet: {text_of(r)}")
    check(len(person.asked) == 2 and "/target_company: must be text (a string), got a number" in person.asked[1].message, f"{step}: the second question: {[p.message for p in person.asked]}")
    check(len(starts(fake.new())) == 1, f"{step}: one run after the right answer")
    person = Person(("accept", {}), ("accept", {"target_company": False}))
    r = await call(url, mode, person, RUN, MISSING)
    check(r.is_error and "still wrong" in text_of(r) and "nothing was sent" in text_of(r), f"{step}: wrong twice: {text_of(r)}")
    check(len(person.asked) == 2, f"{step}: asked {len(person.asked)} times, not twice")
    check(starts(fake.new()) == [], f"{step}: wrong answers started a run")
    print(f"ok: {step}: asked again once naming the problem, then ran; wrong twice refused, nothing sent")


async def no_capability(url, mode, fake):
    step = f"{mode}: 3. no capability"
    fake.new()
    async with Client(url, mode=mode, cache=None) as c:
        r = await c.call_tool(RUN, MISSING)
    check(r.is_error and "/inputs/target_company: missing" in text_of(r), f"{step}: {text_of(r)}")
    check(starts(fake.new()) == [], f"{step}: a run started")
    print(f"ok: {step}: today's error, nothing sent")


async def confirm(managed_url, mode, fake):
    step = f"{mode}: 4. confirm_destructive"
    fake.new()
    name, args = CANCEL
    for answer in (("accept", {"confirm": False}), ("decline", None), ("cancel", None)):
        person = Person(answer)
        r = await call(managed_url, mode, person, name, args)
        check(r.is_error and "nothing was sent" in text_of(r), f"{step}: {answer}: {text_of(r)}")
        check("Cancel session on id ses_998" in person.asked[0].message, f"{step}: the question: {person.asked[0].message}")
    check(fake.new() == [], f"{step}: a refusal reached Gumloop")
    async with Client(managed_url, mode=mode, cache=None) as c:
        r = await c.call_tool(name, args)
    check(r.is_error and "confirmation" in text_of(r) and "confirm_destructive off" in text_of(r), f"{step}: no capability: {text_of(r)}")
    check(fake.new() == [], f"{step}: the unasked call reached Gumloop")
    r = await call(managed_url, mode, Person(("accept", {"confirm": True})), name, args)
    check(not r.is_error, f"{step}: yes: {text_of(r)}")
    check([q["path"] for q in fake.new()] == ["/api/v1/sessions/ses_998/cancel"], f"{step}: yes did not send the cancel once")
    print(f"ok: {step}: no, decline, cancel and an unaskable client sent nothing; yes sent the cancel")


async def forged_state(url, fake):
    step = "2026-07-28: 5. request state"
    fake.new()
    answer = {"inputs": {"action": "accept", "content": {"target_company": "Acme"}}}
    async with Client(url, mode="2026-07-28", cache=None, elicitation_callback=Person()) as c:
        # A genuine state, as the first round returns it, then altered by one character.
        first = await c.session.call_tool(RUN, MISSING, allow_input_required=True)
        state = first.request_state
        check(state and first.input_requests and "inputs" in first.input_requests, f"{step}: the first round: {first}")
        # Not the last character: its low bits may be padding that decodes the same.
        i = next(i for i in range(len(state) // 2, len(state)) if state[i] != ".")
        altered = state[:i] + ("A" if state[i] != "A" else "B") + state[i + 1 :]
        other_args = dict(MISSING, wait=False)
        for name, args, st in (("forged", MISSING, "rs1.forged.state"), ("altered", MISSING, altered), ("other arguments", other_args, state)):
            r = await c.call_tool(RUN, args, input_responses=answer, request_state=st)
            check(r.is_error and text_of(r).startswith("refused the answer"), f"{step}: {name}: {text_of(r)}")
        check(starts(fake.new()) == [], f"{step}: a refused state started a run")
        r = await c.call_tool(RUN, MISSING, input_responses=answer, request_state=state)
        check(not r.is_error, f"{step}: the genuine state: {text_of(r)}")
        check(len(starts(fake.new())) == 1, f"{step}: the genuine state did not run once")
    print(f"ok: {step}: forged, altered and moved states refused with nothing sent; the genuine one ran")


def admin_token(proc):
    out = b""
    while select.select([proc.stdout], [], [], 0.5)[0]:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        out += chunk
    lines = out.decode().strip().splitlines()
    check(lines and lines[-1].startswith("gmat_"), f"the first start printed no admin token: {out!r}")
    return lines[-1]


def admin(base, token, method, path, body):
    req = urllib.request.Request(f"{base}{path}", method=method, data=json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


async def main(args):
    fake = Fake(args.fake_bin)
    proc = None
    try:
        env = {"GUMLOOP_API_KEY": "test-key", "GUMLOOP_USER_ID": "user_test"}
        proc, addr = serve(args.server_bin, fake.origin, args.data_dir, env)
        base = f"http://{addr}"
        token = admin_token(proc)
        acct = admin(base, token, "POST", "/integrated-account", {"name": "ops", "gumloop": {"api_key": "test-key", "user_id": "user_test"}})
        managed = admin(base, token, "POST", f"/integrated-account/{acct['id']}/mcp", {"name": "careful", "config": {"confirm_destructive": True}})
        check(managed["config"]["confirm_destructive"] is True, f"the admin API did not keep confirm_destructive: {managed}")
        url = f"{base}/mcp"
        for mode in ("legacy", "2026-07-28"):
            await flow_run(url, mode, fake)
            await wrong_answers(url, mode, fake)
            await no_capability(url, mode, fake)
            await confirm(managed["url"], mode, fake)
        await forged_state(url, fake)
    finally:
        for p in (proc, fake.proc):
            if p:
                p.terminate()
                p.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-bin", required=True)
    parser.add_argument("--fake-bin", required=True)
    parser.add_argument("--data-dir", required=True)
    try:
        asyncio.run(main(parser.parse_args()))
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)

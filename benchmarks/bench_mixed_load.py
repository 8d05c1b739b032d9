"""Mixed traffic held at a stated rate: record views, searches, board refreshes, task updates, FHIR reads
and MLLP messages, all at once against one ``joinedup serve`` and one ``joinedup listen mllp``.

    .venv/bin/python benchmarks/bench_mixed_load.py --people 20000 --rate 6 --mllp-rate 1.5 --duration 600
    .venv/bin/python benchmarks/bench_mixed_load.py --people 20000 --rate 3 --mllp-rate 0.75 --find-degradation

The home is the one ``bench_web_load.py`` seeds (the synthetic borough, ingested and linked, GP users,
coordinators and a caseload on pathways; kept under ``--home`` and reused). The centre goes live from
the end of the loaded history (``go_live_from_now``, as the demo does), so the live jobs beside the
server act on the load's own ADT messages. Each run adds what it consumes: open tasks on the centre's
queue for the coordinators to complete, and new TOTP secrets for the users (staff sign in with a
code). The server and the listener get throttles far above the load (``LOAD_RATE_LIMITS``): every
load user comes from the one loopback address.

The HTTP traffic is ``wrk`` (``apt-get install -y wrk``), one process per kind of request, each at its
share (``MIX``) of ``--rate`` requests/s. wrk has no constant-rate mode, so the Lua script paces it: every
answer claims the next slot of a fixed schedule, so the offered rate stays constant whatever the latency
(up to the connections open; a request that could not start on time is counted ``late``). Kinds:

- ``record_view``: GPs open the record page of a patient of their practice (cookie session);
- ``search``: GPs trace a patient, half by NHS number, half by family name and birth date (POST + CSRF);
- ``board``: coordinators refresh the board: one in five loads the page, the rest are htmx polling its
  rows (``/coordination/board-rows`` with ``HX-Request``), as an open board does every 5 s;
- ``task_update``: coordinators complete tasks on the centre's queue (POST + CSRF; each task once);
- ``fhir_read``: a GP's API client reads Patient, Encounter and Condition resources (bearer token).

Alongside, a sender streams ADT A04/A03 pairs (A&E arrivals and departures of known hospital patients,
shaped from the synthetic PAS's own messages) over MLLP at ``--mllp-rate`` messages/s, one at a time,
each waiting for its ACK (sent by the listener after the commit).

Recorded: per kind p50/p95/p99 and the rate achieved; errors (any answer that is not 2xx/3xx, socket
errors, timeouts, MLLP ACKs other than AA); the RSS of the server and the listener every 5 s (memory is
flat when the mean of the last minute is within 10 % of the first minute's); afterwards, every ACKed
message in ``feed_message`` and its visit in ``encounter`` (none lost), and every task the server
answered 303 for closed in the store; and the CPU time the server spent per request (a figure the other
jobs on a shared machine do not inflate as they do latency).

``--find-degradation`` raises the rate step by step (``--step-factor``, the MLLP rate in proportion) and
reports two points: the last rate at which every p95 is within its budget (``BUDGETS_MS``, judged for
kinds with at least ``MIN_JUDGED`` answers in the step) with no error, where it first degrades; and the
last rate before saturation, where it stops at the first step with an error, a lost message, an offer
not kept up with (under 90 % of the HTTP rate achieved, over 10 % of MLLP messages late) or a p95 over
``SATURATED_P95_MS``. Prints ONE JSON object last, for ``benchmarks/suite.py`` and the CI test
(``tests/reliability/test_mixed_load.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from bench_web_load import (
    LOAD_RATE_LIMITS,
    PASSWORD,
    SignedIn,
    enrol_authenticators,
    free_port,
    log,
    lua_cases,
    names_to_trace,
    requests_for,
    seed_home,
    sign_in,
    start_server,
    wrk_result,
)
from sqlalchemy import func, select

from joinedup.coordination import CENTRE_TEAM_ID
from joinedup.coordination.outbox import go_live_from_now
from joinedup.coordination.schemas import TaskCreate
from joinedup.coordination.tasks import create_task
from joinedup.feeds import frame
from joinedup.governance.totp import totp_code
from joinedup.governance.users import load_actor_by_username
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables.coordination import CaseloadEntry, Task
from joinedup.store.tables.feeds import FeedMessage
from joinedup.store.tables.record import Encounter

# Each kind's share of --rate (requests/s): mostly reading, as a working day is.
MIX = {"record_view": 0.30, "search": 0.10, "board": 0.30, "task_update": 0.10, "fhir_read": 0.20}
# p95 budgets (ms): the record page, board and search targets of issues 9 and 11; the others alike.
BUDGETS_MS = {"record_view": 150.0, "search": 200.0, "board": 300.0, "task_update": 300.0,
              "fhir_read": 200.0, "mllp_ack": 500.0}
MEMORY_GROWTH_ALLOWED = 0.10
# A p95 of fewer answers than this is the slowest one or two: reported, not judged against its budget.
MIN_JUDGED = 20
# Past this p95 (ms) a person is left waiting: the step search counts the server as saturated.
SATURATED_P95_MS = 2000.0
RSS_EVERY_SECONDS = 5.0
KEEP_ALIVE_SECONDS = 5.0  # uvicorn's default timeout_keep_alive
# The lowest rate at which every kind's one connection still speaks within the keep-alive timeout.
LOWEST_RATE = 1 / (min(MIX.values()) * KEEP_ALIVE_SECONDS * 0.8)
HL7_SOURCE = "hospital-pas"

PACED_SCRIPT = r"""
-- One kind of request at a constant offered rate (BENCH_RATE per second) over the connections wrk
-- opens: each answer claims the next slot of a fixed schedule, so a slow answer does not slow the
-- offer (until every connection is busy: a request that starts a whole interval late counts as late).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local cases = dofile(os.getenv("BENCH_CASES"))
local interval = 1000 / tonumber(os.getenv("BENCH_RATE"))
local once = os.getenv("BENCH_ONCE") == "1"  -- each case once, in order (a task is completed once)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  flat = {}
  for _, list in ipairs(cases) do
    for _, case in ipairs(list) do table.insert(flat, case) end
  end
  math.randomseed(os.time())
  following, slot, late, exhausted, ok, bad, last_bad = 1, nil, 0, 0, 0, 0, 0
end

function request()
  local case
  if once then
    case = flat[following]
    if case == nil then
      exhausted = exhausted + 1
      case = flat[#flat]
    else
      following = following + 1
    end
  else
    case = flat[math.random(#flat)]
  end
  return wrk.format(case.method, case.path, case.headers, case.body)
end

function delay()
  local now = now_ms()
  if slot == nil then slot = now + math.random() * interval end
  local wait = slot - now
  if wait < -interval then late = late + 1 end
  if wait < 0 then
    slot, wait = now, 0  -- no burst to catch up: the offer stays at the rate
  end
  slot = slot + interval
  return math.floor(wait)
end

function response(status, headers, body)
  if status >= 200 and status < 400 then
    ok = ok + 1
  else
    bad, last_bad = bad + 1, status
  end
end

function done(summary, latency, requests)
  local sums = {late = 0, exhausted = 0, ok = 0, bad = 0, last_bad = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(sums) do
      if key == "last_bad" then
        sums[key] = math.max(sums[key], thread:get(key))
      else
        sums[key] = sums[key] + thread:get(key)
      end
    end
  end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "duration_s": %.3f, "p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, ' ..
    '"max_ms": %.1f, "mean_ms": %.1f, "answered_ok": %d, "non_ok": %d, "last_bad_status": %d, ' ..
    '"socket_errors": %d, "timeouts": %d, "late": %d, "exhausted": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, sums.ok, sums.bad, sums.last_bad,
    e.connect + e.read + e.write, e.timeout, sums.late, sums.exhausted))
  io.flush()
end
"""


# --- what each run prepares -----------------------------------------------------------------------


def open_centre_from_now(home: Path) -> None:
    """Start the centre's outbox cursor at the newest event, as the demo does for a centre that opens on
    years of loaded history (``go_live_from_now``): the live jobs beside the server then act on the load's
    own ADT messages, not on a backlog of two years being worked through under the load."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        passed = go_live_from_now(session)
    engine.dispose()
    if passed:
        log(f"the centre went live after outbox event {passed}")


def raise_load_tasks(home: Path, coordinator: str, count: int) -> list[int]:
    """Put ``count`` open call-back tasks on the centre's queue, for people on its caseload."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    with make_session_factory(engine)() as session:
        actor = load_actor_by_username(session, coordinator)
        people = session.scalars(
            select(CaseloadEntry.person_id).where(CaseloadEntry.ended_at.is_(None)).distinct()
            .order_by(CaseloadEntry.person_id)
        ).all()
        due = datetime.now(UTC) + timedelta(days=2)
        task_ids = [
            create_task(session, actor=actor, request=TaskCreate(
                person_id=people[n % len(people)], title="Call back after the practice's review",
                queue_team_id=CENTRE_TEAM_ID, due_at=due)).task_id
            for n in range(count)
        ]
    engine.dispose()
    return task_ids


def closed_tasks(home: Path, task_ids: list[int]) -> int:
    """How many of these tasks the store holds as done."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    with make_session_factory(engine)() as session:
        done = sum(
            session.scalar(select(func.count()).select_from(Task).where(
                Task.task_id.in_(task_ids[start:start + 500]), Task.completed_at.is_not(None))) or 0
            for start in range(0, len(task_ids), 500)
        )
    engine.dispose()
    return done


def adt_templates(home: Path, wanted: int = 200) -> list[tuple[str, str]]:
    """A04 + A03 pairs of A&E attendances from the synthetic PAS's files that the store accepted."""
    pairs: dict[str, dict[str, str]] = {}
    for path in sorted((home / "feeds" / HL7_SOURCE).glob("adt-*.hl7"), reverse=True):
        for message in path.read_bytes().decode().split("\n"):  # segments end in CR: no newline translation
            segments = message.strip("\n").split("\r")
            if not segments[0].startswith("MSH|"):
                continue
            event = segments[0].split("|")[8].split("^")[1] if "^" in segments[0].split("|")[8] else ""
            pv1 = next((s.split("|") for s in segments if s.startswith("PV1|")), None)
            if event in ("A04", "A03") and pv1 is not None and len(pv1) > 19 and pv1[2] == "E":
                pairs.setdefault(pv1[19], {})[event] = message.strip("\n")
        if sum(len(p) == 2 for p in pairs.values()) >= wanted * 2:
            break
    complete = [(p["A04"], p["A03"]) for p in pairs.values() if len(p) == 2]
    return _accepted(home, complete)[:wanted]


def _control_id(message: str) -> str:
    return message.split("\r", 1)[0].split("|")[9]


def _accepted(home: Path, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Only pairs whose both messages the store accepted (no fault injected in them)."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    wanted = [_control_id(m) for pair in pairs for m in pair]
    with engine.connect() as connection:
        accepted: set[str] = set()
        for start in range(0, len(wanted), 500):
            accepted |= set(connection.execute(
                select(FeedMessage.source_message_id).where(
                    FeedMessage.source == HL7_SOURCE, FeedMessage.status == "accepted",
                    FeedMessage.source_message_id.in_(wanted[start:start + 500]))
            ).scalars())
    engine.dispose()
    return [pair for pair in pairs if _control_id(pair[0]) in accepted and _control_id(pair[1]) in accepted]


def _with_fields(segment: str, values: dict[int, str]) -> str:
    fields = segment.split("|")
    offset = 1 if fields[0] == "MSH" else 0  # MSH-1 is the separator itself
    for number, value in values.items():
        index = number - offset
        fields += [""] * (index + 1 - len(fields))
        fields[index] = value
    return "|".join(fields)


def adt_message(template: str, *, control_id: str, visit_id: str, arrived: datetime, left: datetime | None) -> str:
    """The template with a new control id, a new visit and today's times (the patient stays)."""
    stamp = (left or arrived).strftime("%Y%m%d%H%M%S")
    out = []
    for segment in template.split("\r"):
        if segment.startswith("MSH|"):
            segment = _with_fields(segment, {7: stamp, 10: control_id})
        elif segment.startswith("EVN|"):
            segment = _with_fields(segment, {2: stamp})
        elif segment.startswith("PV1|"):
            times = {44: arrived.strftime("%Y%m%d%H%M%S")}
            if left is not None:
                times[45] = left.strftime("%Y%m%d%H%M%S")
            segment = _with_fields(segment, {19: visit_id, **times})
        out.append(segment)
    return "\r".join(out)


# --- the MLLP sender and the memory sampler -------------------------------------------------------


@dataclass
class MllpFigures:
    """What the sender saw: messages sent, ACK codes, ACK latencies, the ids ACKed AA."""

    sent: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    ack_ms: list[float] = field(default_factory=list)
    socket_errors: int = 0
    mismatched: int = 0
    late: int = 0
    acked_ids: list[str] = field(default_factory=list)
    visit_ids: set[str] = field(default_factory=set)


class MllpSender(threading.Thread):
    """Streams A04/A03 pairs at ``rate`` messages/s on one connection, each waiting for its ACK."""

    def __init__(self, port: int, templates: list[tuple[str, str]], rate: float, seconds: float, run: str) -> None:
        super().__init__(daemon=True)
        self.port, self.templates, self.rate, self.seconds, self.run_id = port, templates, rate, seconds, run
        self.figures = MllpFigures()

    def run(self) -> None:
        interval = 1.0 / self.rate
        started = time.monotonic()
        sock: socket.socket | None = None
        for n in range(int(self.seconds * self.rate)):
            slot = started + n * interval
            wait = slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif wait < -interval:
                self.figures.late += 1
            self.figures.sent += 1  # sent or not, a message without an AA is an error
            try:
                sock = sock or socket.create_connection(("127.0.0.1", self.port), timeout=10)
                self._exchange(sock, n)
            except OSError:
                self.figures.socket_errors += 1
                if sock is not None:
                    sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def _exchange(self, sock: socket.socket, n: int) -> None:
        pair, arrival = divmod(n, 2)
        a04, a03 = self.templates[pair % len(self.templates)]
        visit = f"LV{self.run_id}{pair:06d}"
        control = f"LD{self.run_id}{n:07d}"
        now = datetime.now(UTC).replace(tzinfo=None)
        message = (adt_message(a03, control_id=control, visit_id=visit, arrived=now - timedelta(hours=2), left=now)
                   if arrival else adt_message(a04, control_id=control, visit_id=visit, arrived=now, left=None))
        began = time.perf_counter()
        sock.sendall(frame(message.encode()))
        buffer = b""
        while b"\x1c\r" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the listener closed the connection")
            buffer += chunk
        self.figures.ack_ms.append((time.perf_counter() - began) * 1000)
        segments = buffer.split(b"\x1c\r", 1)[0].lstrip(b"\x0b").decode().split("\r")
        msa = next(s for s in segments if s.startswith("MSA|")).split("|")
        self.figures.codes[msa[1]] += 1
        if msa[2] != control:
            self.figures.mismatched += 1
        elif msa[1] == "AA":
            self.figures.acked_ids.append(control)
            self.figures.visit_ids.add(visit)


class MemorySampler(threading.Thread):
    """RSS (MiB) of the server and the listener, and the load average, every ``RSS_EVERY_SECONDS``."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.samples: list[dict[str, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        while not self.stopped.is_set():
            sample = {"t": time.monotonic() - started, "load": os.getloadavg()[0]}
            sample.update({name: _rss_mib(pid) for name, pid in self.pids.items()})
            self.samples.append(sample)
            self.stopped.wait(RSS_EVERY_SECONDS)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory_figures(samples: list[dict[str, float]], name: str) -> dict[str, Any]:
    """Mean RSS of the first and last minute (a quarter of the run if shorter) and the growth between."""
    end = samples[-1]["t"]
    window = min(60.0, end / 4) if end > 0 else 0.0
    first = [s[name] for s in samples if s["t"] <= window] or [samples[0][name]]
    last = [s[name] for s in samples if s["t"] >= end - window] or [samples[-1][name]]
    first_mib, last_mib = sum(first) / len(first), sum(last) / len(last)
    growth = (last_mib - first_mib) / first_mib if first_mib else 0.0
    return {f"{name}_rss_first_mib": round(first_mib, 1), f"{name}_rss_last_mib": round(last_mib, 1),
            f"{name}_rss_max_mib": round(max(s[name] for s in samples), 1),
            f"{name}_rss_growth_pct": round(growth * 100, 1)}


# --- the traffic ----------------------------------------------------------------------------------


@dataclass
class Traffic:
    """Everything the load sends: per kind, per user, the requests; the tasks; the ADT templates."""

    plan: dict[str, list[list[dict[str, Any]]]]
    coordinators: list[SignedIn]
    templates: list[tuple[str, str]]


def fhir_token(base: str, username: str, totp_secret: str) -> str:
    """A bearer token for a GP's API client (password grant with the authenticator's code)."""
    answer = httpx.post(f"{base}/auth/token", timeout=60, data={
        "username": username, "password": PASSWORD, "totp": totp_code(totp_secret), "scope": "user/*.read"})
    if answer.status_code != 200:
        raise SystemExit(f"no token for {username}: {answer.status_code} {answer.text[:200]}")
    token: str = answer.json()["access_token"]
    return token


def build_traffic(base: str, home: Path, seeded: dict[str, Any], args: argparse.Namespace) -> Traffic:
    """Sign everyone in (form + TOTP, or token for the API clients) and lay out their requests."""
    gps = [u for u in seeded["users"] if u["kind"] == "gp"]
    coordinators = [u["username"] for u in seeded["users"] if u["kind"] == "coordinator"][:args.coordinators]
    clients = gps[args.gps + args.searchers:args.gps + args.searchers + args.api_clients]
    web_users = [u["username"] for u in gps[:args.gps + args.searchers]] + coordinators
    secrets = enrol_authenticators(home, web_users + [u["username"] for u in clients])
    log(f"signing in {len(web_users)} users and {len(clients)} API clients")
    signed = {name: sign_in(base, name, secrets[name]) for name in web_users}
    plan = requests_for(signed, seeded, names_to_trace(home, seeded), gps=args.gps,
                        coordinators=len(coordinators), searchers=args.searchers)
    plan["record_view"] = plan.pop("record_page")
    for refreshes, name in zip(plan["board"], coordinators, strict=True):  # the page, then 4 polls of its rows
        refreshes += [{"method": "GET", "path": "/coordination/board-rows",
                       "headers": {"Cookie": signed[name].cookie, "HX-Request": "true"}}] * 4
    plan["fhir_read"] = []
    for client in clients:
        headers = {"Authorization": f"Bearer {fhir_token(base, client['username'], secrets[client['username']])}"}
        reads = []
        for person_id in client["person_ids"]:
            reads += [{"method": "GET", "path": f"/fhir/Patient/{person_id}", "headers": headers},
                      {"method": "GET", "path": f"/fhir/Encounter?{urlencode({'patient': person_id})}",
                       "headers": headers},
                      {"method": "GET", "path": f"/fhir/Condition?{urlencode({'patient': person_id})}",
                       "headers": headers}]
        plan["fhir_read"].append(reads)
    missing = [kind for kind in MIX if kind != "task_update" and not any(plan.get(kind, []))]
    if missing:
        raise SystemExit(f"the home has too few users for {', '.join(missing)}: seed it with more (a new --home)")
    templates = adt_templates(home)
    if not templates:
        raise SystemExit("no accepted A&E attendance in the home's PAS feed to shape ADT messages from")
    return Traffic(plan, [signed[name] for name in coordinators], templates)


def task_requests(traffic: Traffic, task_ids: list[int]) -> list[list[dict[str, Any]]]:
    """Completing each task once, by the coordinators in turn (one list: the Lua script goes in order)."""
    requests = []
    for n, task_id in enumerate(task_ids):
        who = traffic.coordinators[n % len(traffic.coordinators)]
        requests.append({"method": "POST", "path": f"/coordination/tasks/{task_id}/complete",
                         "body": urlencode({"outcome": "Spoke to the patient; no change needed",
                                            "back": "/coordination/queue"}),
                         "headers": {"Cookie": who.cookie, "X-CSRF-Token": who.csrf,
                                     "Content-Type": "application/x-www-form-urlencoded"}})
    return [requests]


def connections_for(rate: float) -> int:
    """Enough connections that a second-long answer does not hold the offer back, but no more than
    keeps each one busier than the server's keep-alive timeout (uvicorn closes a connection idle for
    5 s, which wrk would count as a read error)."""
    return max(1, min(64, math.ceil(rate * 1.5) + 1, math.floor(rate * KEEP_ALIVE_SECONDS * 0.8)))


def run_paced_wrk(base: str, kind: str, cases: list[list[dict[str, Any]]], *, rate: float, seconds: float,
                  work: Path) -> subprocess.Popen[str]:
    """One ``wrk`` for one kind at ``rate`` requests/s."""
    cases_path = work / f"{kind}.lua"
    cases_path.write_text(lua_cases(cases))
    script = work / "paced.lua"
    if not script.exists():
        script.write_text(PACED_SCRIPT)
    command = ["wrk", "-t", "1", "-c", str(connections_for(rate)), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(script), base]
    env = {**os.environ, "BENCH_CASES": str(cases_path), "BENCH_RATE": f"{rate:.4f}",
           "BENCH_ONCE": "1" if kind == "task_update" else "0"}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@dataclass
class Phase:
    """One stretch of load at one rate: the figures per kind, the MLLP sender's, memory, the checks."""

    rate: float
    mllp_rate: float
    seconds: float
    kinds: dict[str, dict[str, Any]]
    mllp: MllpFigures
    samples: list[dict[str, float]]
    tasks_answered: int = 0
    tasks_closed: int = 0
    mllp_stored: int = 0
    visits_stored: int = 0
    cpu_used: dict[str, float] = field(default_factory=dict)


def run_phase(base: str, home: Path, traffic: Traffic, *, rate: float, mllp_rate: float, seconds: float,
              listener_port: int, pids: dict[str, int], work: Path) -> Phase:
    """Drive every kind at its share of ``rate`` and the MLLP sender at ``mllp_rate`` for ``seconds``."""
    task_rate = rate * MIX["task_update"]
    task_ids = raise_load_tasks(home, traffic.coordinators[0].username, math.ceil(task_rate * seconds * 1.3) + 5)
    plan = {**traffic.plan, "task_update": task_requests(traffic, task_ids)}
    run_id = f"{int(time.time()) % 10**6:06d}{random.randrange(100):02d}"
    sampler = MemorySampler(pids)
    sender = MllpSender(listener_port, traffic.templates, mllp_rate, seconds, run_id)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    sampler.start()
    sender.start()
    running = {kind: run_paced_wrk(base, kind, plan[kind], rate=rate * share, seconds=seconds, work=work)
               for kind, share in MIX.items()}
    kinds = {kind: wrk_result(process, kind) for kind, process in running.items()}
    sender.join(seconds + 60)
    sampler.stopped.set()
    sampler.join()
    phase = Phase(rate, mllp_rate, seconds, kinds, sender.figures, sampler.samples)
    phase.cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    phase.tasks_answered = kinds["task_update"]["answered_ok"]
    phase.tasks_closed = closed_tasks(home, task_ids)
    phase.mllp_stored, phase.visits_stored = stored_messages(home, sender.figures)
    return phase


def stored_messages(home: Path, figures: MllpFigures) -> tuple[int, int]:
    """How many ACKed messages the store holds, and how many of their visits are encounters."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    acked, visits = figures.acked_ids, sorted(figures.visit_ids)
    with engine.connect() as connection:
        stored = sum(connection.execute(select(func.count()).select_from(FeedMessage).where(
            FeedMessage.source == HL7_SOURCE, FeedMessage.status == "accepted",
            FeedMessage.source_message_id.in_(acked[start:start + 500]))).scalar_one()
            for start in range(0, len(acked), 500))
        encounters = sum(connection.execute(select(func.count(func.distinct(Encounter.source_record_id))).where(
            Encounter.source == HL7_SOURCE, Encounter.source_record_id.in_(visits[start:start + 500]))).scalar_one()
            for start in range(0, len(visits), 500))
    engine.dispose()
    return int(stored), int(encounters)


# --- judging and reporting ------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def summarise(phase: Phase) -> dict[str, Any]:
    """The phase's figures as one flat dict, and whether it met every budget with no error."""
    out: dict[str, Any] = {"rate": round(phase.rate, 2), "mllp_rate": round(phase.mllp_rate, 2),
                           "seconds": phase.seconds}
    http_errors, problems, over_budget = 0, [], []
    achieved_total = 0.0
    for kind, figures in phase.kinds.items():
        errors = figures["non_ok"] + figures["socket_errors"] + figures["timeouts"] + figures["exhausted"]
        http_errors += errors
        achieved = figures["requests"] / figures["duration_s"] if figures["duration_s"] else 0.0
        achieved_total += achieved
        out.update({f"{kind}_offered_per_s": round(phase.rate * MIX[kind], 3),
                    f"{kind}_p50_ms": figures["p50_ms"], f"{kind}_p95_ms": figures["p95_ms"],
                    f"{kind}_p99_ms": figures["p99_ms"], f"{kind}_requests": figures["requests"],
                    f"{kind}_per_s": round(achieved, 2), f"{kind}_errors": errors, f"{kind}_late": figures["late"]})
        if errors:
            problems.append(f"{kind}: {errors} errors (last status {figures['last_bad_status']})")
        if figures["p95_ms"] > BUDGETS_MS[kind] and figures["requests"] >= MIN_JUDGED:
            over_budget.append(f"{kind}: p95 {figures['p95_ms']} ms over {BUDGETS_MS[kind]:.0f}")
        if figures["p95_ms"] > SATURATED_P95_MS and figures["requests"] >= MIN_JUDGED:
            problems.append(f"{kind}: p95 {figures['p95_ms']} ms, over {SATURATED_P95_MS:.0f}: saturated")
    mllp = phase.mllp
    mllp_errors = mllp.sent - mllp.codes["AA"] + mllp.mismatched
    lost = len(mllp.acked_ids) - phase.mllp_stored + len(mllp.visit_ids) - phase.visits_stored
    out.update({"http_per_s": round(achieved_total, 2), "http_errors": http_errors,
                "mllp_sent": mllp.sent, "mllp_acked_aa": mllp.codes["AA"], "mllp_errors": mllp_errors,
                "mllp_ack_p50_ms": round(percentile(mllp.ack_ms, 50), 1),
                "mllp_ack_p95_ms": round(percentile(mllp.ack_ms, 95), 1),
                "mllp_ack_p99_ms": round(percentile(mllp.ack_ms, 99), 1),
                "mllp_stored": phase.mllp_stored, "mllp_lost": lost, "mllp_late": mllp.late,
                "tasks_answered": phase.tasks_answered, "tasks_closed": phase.tasks_closed})
    if mllp_errors:
        problems.append(f"mllp: {mllp_errors} errors {dict(mllp.codes)}")
    if lost:
        problems.append(f"mllp: {lost} ACKed messages or visits missing from the store")
    if out["mllp_ack_p95_ms"] > BUDGETS_MS["mllp_ack"] and len(mllp.ack_ms) >= MIN_JUDGED:
        over_budget.append(f"mllp: ACK p95 {out['mllp_ack_p95_ms']} ms over {BUDGETS_MS['mllp_ack']:.0f}")
    if mllp.late > 0.1 * mllp.sent:
        problems.append(f"mllp: {mllp.late} of {mllp.sent} messages sent late: the ACKs do not keep up")
    # A completion still in flight when wrk stops is closed in the store but never counted as answered.
    in_flight = connections_for(phase.rate * MIX["task_update"])
    if not phase.tasks_answered <= phase.tasks_closed <= phase.tasks_answered + in_flight:
        problems.append(f"tasks: {phase.tasks_answered} answered done but {phase.tasks_closed} closed in the store")
    if achieved_total < 0.9 * phase.rate:
        problems.append(f"offered {phase.rate:.1f}/s but achieved {achieved_total:.1f}/s")
    for name in ("server", "listener"):
        out.update(memory_figures(phase.samples, name))
    out["load_average"] = round(sum(s["load"] for s in phase.samples) / len(phase.samples), 2)
    requests = sum(figures["requests"] for figures in phase.kinds.values())
    out["server_cpu_ms_per_request"] = round(1000 * phase.cpu_used["server"] / requests, 1) if requests else None
    out["listener_cpu_ms_per_message"] = (
        round(1000 * phase.cpu_used["listener"] / mllp.sent, 1) if mllp.sent else None)
    out["errors"] = http_errors + mllp_errors + lost
    out["failures"] = problems  # errors, losses, the offer not kept up with: the server is saturated
    out["over_budget"] = over_budget
    out["problems"] = problems + over_budget
    return out


def print_table(figures: dict[str, Any]) -> None:
    """Per kind: requests, the rate achieved and the percentiles (stdout, before the JSON)."""
    for kind in (*MIX, "mllp_ack"):
        if kind == "mllp_ack":
            print(f"{kind:>12}: {figures['mllp_sent']:6d} messages  p50 {figures['mllp_ack_p50_ms']:7.1f}  "
                  f"p95 {figures['mllp_ack_p95_ms']:7.1f}  p99 {figures['mllp_ack_p99_ms']:7.1f} ms  "
                  f"AA {figures['mllp_acked_aa']}  errors {figures['mllp_errors']}  lost {figures['mllp_lost']}")
            continue
        print(f"{kind:>12}: {figures[f'{kind}_requests']:6d} requests ({figures[f'{kind}_per_s']:5.2f}/s)  "
              f"p50 {figures[f'{kind}_p50_ms']:7.1f}  p95 {figures[f'{kind}_p95_ms']:7.1f}  "
              f"p99 {figures[f'{kind}_p99_ms']:7.1f} ms  errors {figures[f'{kind}_errors']}  "
              f"late {figures[f'{kind}_late']}")
    print(f"server RSS {figures['server_rss_first_mib']} -> {figures['server_rss_last_mib']} MiB "
          f"({figures['server_rss_growth_pct']:+.1f} %), listener {figures['listener_rss_first_mib']} -> "
          f"{figures['listener_rss_last_mib']} MiB; load average {figures['load_average']}")
    for problem in figures["problems"]:
        print(f"  problem: {problem}")


# --- the command ----------------------------------------------------------------------------------


def start_listener(home: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``joinedup listen mllp`` on a free port of the home (not waited for: see ``wait_for_listener``)."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("joinedup")), "listen", "mllp", "--host", "127.0.0.1",
               "--port", str(port)]
    env = {**os.environ, "JOINEDUP_HOME": str(home), **LOAD_RATE_LIMITS}
    env.pop("JOINEDUP_DATABASE_URL", None)
    return subprocess.Popen(command, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT), port


def wait_for_listener(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Wait until the listener accepts connections."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"joinedup listen exited with {process.returncode}; see {log_path}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit(f"joinedup listen did not accept connections within 120 s; see {log_path}")


def steps(start: float, factor: float, count: int) -> list[float]:
    """The rates the degradation search tries."""
    return [round(start * factor**n, 1) for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="the seeded home (kept and reused)")
    parser.add_argument("--rate", type=float, default=6.0, help="HTTP requests per second, all kinds together")
    parser.add_argument("--mllp-rate", type=float, default=1.5, help="ADT messages per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load (600: the long run)")
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds of unmeasured load first")
    parser.add_argument("--find-degradation", action="store_true",
                        help="raise the rate step by step until a budget is missed; report the last good rate")
    parser.add_argument("--step-seconds", type=float, default=30.0)
    parser.add_argument("--step-factor", type=float, default=1.4)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--caseload", type=int, default=300)
    parser.add_argument("--gps", type=int, default=10, help="GPs opening records")
    parser.add_argument("--searchers", type=int, default=2, help="GPs tracing patients")
    parser.add_argument("--api-clients", type=int, default=2, help="GPs' FHIR clients (bearer tokens)")
    parser.add_argument("--coordinators", type=int, default=4, help="coordinators on the board and the queue")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    if args.rate < LOWEST_RATE:
        raise SystemExit(f"--rate must be at least {LOWEST_RATE:.1f}: below, the rarest kind's connection idles past "
                         "the server's keep-alive timeout and wrk counts the close as an error")
    home = args.home or Path(tempfile.gettempdir()) / f"joinedup-bench-web-{args.people}-{args.years}"
    home.mkdir(parents=True, exist_ok=True)
    seeded = seed_home(home, people=args.people, years=args.years, caseload=args.caseload,
                       gps=args.gps + args.searchers + args.api_clients, coordinators=args.coordinators,
                       centre_jobs=False)
    open_centre_from_now(home)
    work = Path(tempfile.mkdtemp(prefix="bench-mixed-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    listener, listener_port = start_listener(home, work / "listener.log")  # starts while the server does
    server: subprocess.Popen[bytes] | None = None
    try:
        server = start_server(home, port, work / "server.log")
        wait_for_listener(listener, listener_port, work / "listener.log")
        traffic = build_traffic(base, home, seeded, args)
        pids = {"server": server.pid, "listener": listener.pid}
        phase_args: dict[str, Any] = {"listener_port": listener_port, "pids": pids, "work": work}
        if args.warm_up > 0:
            log(f"warming up for {args.warm_up:.0f} s")
            run_phase(base, home, traffic, rate=args.rate, mllp_rate=args.mllp_rate, seconds=args.warm_up,
                      **phase_args)
        if args.find_degradation:
            result = find_degradation(base, home, traffic, args, phase_args)
        else:
            log(f"holding {args.rate}/s HTTP and {args.mllp_rate}/s MLLP for {args.duration:.0f} s")
            figures = summarise(run_phase(base, home, traffic, rate=args.rate, mllp_rate=args.mllp_rate,
                                          seconds=args.duration, **phase_args))
            print_table(figures)
            growth = figures["server_rss_growth_pct"] / 100
            result = {**figures, "memory_flat": growth <= MEMORY_GROWTH_ALLOWED,
                      "met": not figures["problems"] and growth <= MEMORY_GROWTH_ALLOWED}
    finally:
        for process in (server, listener):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    result.update(people=args.people, persons=seeded.get("persons"), cores=os.cpu_count(),
                  server_log_tracebacks=(work / "server.log").read_text(errors="replace").count("Traceback"),
                  listener_log_tracebacks=(work / "listener.log").read_text(errors="replace").count("Traceback"))
    print(json.dumps(result))


def find_degradation(base: str, home: Path, traffic: Traffic, args: argparse.Namespace,
                     phase_args: dict[str, Any]) -> dict[str, Any]:
    """Raise the rate (HTTP and MLLP together) step by step until the server is saturated (errors, the
    offer not achieved, a p95 over ``SATURATED_P95_MS``). Reports the last rate within every budget and
    the last rate before saturation."""
    within: dict[str, Any] | None = None
    unsaturated: dict[str, Any] | None = None
    first_over: dict[str, Any] | None = None
    saturated: dict[str, Any] | None = None
    tried = []
    for rate in steps(args.rate, args.step_factor, args.max_steps):
        mllp_rate = args.mllp_rate * rate / args.rate
        log(f"step: {rate}/s HTTP and {mllp_rate:.1f}/s MLLP for {args.step_seconds:.0f} s")
        figures = summarise(run_phase(base, home, traffic, rate=rate, mllp_rate=mllp_rate,
                                      seconds=args.step_seconds, **phase_args))
        print(f"--- step {rate}/s")
        print_table(figures)
        tried.append({k: figures[k] for k in ("rate", "mllp_rate", "http_per_s", "errors", "load_average",
                                              "server_cpu_ms_per_request", *(f"{kind}_p95_ms" for kind in MIX),
                                              "mllp_ack_p95_ms", "problems")})
        if figures["failures"]:
            saturated = figures
            break
        unsaturated = figures
        if figures["over_budget"] and first_over is None:
            first_over = figures
        if first_over is None:
            within = figures
    return {"last_within_budgets_rate": within["rate"] if within else None,
            "first_over_budget_rate": first_over["rate"] if first_over else None,
            "over_budget_because": first_over["over_budget"] if first_over else [],
            "last_unsaturated_rate": unsaturated["rate"] if unsaturated else None,
            "first_saturated_rate": saturated["rate"] if saturated else None,
            "saturated_because": saturated["failures"] if saturated else [],
            "steps": tried, "step_seconds": args.step_seconds, "budgets_ms": BUDGETS_MS,
            "saturated_p95_ms": SATURATED_P95_MS, "met": within is not None}


if __name__ == "__main__":
    main()

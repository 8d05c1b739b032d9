"""The pages under load: record pages, the coordination board and patient search, 20 users at once.

    .venv/bin/python benchmarks/bench_web_load.py --people 20000 [--seconds 60] [--think-ms 1000]

Seeds a home once (kept under ``--home``, default ``/tmp/joinedup-bench-web-<people>-<years>``, and
reused by later runs): the synthetic borough (``joinedup.synth.generate_economy``), ingested
(``joinedup.feeds.ingest_paths``) and linked (``joinedup.identity.service.run_linkage``); GP users
at the busiest practices and care coordinators in the centre's team; a caseload of referred people
on pathways for the board (``--centre-jobs`` also runs the centre's jobs over the whole history's
outbox, which takes many minutes at 20,000 people). Then starts ``joinedup serve`` on a free loopback port, signs every
user in through the real sign-in form, and drives the server with ``wrk`` (``apt-get install
wrk``), as many connections as users, all at once (each request carries one user's cookie):

- GPs (``--gps``, 14) open the record summary of random people registered at their practice;
- coordinators (``--coordinators``, 4) open the board;
- searchers (``--searchers``, 2: GPs again) trace patients of their practice, half by NHS number and
  half by family name with date of birth.

Each user waits ``--think-ms`` (±50 %, uniformly) between pages, as a person reading does; with
``--think-ms 0`` every connection fires as fast as the server answers (a stress figure, not
what 20 people do). Reports p50/p95/p99 per page kind and errors (socket errors and any answer
that is not 200: a redirect to sign-in counts), and prints ONE JSON object last (keys
``record_page_p95_ms``, ``board_p95_ms``, ``search_p95_ms``, ``errors``, ``met``) for
``benchmarks/suite.py``. Targets (issues 9 and 11): record page p95 < 150 ms, board p95 < 300 ms,
search p95 < 200 ms, no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from joinedup import governance
from joinedup.coordination import CENTRE_TEAM_ID
from joinedup.coordination.centre import run_centre_jobs, set_up_centre
from joinedup.coordination.referrals import receive_referral, triage_referral
from joinedup.coordination.schemas import ReferralCreate, TriageDecision
from joinedup.feeds import ingest_paths
from joinedup.governance.totp import totp_code
from joinedup.governance.users import enrol_totp, hash_password, load_actor_by_username
from joinedup.identity.service import run_linkage
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory, unit_of_work, upgrade_store
from joinedup.store.tables import Organisation, Person, SourcePatient
from joinedup.store.tables.coordination import CaseloadEntry
from joinedup.store.tables.governance import AppUser
from joinedup.synth import generate_economy

TARGETS_MS = {"record_page": 150.0, "board": 300.0, "search": 200.0}
PASSWORD = "bench-load-password-1"
SEED = 20261126
PATIENTS_PER_GP = 60
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Every load user signs in from the same loopback address, and a load searcher traces faster than a
# person does: the server under load gets throttles (Settings) far above what the load sends.
LOAD_RATE_LIMITS = {"JOINEDUP_SIGN_IN_ATTEMPTS_PER_MINUTE": "100000", "JOINEDUP_SEARCHES_PER_MINUTE": "100000"}


def log(message: str) -> None:
    """Progress on stderr, so stdout's last line stays the JSON result."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the home -------------------------------------------------------------------------------------


def seed_home(home: Path, *, people: int, years: int, caseload: int, gps: int, coordinators: int,
              centre_jobs: bool) -> dict[str, Any]:
    """Build (or reuse) the seeded home; returns what the load needs: users and their patients.

    Each stage is recorded in ``bench-stages.json`` when done, so a run stopped half-way resumes.
    """
    marker = home / "bench-web-load.json"
    if marker.exists():
        log(f"reusing the seeded home {home}")
        seeded: dict[str, Any] = json.loads(marker.read_text())
        return seeded
    stages_path = home / "bench-stages.json"
    done: dict[str, float] = json.loads(stages_path.read_text()) if stages_path.exists() else {}

    def finished(stage: str, started: float) -> None:
        done[stage] = round(time.perf_counter() - started, 1)
        stages_path.write_text(json.dumps(done, indent=1))
        log(f"{stage} done in {done[stage]} s")

    settings = load_settings(home=home)
    engine = make_engine(settings.resolved_database_url)
    upgrade_store(engine)
    sessions = make_session_factory(engine)
    feeds = home / "feeds"
    if "synth" not in done:
        started = time.perf_counter()
        log(f"generating {people} people x {years} years")
        generate_economy(feeds, people=people, years=years, seed=SEED, faults=0.02, workers=2)
        finished("synth", started)
    with sessions() as session:
        if "ingest" not in done:
            started = time.perf_counter()
            summary = ingest_paths(session, [feeds])
            session.commit()
            log(f"ingested {summary.accepted} accepted of {summary.read}")
            finished("ingest", started)
        if "link" not in done:
            started = time.perf_counter()
            report = run_linkage(session, settings)
            session.commit()
            log(f"linked into {report.persons} persons")
            finished("link", started)
        started = time.perf_counter()
        users = _create_users(session, gps=gps, coordinators=coordinators)
        session.commit()
        if not session.scalar(select(func.count()).select_from(CaseloadEntry)):
            _refer_caseload(session, users, caseload)
            session.commit()
        finished("users_caseload", started)
        if centre_jobs and "centre_jobs" not in done:
            # Reads the whole history's outbox (ADT admissions and discharges): slow at this size.
            started = time.perf_counter()
            run_centre_jobs(session)
            session.commit()
            finished("centre_jobs", started)
        if engine.dialect.name == "sqlite":
            session.execute(text("ANALYZE"))
            session.commit()
        persons = session.scalar(select(func.count()).select_from(Person).where(Person.status == "active"))
        caseload_size = session.scalar(
            select(func.count(func.distinct(CaseloadEntry.person_id))).where(CaseloadEntry.ended_at.is_(None))
        )
    engine.dispose()
    seeded = {"people": people, "years": years, "persons": persons, "caseload": caseload_size,
              "users": users, "seed_timings_s": done}
    marker.write_text(json.dumps(seeded, indent=1))
    return seeded


def _create_users(session: Session, *, gps: int, coordinators: int) -> list[dict[str, Any]]:
    """GPs at the busiest practices (with patients to open) and coordinators in the centre's team."""
    set_up_centre(session)
    practices = session.execute(
        select(SourcePatient.registered_practice_code, func.count())
        .where(SourcePatient.source == "gp", SourcePatient.person_id.is_not(None),
               SourcePatient.registered_practice_code.is_not(None))
        .group_by(SourcePatient.registered_practice_code)
        .order_by(func.count().desc())
    ).all()
    password_hash = hash_password(PASSWORD)
    users: list[dict[str, Any]] = []
    rng = random.Random(SEED)
    for n in range(gps):
        practice = practices[n % len(practices)][0]
        registered = session.execute(
            select(SourcePatient.person_id, SourcePatient.nhs_number)
            .join(Person, Person.person_id == SourcePatient.person_id)
            .where(SourcePatient.source == "gp", SourcePatient.registered_practice_code == practice,
                   Person.status == "active", SourcePatient.sensitive_flag.is_not(True))
        ).all()
        chosen = rng.sample(registered, min(PATIENTS_PER_GP, len(registered)))
        username = f"bench-gp-{n}"
        if not _user_exists(session, username):  # a run stopped half-way left it
            governance.create_user(session, username=username, password=PASSWORD, role="gp", org_code=practice,
                                   password_hash=password_hash)
        users.append({"username": username, "kind": "gp", "practice": practice,
                      "person_ids": [row.person_id for row in chosen],
                      "nhs_numbers": [row.nhs_number for row in chosen if row.nhs_number]})
    centre = session.scalar(select(Organisation.org_code).where(Organisation.kind == "coordination_centre").limit(1))
    for n in range(coordinators):
        username = f"bench-coordinator-{n}"
        if _user_exists(session, username):
            users.append({"username": username, "kind": "coordinator"})
            continue
        governance.create_user(session, username=username, password=PASSWORD, role="care_coordinator",
                               org_code=centre, team_ids=(CENTRE_TEAM_ID,), password_hash=password_hash)
        users.append({"username": username, "kind": "coordinator"})
    return users


def _user_exists(session: Session, username: str) -> bool:
    return session.scalar(select(AppUser.user_id).where(AppUser.username == username)) is not None


def _refer_caseload(session: Session, users: list[dict[str, Any]], size: int) -> None:
    """Refer ``size`` people to the centre and accept them onto pathways (the board's rows)."""
    coordinator_name = next(u["username"] for u in users if u["kind"] == "coordinator")
    coordinator = load_actor_by_username(session, coordinator_name)
    people = session.scalars(
        select(SourcePatient.person_id).where(SourcePatient.source == "gp", SourcePatient.person_id.is_not(None))
        .order_by(SourcePatient.person_id).limit(size)
    ).all()
    pathways = ("frailty-falls", "post-discharge", "heart-failure", "copd", "diabetes")
    for n, person_id in enumerate(people):
        pathway = pathways[n % len(pathways)]
        referral = receive_referral(session, actor=coordinator, request=ReferralCreate(
            person_id=person_id, reason="High risk of emergency admission on the practice's list", urgency="urgent",
            suggested_pathway_id=pathway))
        triage_referral(session, actor=coordinator, referral_id=referral.referral_id, decision=TriageDecision(
            outcome="accept", pathway_id=pathway, reason="Meets the pathway's entry criteria"))
    log(f"referred {len(people)} people onto pathways")


# --- the server and the users ---------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(home: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """``joinedup serve`` on the home, waited for until it answers."""
    command = [str(Path(sys.executable).with_name("joinedup")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "JOINEDUP_HOME": str(home), **LOAD_RATE_LIMITS}
    env.pop("JOINEDUP_DATABASE_URL", None)
    process = subprocess.Popen(command, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"joinedup serve exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/sign-in", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"joinedup serve did not answer within 120 s; see {log_path}")


def _session_cookie(response: httpx.Response, current: str | None) -> str | None:
    # The cookie is Secure (for TLS in front); on loopback http we carry it by hand.
    for header in response.headers.get_list("set-cookie"):
        name_value = header.split(";", 1)[0]
        if name_value.startswith("joinedup_session="):
            return name_value
    return current


@dataclass
class SignedIn:
    """A signed-in user: their cookie and CSRF token."""

    username: str
    cookie: str
    csrf: str


def enrol_authenticators(home: Path, usernames: list[str]) -> dict[str, str]:
    """Give each user a new TOTP secret, as their authenticator app would hold it (staff sign in with a code)."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        secrets = {username: enrol_totp(session, username=username) for username in usernames}
    engine.dispose()
    return secrets


def sign_in(base: str, username: str, totp_secret: str) -> SignedIn:
    """Sign in through the real form (CSRF token, Argon2, the authenticator's code), as a browser does."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
        page = client.get("/sign-in")
        cookie = _session_cookie(page, None)
        found = CSRF_PATTERN.search(page.text)
        if found is None or cookie is None:
            raise SystemExit("the sign-in page gave no session or CSRF token")
        answer = client.post("/sign-in", data={"username": username, "password": PASSWORD, "next": "/",
                                               "security_code": totp_code(totp_secret),
                                               "csrf_token": found.group(1)}, headers={"Cookie": cookie})
        if answer.status_code != 303:
            raise SystemExit(f"sign-in of {username} failed with {answer.status_code}")
        cookie = _session_cookie(answer, cookie)
        assert cookie is not None
        home = client.get("/patients", headers={"Cookie": cookie})
        found = re.search(r'name="csrf-token" content="([^"]+)"', home.text) or CSRF_PATTERN.search(home.text)
        assert found, "no CSRF token after sign-in"
        return SignedIn(username, cookie, found.group(1))


# --- wrk ------------------------------------------------------------------------------------------

WRK_SCRIPT = r"""
-- As many connections as users; each request goes out as one of the users (their cookie) for one
-- of that user's prepared pages.
local cases = dofile(os.getenv("BENCH_CASES"))
local think = tonumber(os.getenv("BENCH_THINK_MS"))
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  math.randomseed(id * 7919 + os.time())
end

function request()
  local list = cases[math.random(#cases)]
  local case = list[math.random(#list)]
  return wrk.format(case.method, case.path, case.headers, case.body)
end

function delay()
  if think <= 0 then return 0 end
  return math.floor(think * (0.5 + math.random()))
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non200 = 0
  for _, thread in ipairs(threads) do non200 = non200 + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "duration_s": %.3f, "p50_ms": %.1f, "p95_ms": %.1f, "p99_ms": %.1f, ' ..
    '"max_ms": %.1f, "mean_ms": %.1f, "non_200": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000, non200,
    e.connect + e.read + e.write, e.timeout))
  io.flush()
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for these (ASCII) values


def lua_cases(users: list[list[dict[str, Any]]]) -> str:
    """A Lua file returning, per user (connection), the list of requests that user makes."""
    parts = []
    for cases in users:
        items = []
        for case in cases:
            headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in case["headers"].items())
            body = _lua_string(case["body"]) if case.get("body") else "nil"
            items.append(f"{{method = {_lua_string(case['method'])}, path = {_lua_string(case['path'])}, "
                         f"headers = {{{headers}}}, body = {body}}}")
        parts.append("{" + ", ".join(items) + "}")
    return "return {" + ",\n".join(parts) + "}\n"


def run_wrk(base: str, name: str, users: list[list[dict[str, Any]]], *, seconds: int, think_ms: int,
            work: Path) -> subprocess.Popen[str]:
    """Start one ``wrk`` for one page kind: as many connections as users (two threads at most)."""
    cases_path = work / f"{name}.lua"
    cases_path.write_text(lua_cases(users))
    script = work / "driver.lua"
    if not script.exists():  # written once: a wrk still loading it must never see it half-written
        script.write_text(WRK_SCRIPT)
    connections = len(users)
    threads = min(2, connections)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
               "-s", str(script), base]
    env = {**os.environ, "BENCH_CASES": str(cases_path), "BENCH_THINK_MS": str(think_ms)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(process: subprocess.Popen[str], name: str) -> dict[str, Any]:
    """The figures ``wrk`` printed (its ``done`` writes one RESULT line)."""
    output, _ = process.communicate()
    if process.returncode != 0:
        log(f"wrk ({name}) exited with {process.returncode}")
    for line in output.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise SystemExit(f"wrk ({name}) printed no result:\n{output}")


def requests_for(signed: dict[str, SignedIn], seeded: dict[str, Any], names: dict[str, list[tuple[str, date]]], *,
                 gps: int, coordinators: int, searchers: int) -> dict[str, list[list[dict[str, Any]]]]:
    """Per page kind, per user: the requests that user makes."""
    gp_users = [u for u in seeded["users"] if u["kind"] == "gp"]
    coordinator_users = [u for u in seeded["users"] if u["kind"] == "coordinator"]
    plan: dict[str, list[list[dict[str, Any]]]] = {"record_page": [], "board": [], "search": []}
    for user in gp_users[:gps]:
        who = signed[user["username"]]
        plan["record_page"].append([{"method": "GET", "path": f"/patients/{person_id}",
                                     "headers": {"Cookie": who.cookie}} for person_id in user["person_ids"]])
    for user in coordinator_users[:coordinators]:
        who = signed[user["username"]]
        plan["board"].append([{"method": "GET", "path": "/coordination", "headers": {"Cookie": who.cookie}}])
    for user in gp_users[gps:gps + searchers]:
        who = signed[user["username"]]
        headers = {"Cookie": who.cookie, "X-CSRF-Token": who.csrf,
                   "Content-Type": "application/x-www-form-urlencoded"}
        # Half the traces by NHS number, half by family name with date of birth.
        bodies = [f"nhs_number={nhs}" for nhs in user["nhs_numbers"]]
        bodies += [urlencode({"name": family, "birth_day": born.day, "birth_month": born.month,
                              "birth_year": born.year}) for family, born in names.get(user["username"], [])]
        plan["search"].append([{"method": "POST", "path": "/patients/search", "body": body, "headers": headers}
                               for body in bodies])
    return {name: users for name, users in plan.items() if users}


def names_to_trace(home: Path, seeded: dict[str, Any]) -> dict[str, list[tuple[str, date]]]:
    """Per GP, the family names and birth dates of their patients (for traces by name)."""
    engine = make_engine(load_settings(home=home).resolved_database_url)
    found: dict[str, list[tuple[str, date]]] = {}
    with make_session_factory(engine)() as session:
        for user in seeded["users"]:
            if user["kind"] != "gp":
                continue
            rows = session.execute(
                select(SourcePatient.family_name, SourcePatient.birth_date)
                .where(SourcePatient.person_id.in_(user["person_ids"]), SourcePatient.source == "gp",
                       SourcePatient.family_name.is_not(None), SourcePatient.birth_date.is_not(None))
            ).all()
            found[user["username"]] = [(row.family_name, row.birth_date) for row in rows]
    engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="the seeded home (kept and reused)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--think-ms", type=int, default=1000, help="mean pause between a user's pages (0: none)")
    parser.add_argument("--gps", type=int, default=14)
    parser.add_argument("--coordinators", type=int, default=4)
    parser.add_argument("--searchers", type=int, default=2)
    parser.add_argument("--caseload", type=int, default=300, help="people referred onto pathways (board rows)")
    parser.add_argument("--centre-jobs", action="store_true",
                        help="run the centre's jobs over the whole history's outbox when seeding (slow)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    home = args.home or Path(tempfile.gettempdir()) / f"joinedup-bench-web-{args.people}-{args.years}"
    home.mkdir(parents=True, exist_ok=True)
    seeded = seed_home(home, people=args.people, years=args.years, caseload=args.caseload,
                       gps=args.gps + args.searchers, coordinators=args.coordinators, centre_jobs=args.centre_jobs)
    work = Path(tempfile.mkdtemp(prefix="bench-web-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(home, port, work / "server.log")
    try:
        wanted = [u["username"] for u in seeded["users"]][: args.gps + args.searchers + args.coordinators]
        log(f"signing in {len(wanted)} users")
        secrets = enrol_authenticators(home, wanted)
        signed = {name: sign_in(base, name, secrets[name]) for name in wanted}
        plan = requests_for(signed, seeded, names_to_trace(home, seeded), gps=args.gps,
                            coordinators=args.coordinators, searchers=args.searchers)
        log("warming up (5 s)")
        warm = [run_wrk(base, name, users, seconds=5, think_ms=0, work=work) for name, users in plan.items()]
        for process, name in zip(warm, plan, strict=True):
            wrk_result(process, name)
        load_before = os.getloadavg()[0]
        connections = sum(len(users) for users in plan.values())
        log(f"driving {connections} users at once for {args.seconds} s (think {args.think_ms} ms)")
        running = {name: run_wrk(base, name, users, seconds=args.seconds, think_ms=args.think_ms, work=work)
                   for name, users in plan.items()}
        results = {name: wrk_result(process, name) for name, process in running.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)
    report(results, seeded, args, connections, load_before)


def report(results: dict[str, dict[str, Any]], seeded: dict[str, Any], args: argparse.Namespace,
           connections: int, load_before: float) -> None:
    """Print the table, then the one JSON object the suite reads."""
    errors = 0
    for name, figures in results.items():
        errors += figures["non_200"] + figures["socket_errors"] + figures["timeouts"]
        rate = figures["requests"] / figures["duration_s"] if figures["duration_s"] else 0.0
        print(f"{name:>12}: {figures['requests']:6d} requests ({rate:5.1f}/s)  p50 {figures['p50_ms']:7.1f}  "
              f"p95 {figures['p95_ms']:7.1f}  p99 {figures['p99_ms']:7.1f}  max {figures['max_ms']:7.1f} ms  "
              f"non-200 {figures['non_200']}  socket errors {figures['socket_errors']}  timeouts {figures['timeouts']}")
    met = errors == 0 and all(
        results[name]["p95_ms"] < target for name, target in TARGETS_MS.items() if name in results
    )
    summary: dict[str, Any] = {
        "people": args.people, "persons": seeded.get("persons"), "caseload": seeded.get("caseload"),
        "users": connections, "seconds": args.seconds, "think_ms": args.think_ms,
        "load_average": round(load_before, 1), "cores": os.cpu_count(),
    }
    for name, figures in results.items():
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            summary[f"{name}_{key}"] = figures[key]
        summary[f"{name}_requests"] = figures["requests"]
    summary.update(errors=errors, met=met)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

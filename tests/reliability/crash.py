"""Crash anywhere, lose nothing: SIGKILL the MLLP listener and an audit writer at random points.

Used by ``test_crash_anywhere.py`` (a couple of runs) and ``scripts/reliability`` (many runs).
One run: a sender streams ADT messages to a listener in a child process, keeping the control ids
the listener ACKed with AA; the child is killed with SIGKILL at a random moment; every ACKed
message must be in the store at that instant (the ACK follows a durable commit); the listener is
started again and the sender resends what was not ACKed, as a real sender does. At the end the
store must equal a clean run: each message once, no record lost, none doubled. Meanwhile a second
child appends audit entries (with checkpoints) and is killed too; the chain must verify.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from joinedup.feeds import frame
from joinedup.governance import verify_audit_chain
from joinedup.settings import Settings
from joinedup.store import make_engine, make_session_factory

LISTENER = """
import asyncio, sys
from joinedup.feeds import serve_mllp
from joinedup.store import make_engine, make_session_factory
def ready(port):
    print(port, flush=True)
asyncio.run(serve_mllp(make_session_factory(make_engine(sys.argv[1])), port=0, on_ready=ready))
"""

AUDIT_WRITER = """
import sys
from joinedup.governance import checkpoint_audit_chain, record_audit
from joinedup.model.actor import system_actor
from joinedup.settings import load_settings
from joinedup.store import make_engine, make_session_factory
settings = load_settings(home=sys.argv[1])
sessions = make_session_factory(make_engine(settings.resolved_database_url))
actor = system_actor("crash-test")
n = 0
while True:
    with sessions() as session:
        record_audit(session, actor=actor, action="read", resource_type="Patient", detail=f"entry {n}")
        if n % 7 == 0:
            checkpoint_audit_chain(session, settings=settings)
        session.commit()
    n += 1
"""


def adt_message(n: int) -> bytes:
    """One A04 (A&E arrival) with control id ``K<n>``: its own patient and attendance."""
    sent = "20240110100000"
    return (
        f"MSH|^~\\&|PAS|RZZ|JOINEDUP|ZCC01|{sent}||ADT^A04^ADT_A01|K{n}|P|2.4\r"
        f"EVN|A04|{sent}\r"
        f"PID|1||M{n:05d}^^^RZZ^MR||TESTER^ANNA||19400115|F|||1 HIGH ST^^SYNTHFORD^^ZZ1 1ZZ||||||||||||A\r"
        f"PV1|1|E|AE^^^RZZ|E||^^^RZZ|C1234567|||300|||||||||AE{n}" + "|" * 17 + f"19||||||||{sent}|\r"
    ).encode()


@dataclass
class CrashReport:
    """What the runs did: messages, kills, ACKs checked after a kill, records lost and doubled."""

    runs: int = 0
    messages: int = 0
    kills: int = 0
    acked_checked: int = 0
    lost: int = 0
    doubled: int = 0
    audit_entries: int = 0
    audit_problems: list[str] = field(default_factory=list)


def _start_listener(url: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-c", LISTENER, url], stdout=subprocess.PIPE, text=True,
                               env={**os.environ})
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _send(port: int, pending: list[int], acked: set[int], stop_at: float) -> None:
    """Send ``pending`` one after another, noting each AA, until done, the peer dies or ``stop_at``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            buffer = b""
            for n in pending:
                if time.monotonic() > stop_at:
                    return
                sock.sendall(frame(adt_message(n)))
                while b"\x1c\r" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                block, buffer = buffer.split(b"\x1c\r", 1)
                if b"MSA|AA|" in block:
                    acked.add(n)
    except OSError:
        return  # the listener was killed: the sender will resend what was not ACKed


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def crash_run(url: str, messages: int, rng: random.Random, report: CrashReport) -> None:
    """One run against an empty store at ``url``; adds its figures to ``report``."""
    import threading

    engine = make_engine(url)
    acked: set[int] = set()
    listener, port = _start_listener(url)
    kill_after = rng.uniform(0.2, 1.5)
    sender = threading.Thread(target=_send, args=(port, list(range(messages)), acked, time.monotonic() + 60))
    sender.start()
    time.sleep(kill_after)
    listener.send_signal(signal.SIGKILL)
    listener.wait()
    report.kills += 1
    sender.join(30)
    snapshot = set(acked)
    with engine.connect() as connection:
        stored = {row[0] for row in connection.execute(text("SELECT source_message_id FROM feed_message"))}
    report.acked_checked += len(snapshot)
    report.lost += len({f"K{n}" for n in snapshot} - stored)
    # Restart; the sender resends whatever it has no ACK for, until everything is ACKed.
    listener, port = _start_listener(url)
    try:
        deadline = time.monotonic() + 120
        while len(acked) < messages and time.monotonic() < deadline:
            _send(port, [n for n in range(messages) if n not in acked], acked, deadline)
    finally:
        listener.send_signal(signal.SIGKILL)
        listener.wait()
    report.lost += messages - len(acked)
    for table in ("feed_message", "encounter", "outbox_event", "source_patient"):
        count = _scalar(engine, f"SELECT count(*) FROM {table}")
        report.lost += max(messages - count, 0)
        report.doubled += max(count - messages, 0)
    report.messages += messages
    report.runs += 1
    engine.dispose()


def audit_crash_run(home: Path, settings: Settings, rng: random.Random, report: CrashReport) -> None:
    """Kill an audit writer at a random point; the chain and its checkpoints must still verify."""
    writer = subprocess.Popen([sys.executable, "-c", AUDIT_WRITER, str(home)], env={**os.environ})
    engine = make_engine(settings.resolved_database_url)
    deadline = time.monotonic() + 60
    while _scalar(engine, "SELECT count(*) FROM audit_entry") < 10:  # started writing (imports take a while)
        assert writer.poll() is None, "the audit writer died"
        assert time.monotonic() < deadline, "the audit writer did not start"
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.0))
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    report.kills += 1
    with make_session_factory(engine)() as session:
        verification = verify_audit_chain(session, settings=settings)
    engine.dispose()
    report.audit_entries = verification.entry_count
    report.audit_problems.extend(verification.problems)

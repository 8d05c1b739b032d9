"""A day of live hospital messages, sent over real MLLP to joinedup's own listener.

Used by the demo so the coordination board moves: admissions (A01) of people on pathways, then
discharges (A03) of half of them, each acknowledged only after the listener commits it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from joinedup.feeds import frame, serve_mllp
from joinedup.store.tables import SourcePatient

SOURCE = "hospital-pas"
WARDS = ("AMU", "WARD 7", "CARDIO", "RESP 2")


def _adt(event: str, control_id: str, patient: SourcePatient, visit: str, ward: str, at: datetime) -> bytes:
    stamp = at.strftime("%Y%m%d%H%M%S")
    sex = {"male": "M", "female": "F"}.get(patient.sex or "", "U")
    birth = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    identifiers = f"{patient.local_id}^^^RM3^MR"
    if patient.nhs_number:
        identifiers += f"~{patient.nhs_number}^^^NHS^NH"
    segments = [
        f"MSH|^~\\&|PAS|RM3|JOINEDUP|ICS|{stamp}||ADT^{event}^ADT_A01|{control_id}|P|2.4",
        f"EVN|{event}|{stamp}",
        f"PID|1||{identifiers}||{patient.family_name or ''}^{patient.given_name or ''}||{birth}|{sex}|||"
        f"^^^^{patient.postcode or ''}",
        f"PV1|1|I|{ward}^^^RM3||||||||||||||||{visit}|||||||||||||||||||||||||{stamp}"
        + (f"|{stamp}" if event == "A03" else ""),
    ]
    return ("\r".join(segments) + "\r").encode()


def _hospital_patient(session: Session, person_id: str) -> SourcePatient | None:
    rows = session.scalars(select(SourcePatient).where(SourcePatient.person_id == person_id)
                           .order_by(SourcePatient.source != SOURCE, SourcePatient.source_patient_id)).all()
    return rows[0] if rows else None


def _send_all(port: int, messages: Sequence[bytes]) -> list[bytes]:
    acks = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        for message in messages:
            connection.sendall(frame(message))
            buffer = b""
            while not buffer.endswith(b"\x1c\x0d"):
                chunk = connection.recv(65536)
                if not chunk:
                    raise ConnectionError("the MLLP listener closed the connection")
                buffer += chunk
            acks.append(buffer)
    return acks


def replay_admissions(sessions: sessionmaker[Session], person_ids: Sequence[str]) -> dict[str, int]:
    """Admit every person given, discharge every other one, over MLLP; count the ACK codes."""
    now = datetime.now(UTC).replace(microsecond=0)
    messages: list[bytes] = []
    with sessions() as session:
        for index, person_id in enumerate(person_ids):
            patient = _hospital_patient(session, person_id)
            if patient is None:
                continue
            visit = f"LIVE{now:%Y%m%d}{index:04d}"
            ward = WARDS[index % len(WARDS)]
            admitted = now - timedelta(hours=10 - index % 8)
            messages.append(_adt("A01", f"{visit}A", patient, visit, ward, admitted))
            if index % 2:
                messages.append(_adt("A03", f"{visit}D", patient, visit, ward, admitted + timedelta(hours=6)))
    ready = threading.Event()
    bound: list[int] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def on_ready(port: int) -> None:
        bound.append(port)
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(serve_mllp(sessions, port=0, source=SOURCE, on_ready=on_ready, stop=stop))

    thread = threading.Thread(target=run, name="demo-mllp", daemon=True)
    thread.start()
    if not ready.wait(timeout=30):
        raise RuntimeError("the MLLP listener did not start")
    try:
        acks = _send_all(bound[0], messages)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
    codes = [ack.split(b"MSA|", 1)[1][:2].decode() if b"MSA|" in ack else "??" for ack in acks]
    return {"messages": len(messages), "acked_AA": codes.count("AA"), "acked_other": len(codes) - codes.count("AA")}

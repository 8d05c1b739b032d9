"""A real MLLP listener on loopback, driven by python-hl7's MLLP client: ACK only after commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import hl7
import pytest
from hl7.client import MLLPClient
from sqlalchemy import text

from joinedup.feeds import serve_mllp
from joinedup.store import make_engine, make_session_factory

from .builders import adt


class Listener:
    """``serve_mllp`` on an ephemeral port, in a thread of its own."""

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        self._loop.run_until_complete(serve_mllp(self.sessions, port=0, source="hospital-pas", on_ready=ready,
                                                 stop=self._stop))

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10), "listener did not start"

    def stop(self) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._loop.close()
        self.engine.dispose()

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()


@pytest.fixture
def listener(database_url: str) -> Iterator[Listener]:
    running = Listener(database_url)
    running.start()
    yield running
    running.stop()


def _ack(reply: str) -> hl7.Message:
    return hl7.parse(reply)


def test_ack_aa_only_after_the_message_is_committed(listener: Listener) -> None:
    with MLLPClient("127.0.0.1", listener.port) as client:
        reply = client.send_message(adt("A01", "MLLP1", "20240110083000", admit="20240110083000"))
        ack = _ack(reply)
        assert str(ack.segment("MSA")[1]) == "AA"
        assert str(ack.segment("MSA")[2]) == "MLLP1"
        # The ACK came back, so a separate connection must already see the committed rows.
        assert listener.scalar("SELECT status FROM feed_message WHERE source_message_id='MLLP1'") == "accepted"
        assert listener.scalar("SELECT count(*) FROM encounter WHERE status='in-progress'") == 1
        assert listener.scalar("SELECT count(*) FROM outbox_event WHERE kind='adt.admit'") == 1
        # A resend (the sender missed our ACK) is a duplicate: AA again, nothing written twice.
        again = _ack(client.send_message(adt("A01", "MLLP1", "20240110083000", admit="20240110083000")))
        assert str(again.segment("MSA")[1]) == "AA"
        assert listener.scalar("SELECT count(*) FROM outbox_event") == 1
        # Many on one connection: each ACKed, in order.
        control_ids = []
        for n in range(20):
            reply = client.send_message(adt("A04", f"M{n}", "20240110100000", visit=f"AE{n}", patient_class="E",
                                            mrn=f"M{n:04d}", admit="20240110100000"))
            control_ids.append(str(_ack(reply).segment("MSA")[2]))
    assert control_ids == [f"M{n}" for n in range(20)]
    assert listener.scalar("SELECT count(*) FROM encounter WHERE setting='ae'") == 20


def test_bad_message_gets_ae_with_an_err_naming_the_field(listener: Listener) -> None:
    with MLLPClient("127.0.0.1", listener.port) as client:
        ack = _ack(client.send_message(adt("A01", "MLLP2", "20240110083000", visit="", admit="20240110083000")))
        assert str(ack.segment("MSA")[1]) == "AE"
        err = ack.segment("ERR")
        assert str(err[2]) == "PV1^1^19"
        assert str(err[3]) == "101^Required field missing^HL70357"
        assert str(err[8]) == "PV1-19: no visit number (spell or attendance id)"
        assert listener.scalar("SELECT reason_code FROM quarantine_item") == "missing_field"
        rejected = _ack(client.send_message("this is not HL7"))
        assert str(rejected.segment("MSA")[1]) == "AR"
        assert listener.scalar("SELECT count(*) FROM quarantine_item") == 2

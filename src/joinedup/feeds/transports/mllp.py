"""HL7 v2 over MLLP: a TCP listener that acknowledges each message only after it is committed.

Framing (HL7 MLLP release 2): ``<VT> message <FS><CR>``. Every message goes through the same
pipeline as files, committed together with what other connections sent meanwhile (group commit); the
ACK is written after that commit returns:

- ``AA`` accepted (or a duplicate of one already accepted: the sender may safely stop resending);
- ``AE`` the message was read but is wrong (quarantined, with an ERR segment naming the field);
- ``AR`` the bytes are not an HL7 message at all (quarantined too).

The ERR text is the quarantine reason: field paths and kinds of fault, never patient values.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count

from sqlalchemy.orm import Session, sessionmaker

from joinedup.feeds._pipeline import MAX_UNIT_BYTES, FeedUnit, Pipeline, UnitOutcome
from joinedup.feeds.hl7v2.adapter import Hl7v2Adapter
from joinedup.feeds.hl7v2.parse import Hl7Message

logger = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
# The largest frame read (the same as the pipeline's per-unit cap): a bigger one gets an AR and the
# connection is closed, rather than the listener buffering without bound.
MAX_MESSAGE_BYTES = MAX_UNIT_BYTES
_ack_ids = count(1)


def frame(message: bytes) -> bytes:
    """Wrap one message in MLLP framing."""
    return START_BLOCK + message + END_BLOCK


def build_ack(raw: bytes, outcome: UnitOutcome) -> bytes:
    """The HL7 ACK for a message: MSH + MSA (+ ERR when it was not accepted)."""
    try:
        message = Hl7Message(raw)
        msh = message.segment("MSH")
        sender_app, sender_facility = message.value(msh, 3), message.value(msh, 4)
        receiver_app, receiver_facility = message.value(msh, 5), message.value(msh, 6)
        event, version = message.value(msh, 9, 2), message.value(msh, 12) or "2.4"
        control_id = message.value(msh, 10)
    except Exception:
        sender_app = sender_facility = receiver_app = receiver_facility = event = control_id = ""
        version = "2.4"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    code = {"accepted": "AA", "updated": "AA", "duplicate": "AA"}.get(outcome.status)
    if code is None:
        code = "AR" if outcome.stage == "parse" else "AE"
    segments = [
        f"MSH|^~\\&|{receiver_app or 'JOINEDUP'}|{receiver_facility}|{sender_app}|{sender_facility}|{now}||"
        f"ACK^{event}^ACK|ACK{now}{next(_ack_ids):06d}|P|{version}",
        f"MSA|{code}|{control_id}",
    ]
    if code != "AA":
        reason = _ack_text(outcome.reason or "rejected")
        hl7_code = _error_code(outcome)
        segments.append(f"ERR||{_location(outcome.reason)}|{hl7_code}^HL70357|E|"
                        f"{_ack_text(outcome.reason_code or '')}|||{reason}")
    return ("\r".join(segments) + "\r").encode()


# Our reason codes → HL7 table 0357 (message error condition codes).
HL7_ERROR_CODES = {
    "missing_segment": "100^Segment sequence error",
    "missing_field": "101^Required field missing",
    "missing_identifier": "101^Required field missing",
    "missing_patient": "101^Required field missing",
    "malformed_date": "102^Data type error",
    "malformed_value": "102^Data type error",
    "unknown_code": "103^Table value not found",
    "impossible_value": "207^Application internal error",
    "unsupported_message_type": "200^Unsupported message type",
    "message_id_reused": "205^Duplicate key identifier",
}


def _error_code(outcome: UnitOutcome) -> str:
    code = HL7_ERROR_CODES.get(outcome.reason_code or "")
    if code is None:
        code = "100^Segment sequence error" if outcome.stage == "parse" else "207^Application internal error"
    return code


def _location(reason: str | None) -> str:
    """ERR-2 (segment^sequence^field) from a reason that starts with a path like ``PV1-19``."""
    if not reason or ":" not in reason:
        return ""
    path = reason.split(":", 1)[0]
    segment, _, field = path.partition("-")
    if len(segment) != 3 or not segment.isalnum() or not field.isdigit():
        return ""
    return f"{segment}^1^{field}"


def _ack_text(text: str) -> str:
    # Our reasons hold no separators of note, but escape them so the ACK always parses.
    return text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\") \
        .replace("~", "\\R\\").replace("\r", " ").replace("\n", " ")[:400]


class MllpReceiver:
    """Takes framed messages into the store; the store is the one writer, the ACK waits for its commit."""

    def __init__(self, sessions: sessionmaker[Session], source: str) -> None:
        self.sessions = sessions
        self.source = source
        self.pipeline = Pipeline()
        self.adapter = Hl7v2Adapter()
        self._lock = threading.Lock()

    def receive(self, raw: bytes) -> bytes:
        """Ingest one message, commit, and return the ACK to send."""
        return self.receive_many([raw])[0]

    def receive_many(self, messages: list[bytes]) -> list[bytes]:
        """Ingest messages in one transaction (group commit), then return their ACKs in order."""
        units = [FeedUnit(self.source, "hl7v2", raw, position="mllp") for raw in messages]
        with self._lock, self.sessions() as session:
            outcomes = self.pipeline.ingest_batch(session, self.adapter, units)
        return [build_ack(raw, outcome) for raw, outcome in zip(messages, outcomes, strict=True)]


class GroupCommitter:
    """Collects messages from every connection and commits whatever has arrived together.

    One connection that waits for each ACK still costs a commit per message; several senders (or
    one that pipelines its frames) share commits, so throughput grows with the load. A message's
    ACK is released only when the transaction holding it has committed.
    """

    def __init__(self, receiver: MllpReceiver, *, max_batch: int = 500, gather_seconds: float = 0.003) -> None:
        self.receiver = receiver
        self.max_batch = max_batch
        # How long a batch waits for the other connections' next frames before committing.
        self.gather_seconds = gather_seconds
        # Connections open now: with one sender there is nobody to wait for.
        self.connections = 0
        self.queue: asyncio.Queue[tuple[bytes, asyncio.Future[bytes]]] = asyncio.Queue()

    async def submit(self, raw: bytes) -> bytes:
        """Queue one message; returns its ACK once committed."""
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        await self.queue.put((raw, future))
        return await future

    async def run(self) -> None:
        """Commit batches for as long as the listener runs."""
        while True:
            items = await self._gather()
            try:
                acks = await asyncio.to_thread(self.receiver.receive_many, [raw for raw, _ in items])
            except Exception as exc:  # the store is down: no ACK, so the senders will resend
                logger.error("MLLP batch not committed (%s); connections will be closed", type(exc).__name__)
                for _, future in items:
                    future.set_exception(ConnectionAbortedError("not committed"))
                continue
            for (_, future), ack in zip(items, acks, strict=True):
                future.set_result(ack)

    async def _gather(self) -> list[tuple[bytes, asyncio.Future[bytes]]]:
        """The next batch: what is queued, plus what the other connections send within a few ms.

        Senders that wait for each ACK send their next frames just after the last commit, a little
        apart; committing the first alone would make the rest wait a whole commit more. So the
        batch waits (``gather_seconds`` at most) until every open connection has a frame in it.
        """
        items = [await self.queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.gather_seconds
        while len(items) < self.max_batch:
            if not self.queue.empty():
                items.append(self.queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            if len(items) >= self.connections or remaining <= 0:
                break
            try:
                items.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
        return items


async def _handle(
    committer: GroupCommitter,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> None:
    pending: asyncio.Queue[asyncio.Task[bytes] | None] = asyncio.Queue()

    async def send_acks() -> None:
        # ACKs go back in the order the frames came, each after its own commit.
        while (task := await pending.get()) is not None:
            writer.write(frame(await task))
            await writer.drain()

    sender = asyncio.create_task(send_acks())
    oversized = False
    committer.connections += 1
    try:
        while True:
            try:
                block = await reader.readuntil(END_BLOCK)
            except asyncio.IncompleteReadError:
                break
            except asyncio.LimitOverrunError:
                oversized = True
                break
            start = block.find(START_BLOCK)
            raw = block[start + 1 : -len(END_BLOCK)] if start >= 0 else block[: -len(END_BLOCK)]
            await pending.put(asyncio.create_task(committer.submit(raw)))
        await pending.put(None)
        await sender
        if oversized:
            # The frame cannot be read, so its control id is unknown: an AR naming the limit, then close.
            logger.warning("MLLP frame over the %d-byte limit refused; connection closed", max_message_bytes)
            refused = UnitOutcome("quarantined", "", None, "too_large",
                                  f"the MLLP frame is over the limit of {max_message_bytes} bytes", "parse")
            writer.write(frame(build_ack(b"", refused)))
            await writer.drain()
    except ConnectionError as exc:
        logger.warning("MLLP connection dropped (%s)", type(exc).__name__)
    finally:
        committer.connections -= 1
        if not sender.done():
            sender.cancel()
        writer.close()


async def serve_mllp(
    sessions: sessionmaker[Session],
    *,
    host: str = "127.0.0.1",
    port: int = 2575,
    source: str = "hospital-pas",
    on_ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
) -> None:
    """Listen for MLLP connections until ``stop`` is set (or forever); ``on_ready(port)`` when bound.

    A frame over ``max_message_bytes`` is answered with an AR (``too_large``) and its connection closed.
    """
    committer = GroupCommitter(MllpReceiver(sessions, source))
    worker = asyncio.create_task(committer.run())
    connections: set[asyncio.Task[None]] = set()

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _handle(committer, reader, writer, max_message_bytes)
        except asyncio.CancelledError:
            # The listener is stopping (see below): a connection open then ends normally, else asyncio
            # logs each one as an unhandled error. Nothing is lost: ACKs only ever follow a commit.
            writer.close()
        finally:
            connections.discard(task)

    server = await asyncio.start_server(connected, host=host, port=port, limit=max_message_bytes)
    bound = server.sockets[0].getsockname()[1]
    logger.info("MLLP listening on %s:%d for source %s", host, bound, source)
    if on_ready is not None:
        on_ready(bound)
    try:
        async with server:
            if stop is None:
                await server.serve_forever()
            else:
                await stop.wait()
    finally:
        # Open connections end first (their ACKs are only ever sent after a commit), then the worker.
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

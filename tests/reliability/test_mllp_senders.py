"""Sender faults over real sockets on loopback: pieces, disconnects mid-message, unread ACKs,
floods of resends, pipelined frames, oversized frames. Nothing is lost, doubled or half-written."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from feeds.builders import adt

from .mllp import Listener, framed, read_acks

StoreMaker = Callable[[], Engine]
LONG_EXAMPLES = int(os.environ.get("JOINEDUP_FUZZ_EXAMPLES", "60"))


def _admit(n: int, control: str | None = None) -> str:
    return adt("A04", control or f"C{n}", "20240110100000", visit=f"AE{n}", patient_class="E", mrn=f"M{n:04d}",
               admit="20240110100000")


def test_a_message_sent_in_small_pieces_is_acked_once_committed(fresh_store: StoreMaker) -> None:
    engine = fresh_store()
    with Listener(engine) as listener, listener.connect() as sock:
        data = framed(_admit(1))
        for start in range(0, len(data), 7):
            sock.sendall(data[start : start + 7])
            time.sleep(0.002)
        assert read_acks(sock, 1) == [("AA", "C1", "")]
        assert listener.scalar("SELECT count(*) FROM encounter WHERE setting='ae'") == 1
    engine.dispose()


def test_a_disconnect_mid_message_stores_nothing_and_the_listener_carries_on(fresh_store: StoreMaker) -> None:
    engine = fresh_store()
    with Listener(engine) as listener:
        with listener.connect() as sock:
            whole = framed(_admit(1), _admit(2))
            sock.sendall(whole[: len(whole) - 40])  # the first message whole, the second cut short
            assert read_acks(sock, 1) == [("AA", "C1", "")]
        time.sleep(0.2)
        assert listener.scalar("SELECT count(*) FROM feed_message") == 1
        assert listener.scalar("SELECT count(*) FROM quarantine_item") == 0
        with listener.connect() as sock:  # the sender reconnects and resends the one not ACKed
            sock.sendall(framed(_admit(2)))
            assert read_acks(sock, 1) == [("AA", "C2", "")]
        assert listener.scalar("SELECT count(*) FROM encounter") == 2
    engine.dispose()


def test_acks_never_read_still_commit_and_a_full_resend_doubles_nothing(fresh_store: StoreMaker) -> None:
    engine = fresh_store()
    messages = [_admit(n) for n in range(150)]
    with Listener(engine) as listener:
        with listener.connect() as sock:
            sock.sendall(framed(*messages))  # and never reads a single ACK
            deadline = time.monotonic() + 20
            while listener.scalar("SELECT count(*) FROM feed_message") < 150:
                assert time.monotonic() < deadline, "unread ACKs stalled the listener"
                time.sleep(0.05)
            sock.shutdown(socket.SHUT_RDWR)
        # The sender saw no ACK, so it sends everything again (a flood of resends): all AA, nothing doubled.
        with listener.connect() as sock:
            sock.sendall(framed(*messages, *messages))
            acks = read_acks(sock, 300)
        assert [code for code, _, _ in acks] == ["AA"] * 300
        assert [control for _, control, _ in acks] == [f"C{n}" for n in range(150)] * 2
        assert listener.scalar("SELECT count(*) FROM encounter") == 150
        assert listener.scalar("SELECT count(*) FROM outbox_event") == 150
        assert listener.scalar("SELECT count(*) FROM feed_message") == 150
    engine.dispose()


def test_an_oversized_frame_gets_an_ar_naming_the_limit_after_the_acks_before_it(fresh_store: StoreMaker) -> None:
    engine = fresh_store()
    with Listener(engine, max_message_bytes=8192) as listener:
        with listener.connect() as sock:
            huge = _admit(9).replace("EVN|", "NTE|1||" + "X" * 20_000 + "\rEVN|", 1)
            sock.sendall(framed(_admit(1), huge))
            acks = read_acks(sock, 3)
            assert sock.recv(10) == b""  # then the listener closed the connection
        assert acks[0] == ("AA", "C1", "")
        assert acks[1][:2] == ("AR", "")
        assert "too_large" in acks[1][2]
        assert "the MLLP frame is over the limit of 8192 bytes" in acks[1][2]
        assert len(acks) == 2
        with listener.connect() as sock:  # the listener itself is unharmed
            sock.sendall(framed(_admit(2)))
            assert read_acks(sock, 1) == [("AA", "C2", "")]
        assert listener.scalar("SELECT count(*) FROM encounter") == 2
    engine.dispose()


_FRAMES = st.lists(
    st.one_of(
        st.integers(0, 30).map(_admit),
        st.just(b"this is not HL7"),
        st.integers(0, 30).map(lambda n: adt("A01", f"BAD{n}", "20240110083000", visit="", admit="20240110083000")),
        st.binary(max_size=60).map(lambda b: b.replace(b"\x1c\r", b"")),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=max(12, LONG_EXAMPLES // 5), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=_FRAMES, cuts=st.lists(st.integers(1, 400), max_size=12))
def test_any_stream_of_frames_in_any_pieces_gets_one_ack_per_frame_in_order(
    fresh_store: StoreMaker, frames: list[str | bytes], cuts: list[int]
) -> None:
    engine = fresh_store()
    data = framed(*frames)
    with Listener(engine) as listener, listener.connect() as sock:
        position = 0
        for size in [*cuts, len(data)]:
            sock.sendall(data[position : position + size])
            position += size
        acks = read_acks(sock, len(frames))
        assert len(acks) == len(frames)
        assert {code for code, _, _ in acks} <= {"AA", "AE", "AR"}
        for (code, control, err), sent in zip(acks, frames, strict=True):
            if isinstance(sent, str):
                assert control == sent.split("|")[9]
            if code != "AA":
                assert err, "a refusal with no ERR segment"
        read = listener.scalar("SELECT count(*) FROM feed_message")
        accepted = listener.scalar("SELECT count(*) FROM feed_message WHERE status='accepted'")
        assert read - accepted == listener.scalar("SELECT count(*) FROM quarantine_item")
        distinct_admits = {sent for sent in frames if isinstance(sent, str) and sent.split("|")[9].startswith("C")}
        assert listener.scalar("SELECT count(*) FROM encounter") == len(distinct_admits)
    engine.dispose()

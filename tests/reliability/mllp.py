"""A real MLLP listener on loopback in a thread, and a raw-socket sender that can misbehave."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from sqlalchemy import Engine, text

from joinedup.feeds import frame, serve_mllp
from joinedup.store import make_session_factory


class Listener:
    """``serve_mllp`` on an ephemeral port of 127.0.0.1, in its own thread and event loop."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        self.engine = engine
        self.options = options
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

        self._loop.run_until_complete(serve_mllp(make_session_factory(self.engine), port=0, source="hospital-pas",
                                                 on_ready=ready, stop=self._stop, **self.options))

    def __enter__(self) -> Listener:
        self._thread.start()
        assert self._ready.wait(10), "listener did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        assert not self._thread.is_alive(), "listener did not stop"
        self._loop.close()

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def read_acks(sock: socket.socket, count: int) -> list[tuple[str, str, str]]:
    """``count`` ACK frames as (MSA-1 code, MSA-2 control id, ERR text); fewer if the peer closes."""
    buffer = b""
    acks: list[tuple[str, str, str]] = []
    while len(acks) < count:
        while b"\x1c\r" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return acks
            buffer += chunk
        block, buffer = buffer.split(b"\x1c\r", 1)
        segments = block.lstrip(b"\x0b").decode().split("\r")
        msa = next(s for s in segments if s.startswith("MSA|")).split("|")
        err = next((s for s in segments if s.startswith("ERR|")), "")
        acks.append((msa[1], msa[2], err))
    return acks


def framed(*messages: str | bytes) -> bytes:
    """Messages framed back to back."""
    return b"".join(frame(m.encode() if isinstance(m, str) else m) for m in messages)

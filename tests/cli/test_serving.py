"""The server workers' fair share of connections (``boxoffice.serving``, decision 0084)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from boxoffice import serving
from boxoffice.serving import BalancedListener, Board, create_board, yield_seconds

#: A hang guard on waits that must end (generous, never what a test asserts).
GUARD = 60.0


@pytest.fixture
def board_path(tmp_path: Path) -> Path:
    return create_board(tmp_path)


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_board_is_private_to_the_server_user(board_path: Path) -> None:
    assert board_path.stat().st_mode & 0o777 == 0o600
    assert board_path.stat().st_size == serving.SLOTS * 16


def test_each_worker_claims_its_own_slot_and_sees_the_others(board_path: Path) -> None:
    me = Board(board_path)
    sibling = Board(board_path, pid=os.getppid())  # another live process
    try:
        assert me.slot != sibling.slot
        assert list(me.others()) == [0]
        sibling.publish(3)
        me.publish(5)
        assert list(me.others()) == [3]
        assert list(sibling.others()) == [5]
        assert me.surplus(5) == 2
        assert sibling.surplus(3) == 0  # holding fewer than the others is no surplus
    finally:
        sibling.close()
        me.close()


def test_a_gone_workers_slot_is_ignored_and_reused(board_path: Path, dead_pid: int) -> None:
    gone = Board(board_path, pid=dead_pid)  # a worker that died holding connections
    gone.publish(40)
    gone.map.close()  # as if the process ended without releasing its slot
    os.close(gone.fd)
    me = Board(board_path)
    try:
        assert me.slot == gone.slot  # its slot is taken over by the next worker
        assert list(me.others()) == []
        assert me.surplus(10) == 0  # alone: never waits
    finally:
        me.close()


def test_a_closed_worker_frees_its_slot(board_path: Path) -> None:
    first = Board(board_path, pid=os.getppid())
    slot = first.slot
    first.close()
    first.close()  # twice is harmless
    second = Board(board_path)
    try:
        assert second.slot == slot
    finally:
        second.close()


def test_workers_beyond_the_board_accept_without_waiting(board_path: Path) -> None:
    boards = [Board(board_path, pid=os.getppid()) for _ in range(serving.SLOTS)]
    extra = Board(board_path)
    try:
        assert extra.slot is None
        assert extra.surplus(100) == 0
        extra.publish(7)  # nowhere to publish: no error
    finally:
        extra.close()
        for board in boards:
            board.close()


def test_the_wait_grows_with_the_surplus_and_is_bounded() -> None:
    assert yield_seconds(0) == 0
    assert yield_seconds(1) == serving.YIELD_SECONDS
    assert yield_seconds(2) == 2 * serving.YIELD_SECONDS
    assert yield_seconds(1000) == serving.MAX_YIELD_SECONDS


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


Streams = list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]


async def _echoed(port: int, count: int) -> Streams:
    """``count`` connections to ``port``, one after another, each answered once by
    :class:`Echo`."""
    streams = []
    for number in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"%02d" % number)
        assert await asyncio.wait_for(reader.readexactly(2), GUARD) == b"%02d" % number
        streams.append((reader, writer))
    return streams


def test_a_busier_listener_leaves_a_waiting_connection_to_its_less_loaded_sibling(
    board_path: Path, listening: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers' listeners (in one loop here) on the shared socket. The one holding more
    connections than its sibling waits before it accepts, and the sibling, woken too, takes the
    connection meanwhile. The wait is made longer than the test (instead of a few
    milliseconds), so who takes the connection does not depend on how fast the machine
    schedules the sibling: the rule, not the race, is checked."""
    monkeypatch.setattr(serving, "yield_seconds", lambda surplus: GUARD if surplus else 0.0)

    async def scenario() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        busy = BalancedListener(loop, Echo, listening.dup(), Board(board_path), 64)
        await busy.start_serving()
        port = listening.getsockname()[1]
        idle = None
        try:
            first = await _echoed(port, 1)  # alone: the busy listener takes it at once
            idle = BalancedListener(
                loop, Echo, listening.dup(), Board(board_path, pid=os.getppid()), 64
            )
            await idle.start_serving()
            second = await _echoed(port, 1)  # busy holds 1, idle 0: idle takes it
            held = (busy.held(), idle.held(), len(first) + len(second))
            for _reader, writer in first + second:
                writer.close()
            return held
        finally:
            for listener in (busy, idle):
                if listener is not None:
                    listener.close()
                    await listener.wait_closed()

    assert asyncio.run(scenario()) == (1, 1, 2)


def test_a_listener_takes_connections_a_sibling_leaves_waiting(
    board_path: Path, listening: socket.socket
) -> None:
    """A sibling that holds fewer connections but does not accept (busy, stuck) delays a
    connection by the bounded wait only: it is taken and served."""

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        idle_sibling = Board(board_path, pid=os.getppid())  # publishes 0, never accepts
        listener = BalancedListener(loop, Echo, listening.dup(), Board(board_path), 64)
        await listener.start_serving()
        port = listening.getsockname()[1]
        try:
            streams = await _echoed(port, 4)
            held = listener.held()
            for _reader, writer in streams:
                writer.close()
            return held
        finally:
            listener.close()
            await listener.wait_closed()
            idle_sibling.close()

    assert asyncio.run(scenario()) == 4


def test_closed_connections_are_no_longer_counted(
    board_path: Path, listening: socket.socket
) -> None:
    async def scenario() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        board = Board(board_path)
        observer = Board(board_path, pid=os.getppid())
        listener = BalancedListener(loop, Echo, listening.dup(), board, 64)
        await listener.start_serving()
        port = listening.getsockname()[1]
        try:
            streams = await _echoed(port, 3)
            published = next(iter(observer.others()))
            for reader, writer in streams:
                writer.close()
                assert await reader.read() == b""
            # Republished within REFRESH_SECONDS; polled (bounded by GUARD), not slept on.
            async with asyncio.timeout(GUARD):
                while True:
                    if next(iter(observer.others())) == 0:
                        break
                    await asyncio.sleep(serving.REFRESH_SECONDS)
            return published, next(iter(observer.others()))
        finally:
            listener.close()
            await listener.wait_closed()
            observer.close()

    assert asyncio.run(scenario()) == (3, 0)


def test_without_a_board_the_loop_is_plain_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvloop

    monkeypatch.delenv(serving.BOARD_ENV, raising=False)
    loop = serving.new_event_loop()
    try:
        assert type(loop) is uvloop.Loop
    finally:
        loop.close()


def test_with_a_board_servers_on_a_shared_socket_balance(
    monkeypatch: pytest.MonkeyPatch, board_path: Path, listening: socket.socket
) -> None:
    """uvicorn's workers get the supervisor's socket (``sock=``): balanced. A server that
    binds its own address (``host``/``port``) is the loop's own."""
    monkeypatch.setenv(serving.BOARD_ENV, str(board_path))
    loop = serving.new_event_loop()

    async def servers() -> tuple[object, object]:
        shared = await loop.create_server(Echo, sock=listening.dup(), backlog=16)
        own = await loop.create_server(Echo, host="127.0.0.1", port=0)
        try:
            return type(shared), type(own)
        finally:
            shared.close()
            own.close()
            await shared.wait_closed()
            await own.wait_closed()

    try:
        shared_type, own_type = loop.run_until_complete(servers())
    finally:
        loop.close()
    assert shared_type is BalancedListener
    assert own_type is not BalancedListener


# --- one write per answer ------------------------------------------------------------------


class RecordingTransport(asyncio.Transport):
    """What a protocol wrote, one entry per ``write`` call reaching the socket."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _answer(scope: dict[str, object], receive: object, send: object) -> None:
    body = b'{"ok":true}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


def _serve_one(protocol_class: type, request: bytes) -> RecordingTransport:
    import uvicorn
    from uvicorn.server import ServerState

    async def scenario() -> RecordingTransport:
        config = uvicorn.Config(app=_answer, lifespan="off", log_level="warning")
        config.load()
        protocol = protocol_class(
            config=config, server_state=ServerState(), app_state={}, _loop=None
        )
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        for _ in range(20):
            await asyncio.sleep(0.01)
        return transport

    return asyncio.run(scenario())


def test_an_answer_goes_out_in_one_write() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    request = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"
    plain = _serve_one(HttpToolsProtocol, request)
    assert len(plain.writes) == 2  # uvicorn's own: the head, then the body
    joined = _serve_one(serving.HttpProtocol, request)
    assert len(joined.writes) == 1
    assert joined.writes == [b"".join(plain.writes)]
    assert joined.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert joined.writes[0].endswith(b'\r\n\r\n{"ok":true}')


def test_pipelined_requests_are_answered_in_order() -> None:
    request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    sent = b"".join(_serve_one(serving.HttpProtocol, request).writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 2
    assert sent.endswith(b'{"ok":true}')


def test_close_sends_what_is_pending_first() -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        writes = serving.CoalescedWrites(transport, asyncio.get_running_loop())
        writes.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        writes.write(b"bye")
        writes.close()
        writes.write(b"late")  # after close: never reaches the socket
        await asyncio.sleep(0.01)
        return transport

    transport = asyncio.run(scenario())
    assert transport.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\nbye"]
    assert transport.closed


def test_writes_in_separate_turns_are_separate_and_in_order() -> None:
    async def scenario() -> RecordingTransport:
        transport = RecordingTransport()
        writes = serving.CoalescedWrites(transport, asyncio.get_running_loop())
        writes.write(b"one")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        writes.write(b"two")
        writes.write(b"three")
        await asyncio.sleep(0.01)
        assert writes.get_extra_info("peername") == ("127.0.0.1", 40000)  # the transport's
        return transport

    assert asyncio.run(scenario()).writes == [b"one", b"twothree"]

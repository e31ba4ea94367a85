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


def test_two_listeners_on_one_socket_share_a_burst_of_connections(
    board_path: Path, listening: socket.socket
) -> None:
    """Two workers' listeners (in one loop here) on the shared socket: 16 connections opened
    at once end up 8 and 8, and each is served by the protocol."""

    async def scenario() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        first = BalancedListener(loop, Echo, listening.dup(), Board(board_path), 64)
        second = BalancedListener(
            loop, Echo, listening.dup(), Board(board_path, pid=os.getppid()), 64
        )
        await first.start_serving()
        await second.start_serving()
        port = listening.getsockname()[1]
        try:
            streams = await asyncio.gather(
                *(asyncio.open_connection("127.0.0.1", port) for _ in range(16))
            )
            for number, (_reader, writer) in enumerate(streams):
                writer.write(b"%02d" % number)
            for number, (reader, _writer) in enumerate(streams):
                assert await asyncio.wait_for(reader.readexactly(2), 5) == b"%02d" % number
            split = (first.held(), second.held())
            for _reader, writer in streams:
                writer.close()
            return split
        finally:
            first.close()
            second.close()
            await first.wait_closed()
            await second.wait_closed()

    split = asyncio.run(scenario())
    assert sum(split) == 16
    assert abs(split[0] - split[1]) <= 1, split


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
            streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
            for reader, writer in streams:
                writer.write(b"ok")
                assert await asyncio.wait_for(reader.readexactly(2), 5) == b"ok"
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
            streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            for reader, writer in streams:
                writer.write(b"hi")
                await reader.readexactly(2)
            published = next(iter(observer.others()))
            for reader, writer in streams:
                writer.close()
                assert await reader.read() == b""
            await asyncio.sleep(serving.REFRESH_SECONDS * 3)
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

"""How ``boxoffice serve``'s workers take connections and write answers (decision 0084).

Workers share the listening socket's connections fairly (below), and a response's head and
body go out in one write (:class:`CoalescedWrites`).

``boxoffice serve --workers N`` binds one listening socket that every worker process accepts
from. A worker woken for a new connection takes every connection waiting (uvloop accepts in a
loop), and a keep-alive connection stays with the worker that took it. Clients that open a few
long-lived connections at once (a reverse proxy's upstream pool, a partner's sync job, the
benchmark's 16 connections) end up mostly on one worker: measured here, one worker at 100% of
a core while the other idled at a third, and a scenario's throughput varying by half between
runs with the split.

So each worker publishes how many connections it holds on a small shared board (a file mapped
in memory, one slot per worker), and a worker holding more than the least-loaded other worker
waits a moment before taking a waiting connection, giving that worker the first chance. The
wait is short and bounded (:data:`YIELD_SECONDS` per connection of surplus, at most
:data:`MAX_YIELD_SECONDS`), and a connection still waiting after it is taken anyway: a busy or
stuck sibling never leaves a connection unanswered. With one worker nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import mmap
import os
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: The board's path, set by ``boxoffice serve`` for its workers.
BOARD_ENV = "BOXOFFICE_WORKER_BOARD"
#: Slots on the board: workers beyond this many accept without balancing.
SLOTS = 64
_SLOT = struct.Struct("=qq")  # a worker's pid (0: free), the connections it holds
#: How long a worker waits per connection it holds beyond the least-loaded other worker.
YIELD_SECONDS = 0.001
MAX_YIELD_SECONDS = 0.005
#: How often a worker republishes its count (connections that closed since).
REFRESH_SECONDS = 0.1

_TCP = (socket.AF_INET, socket.AF_INET6)

log = logging.getLogger("boxoffice.serving")


def create_board(directory: Path) -> Path:
    """The board file for a server's workers, in ``directory`` (the supervisor's)."""
    path = directory / "workers.board"
    with path.open("wb") as out:
        out.write(bytes(SLOTS * _SLOT.size))
    path.chmod(0o600)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Board:
    """This worker's slot on the shared board, and the other workers' counts."""

    def __init__(self, path: str | os.PathLike[str], pid: int | None = None) -> None:
        self.pid = pid or os.getpid()
        self.fd = os.open(path, os.O_RDWR)
        self.map = mmap.mmap(self.fd, SLOTS * _SLOT.size)
        self.slot = self._claim()

    def _claim(self) -> int | None:
        """A free slot, or one whose worker is gone (the supervisor restarts workers)."""
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            for slot in range(SLOTS):
                pid, _count = _SLOT.unpack_from(self.map, slot * _SLOT.size)
                if pid == 0 or not _alive(pid):
                    _SLOT.pack_into(self.map, slot * _SLOT.size, self.pid, 0)
                    return slot
            return None
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def publish(self, connections: int) -> None:
        if self.slot is not None:
            _SLOT.pack_into(self.map, self.slot * _SLOT.size, self.pid, connections)

    def others(self) -> Iterator[int]:
        """The connection counts of the other live workers."""
        for slot in range(SLOTS):
            if slot == self.slot:
                continue
            pid, count = _SLOT.unpack_from(self.map, slot * _SLOT.size)
            if pid and _alive(pid):
                yield count

    def surplus(self, connections: int) -> int:
        """How many connections this worker holds beyond the least-loaded other worker."""
        if self.slot is None:
            return 0
        least = min(self.others(), default=None)
        return 0 if least is None else max(0, connections - least)

    def close(self) -> None:
        if self.map.closed:
            return
        if self.slot is not None:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                pid, _count = _SLOT.unpack_from(self.map, self.slot * _SLOT.size)
                if pid == self.pid:
                    _SLOT.pack_into(self.map, self.slot * _SLOT.size, 0, 0)
            finally:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.map.close()
        os.close(self.fd)


def yield_seconds(surplus: int) -> float:
    return min(MAX_YIELD_SECONDS, surplus * YIELD_SECONDS)


class BalancedListener(asyncio.AbstractServer):
    """Accepts from a shared listening socket, yielding to less-loaded workers (above), and
    hands each connection to the server's protocol like the loop's own server would."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        sock: socket.socket,
        board: Board,
        backlog: int = 100,
    ) -> None:
        self.loop = loop
        self.backlog = backlog
        self.protocol_factory = protocol_factory
        self.sock = sock
        self.board = board
        self.transports: set[asyncio.BaseTransport] = set()
        self.tasks: list[asyncio.Task[None]] = []
        self.serving = False

    def held(self) -> int:
        """Connections open now (closed transports are dropped)."""
        self.transports = {t for t in self.transports if not t.is_closing()}
        return len(self.transports)

    async def start_serving(self) -> None:
        if self.serving:
            return
        self.sock.setblocking(False)
        self.sock.listen(self.backlog)  # the supervisor binds; the servers listen
        self.serving = True
        self.board.publish(0)
        self.tasks = [
            self.loop.create_task(self._accept_forever()),
            self.loop.create_task(self._refresh_forever()),
        ]

    async def _readable(self) -> None:
        ready = self.loop.create_future()
        fd = self.sock.fileno()
        self.loop.add_reader(fd, _resolve, ready)
        try:
            await ready
        finally:
            self.loop.remove_reader(fd)

    async def _accept_forever(self) -> None:
        while True:
            await self._readable()
            wait = yield_seconds(self.board.surplus(self.held()))
            if wait:
                await asyncio.sleep(wait)  # a less-loaded worker takes it meanwhile
            try:
                conn, _address = self.sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue  # another worker took it, or the client gave up
            except OSError as exc:  # out of file descriptors, memory: back off like asyncio
                log.error("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            await self._serve(conn)

    async def _serve(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        if conn.family in _TCP:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            transport, _protocol = await self.loop.connect_accepted_socket(
                self.protocol_factory, conn
            )
        except Exception as exc:  # the client went away before the protocol started
            log.debug("connection dropped at start: %s", exc)
            conn.close()
            return
        self.transports.add(transport)
        self.board.publish(self.held())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            self.board.publish(self.held())

    # asyncio.AbstractServer

    def close(self) -> None:
        if not self.serving:
            return
        self.serving = False
        for task in self.tasks:
            task.cancel()
        self.board.close()
        self.sock.close()

    async def wait_closed(self) -> None:
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self.loop

    def is_serving(self) -> bool:
        return self.serving

    async def serve_forever(self) -> None:
        await self.start_serving()
        await asyncio.gather(*self.tasks)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self.sock,) if self.serving else ()


def _resolve(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


class BalancedLoop(uvloop.Loop):
    """uvloop, whose servers on a shared TCP socket accept through :class:`BalancedListener`."""

    def __init__(self, board_path: str) -> None:
        super().__init__()
        self.board_path = board_path

    async def create_server(  # type: ignore[override]
        self,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: Any = None,
        port: Any = None,
        *,
        sock: socket.socket | None = None,
        ssl: Any = None,
        **options: Any,
    ) -> asyncio.AbstractServer:
        backlog = options.pop("backlog", 100)
        start = options.pop("start_serving", True)
        # Its own address, TLS, not TCP, or settings the listener does not implement.
        if sock is None or ssl is not None or options or sock.family not in _TCP:
            return await super().create_server(
                protocol_factory,
                host,
                port,
                sock=sock,
                ssl=ssl,
                backlog=backlog,
                start_serving=start,
                **options,
            )
        listener = BalancedListener(self, protocol_factory, sock, Board(self.board_path), backlog)
        if start:
            await listener.start_serving()
        return listener


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop of a server worker (``uvicorn`` ``loop=`` setting of ``boxoffice
    serve``): balanced when the supervisor set up a board, plain uvloop otherwise."""
    board = os.environ.get(BOARD_ENV)
    if not board:
        return uvloop.new_event_loop()
    return BalancedLoop(board)


class CoalescedWrites:
    """A transport whose writes during one turn of the event loop go out as one.

    uvicorn writes a response's status line and headers, then its body: two ``send`` calls,
    two TCP segments and two wake-ups of the client for every small answer. Written in the
    same turn (an answer built in memory is), they are joined and sent once when the turn ends
    (``call_soon``): about 5% of a signed GET's server CPU on loopback (decision 0084). Order
    is kept, and ``close`` sends what is pending first; everything else is the transport's.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self._flush)
        else:
            self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescedWrites` transport (``http=`` of
    ``boxoffice serve``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescedWrites(transport, self.loop))  # type: ignore[arg-type]

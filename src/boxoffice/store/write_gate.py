"""The SQLite writers' queue: one writing unit of work at a time per process, handed over
between processes without sleeping (decision 0078).

SQLite has one write lock per database file. A writer that finds it taken waits in SQLite's
busy handler, which polls by sleeping 1, 2, 5, 10 ... then 100 ms at a time. Under a stream of
writes from several coroutines and several server workers, the worker that has just committed
takes the lock again long before a sleeping rival wakes up: the rival's request waits for
seconds (the benchmark's concurrent ``POST customers`` had a 6 ms median and a 3.4 s p99).

The gate queues writers before they ask SQLite:

- in a process, an :class:`asyncio.Lock` (first come, first served) lets one writing unit of
  work at a time through, so a worker's writers never race one another for the file;
- between processes, ``flock`` on a lock file beside the database: a waiting process blocks in
  the kernel (in a thread of its own, never on the event loop) and is woken the moment the
  holder lets go, while the holder's next writer still has to pass its own queue. A writer
  first asks for the file without waiting: when no other process holds it (the usual case)
  it is through at once, without a hand-off to that thread.

SQLite's lock stays the rule; the gate only orders the writers who would otherwise poll for
it. Processes that do not use the gate (the CLI's import, a migration) are still serialised
by SQLite's busy handler, as before. A writer that cannot pass the gate within
:data:`WAIT_SECONDS` goes on without it, so the gate never makes a request fail that SQLite
alone would have served.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: How long a writer queues at the gate before asking SQLite directly (SQLite's own busy
#: timeout, ``store/db.py``, is as long).
WAIT_SECONDS = 30.0


class WriteGate:
    """The writers' queue of one SQLite database file (see the module's docstring)."""

    def __init__(self, database: str) -> None:
        self.path = Path(database + "-writers.lock")
        self._lock = asyncio.Lock()
        self._fd: int | None = None
        #: The task through the gate, to refuse a second writing unit of work in it.
        self._holder: asyncio.Task[object] | None = None
        #: One thread: only the process's head of the queue ever waits for the file.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writers")

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def _lock_file(self) -> None:
        fcntl.flock(self._file(), fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def enter(self) -> bool:
        """Queue for the gate; True once through (then :meth:`leave` must follow), False when
        :data:`WAIT_SECONDS` passed first (the writer goes on without the gate)."""
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # It would wait for itself: a writing unit of work must not be nested.
            raise RuntimeError("a writing unit of work is already open in this task")
        try:
            await asyncio.wait_for(self._lock.acquire(), WAIT_SECONDS)
        except TimeoutError:
            return False
        try:
            # The file too, when no other process holds it: no hand-off to the thread.
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another process writes: wait for it in the thread, below
        except OSError:  # no lock file here (a read-only directory...): SQLite alone
            self._lock.release()
            return False
        else:
            self._holder = task
            return True
        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(self._thread, self._lock_file)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), WAIT_SECONDS)
        except OSError:  # no lock file here (a read-only directory...): SQLite alone
            self._lock.release()
            return False
        except (TimeoutError, asyncio.CancelledError) as exc:
            # The thread may still get the file later: give it back then, and only then let
            # the next writer of this process queue for it.
            waiting.add_done_callback(self._abandon)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return False
        self._holder = task
        return True

    def _abandon(self, waiting: asyncio.Future[None]) -> None:
        if not waiting.cancelled() and waiting.exception() is None:
            with contextlib.suppress(OSError):
                self._unlock_file()
        self._lock.release()

    def leave(self) -> None:
        """Let the next writer through (after the transaction ended)."""
        self._holder = None
        try:
            with contextlib.suppress(OSError):
                self._unlock_file()
        finally:
            self._lock.release()

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

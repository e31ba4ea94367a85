"""Differential tests of a dialect's fast lane (``api/*/fastlane.py``): each request is sent
through the whole application (the lane answers what it recognises) and again with the lane
switched off (FastAPI answers everything); status, body and headers must be the same, byte for
byte, apart from the request id and the date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_URL

#: Headers that differ between any two answers.
_PER_ANSWER = {"x-request-id", "date"}

SameAnswer = Callable[
    [httpx.AsyncClient, pytest.MonkeyPatch, str, "dict[str, str] | None"],
    Awaitable[httpx.Response],
]


@contextmanager
def lane_off(monkeypatch: pytest.MonkeyPatch, lane: type[Any]) -> Iterator[None]:
    """Within the block, ``lane`` recognises nothing: FastAPI answers every request."""
    with monkeypatch.context() as patch:
        patch.setattr(lane, "_lane", lambda self, scope: None)
        yield


def spy_on(monkeypatch: pytest.MonkeyPatch, lane: type[Any]) -> list[str]:
    """The paths ``lane`` recognises from now on (answered, or handed on for their query)."""
    taken: list[str] = []
    original = lane._lane

    def spy(self: Any, scope: dict[str, object]) -> object:
        found = original(self, scope)
        if found is not None:
            taken.append(str(scope["path"]))
        return found

    monkeypatch.setattr(lane, "_lane", spy)
    return taken


def same_answer_of(lane: type[Any]) -> SameAnswer:
    """``same_answer(http, monkeypatch, path, headers)`` for ``lane``: the answer, once it is
    shown to be the same with the lane off."""

    async def same_answer(
        http: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        path: str,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        url = f"{BASE_URL}{path}"
        fast = await http.get(url, headers=headers)
        with lane_off(monkeypatch, lane):
            slow = await http.get(url, headers=headers)
        assert fast.status_code == slow.status_code, path
        assert fast.content == slow.content, path
        assert [(k, v) for k, v in fast.headers.items() if k not in _PER_ANSWER] == [
            (k, v) for k, v in slow.headers.items() if k not in _PER_ANSWER
        ], path
        return fast

    return same_answer

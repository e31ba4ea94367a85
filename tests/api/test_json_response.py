"""``api/common/responses.JSON``: its own headers are Starlette's, byte for byte."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse

from boxoffice.api.common.responses import JSON


class _Starlettes(JSONResponse):
    """What Starlette's own ``__init__`` makes of the same response."""

    media_type = JSON.media_type

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


CONTENTS = [{"a": 1, "é": "ü"}, [], None, "text", {"nested": {"x": [1, 2.5, None]}}]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("status", [200, 201, 204, 304, 400, 404, 429, 503, 101])
def test_headers_body_and_status_are_starlettes(content: Any, status: int) -> None:
    ours, theirs = JSON(content, status_code=status), _Starlettes(content, status_code=status)
    assert ours.raw_headers == theirs.raw_headers
    assert ours.body == theirs.body
    assert ours.status_code == theirs.status_code
    assert ours.background is None and ours.media_type == theirs.media_type


def test_given_headers_media_type_and_background_take_starlettes_way() -> None:
    task = BackgroundTask(lambda: None)
    kwargs: dict[str, Any] = {"headers": {"Retry-After": "3"}, "background": task}
    ours, theirs = JSON({"a": 1}, 429, **kwargs), _Starlettes({"a": 1}, 429, **kwargs)
    assert ours.raw_headers == theirs.raw_headers and ours.background is task
    ours = JSON({"a": 1}, media_type="application/problem+json")
    theirs = _Starlettes({"a": 1}, media_type="application/problem+json")
    assert ours.raw_headers == theirs.raw_headers


def test_cookies_can_still_be_added() -> None:
    response = JSON({"a": 1})
    response.set_cookie("s", "v")
    assert response.raw_headers[:2] == _Starlettes({"a": 1}).raw_headers
    assert response.raw_headers[2][0] == b"set-cookie"
    assert JSON({"a": 1}).raw_headers == _Starlettes({"a": 1}).raw_headers  # nothing shared

"""Fast JSON responses (orjson), keeping the key order the mappers build."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse


class JSON(JSONResponse):
    media_type = "application/json; charset=utf-8"

    def __init__(
        self,
        content: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        """Most answers give only a body and a status: their headers are made here, the very
        ones Starlette's ``init_headers`` makes (a length, then the type), without its general
        case's work on every request. Anything else takes Starlette's way."""
        if (
            headers is not None
            or media_type is not None
            or status_code < 200
            or status_code in (204, 304)
        ):
            super().__init__(content, status_code, headers, media_type, background)
            return
        self.status_code = status_code
        self.background = background
        self.body = body = orjson.dumps(content)
        self.raw_headers = [(b"content-length", str(len(body)).encode("latin-1")), _CONTENT_TYPE]

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


_CONTENT_TYPE = (b"content-type", JSON.media_type.encode("latin-1"))

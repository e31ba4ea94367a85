from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from tests.api.web.test_captcha_signup import _Verifier


@pytest.fixture
def verifier() -> Iterator[str]:
    """A local CAPTCHA verifier (siteverify) that accepts the token ``good-token``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Verifier)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    finally:
        server.shutdown()
        server.server_close()

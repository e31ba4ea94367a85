"""A local CAPTCHA verifier (siteverify) for tests: accepts the token ``good-token`` sent with
:data:`SECRET`. The ``verifier`` fixture (``tests/conftest.py``) serves it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

SECRET = "captcha-secret-value"


class SiteVerify(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        ok = form.get("secret") == [SECRET] and form.get("response") == ["good-token"]
        body = json.dumps({"success": ok}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def serving_verifier() -> Iterator[str]:
    """Serve :class:`SiteVerify` on 127.0.0.1; yields its siteverify URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteVerify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    finally:
        server.shutdown()
        server.server_close()

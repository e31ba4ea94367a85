"""The demo venue's website, served by ``boxoffice demo`` beside the instance (decision 0106).

A few static pages (``web/demo_venue/``) playing a venue's own site on its own origin
(``http://localhost:8080``, the demo tenant's allowed origin): boxoffice's pages in iframes with
``integrate.js``, the ``<spektrix-login-status>`` component, the plain sign-up form and links
to the API docs. The pages name the instance by the same host name (``localhost``), so the
browser sees one site and the session cookie works in the iframes.

The listener is a small thread of the demo process (the standard library's HTTP server): it
serves only these files, for GET and HEAD, and stops with the process.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from boxoffice.services.demo import DEMO_EMAIL, DEMO_PASSWORD

PAGES_DIR = Path(__file__).resolve().parent.parent / "web" / "demo_venue"
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}


def venue_pages(instance: str, venue: str, client: str = "demo") -> dict[str, tuple[bytes, str]]:
    """Each page's path -> (body, content type), with the instance's and the venue's origins
    filled in."""
    fill = {
        "__BOXOFFICE__": instance,
        "__VENUE__": venue,
        "__CLIENT__": client,
        "__DEMO_EMAIL__": DEMO_EMAIL,
        "__DEMO_PASSWORD__": DEMO_PASSWORD,
    }
    pages: dict[str, tuple[bytes, str]] = {}
    for path in sorted(PAGES_DIR.iterdir()):
        if path.suffix not in TYPES:
            continue
        text = path.read_text(encoding="utf-8")
        for key, value in fill.items():
            text = text.replace(key, value)
        pages[f"/{path.name}"] = (text.encode("utf-8"), TYPES[path.suffix])
    pages["/"] = pages["/index.html"]
    return pages


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[bytes, str]]] = {}
    server_version = "demo-venue"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        found = self.pages.get(urlsplit(self.path).path)
        data, content_type = found or (b"Not found\n", "text/plain; charset=utf-8")
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo's terminal shows the instance's output only


def serve_venue(sock: socket.socket, pages: dict[str, tuple[bytes, str]]) -> ThreadingHTTPServer:
    """Serve ``pages`` on ``sock`` (bound and listening) from a daemon thread."""
    handler = type("VenueHandler", (_Handler,), {"pages": pages})
    server = ThreadingHTTPServer(sock.getsockname()[:2], handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-venue", daemon=True).start()
    return server

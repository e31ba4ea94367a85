"""A toy CRM for ``syncWithCRM``: answers boxoffice's lookups from a small in-memory table.

.venv/bin/python docs/examples/brandchannel_crm.py 8099        # serves http://127.0.0.1:8099/lookup

Then point brand 1 of the demo tenant at it (``boxoffice catalog load demo crm.yaml``)::

    brands:
      - id: 1
        name: Demo Theatre
        crm_url: http://127.0.0.1:8099/lookup

boxoffice asks ``GET /lookup?brand_id=1&channel=telephone&address=%2B420...`` and expects a
JSON object (``external_primary_id``, ``firstname``, ``lastname``, ``custom_<name>``,
``channels``), or 404 when the CRM does not know the address. This CRM knows every phone
number and email address: it invents a person for each.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def record(channel: str, address: str) -> dict[str, Any] | None:
    """What the CRM knows about an address (``None``: nothing)."""
    if channel not in ("telephone", "email"):
        return None
    key = "".join(c for c in address if c.isalnum())[-6:]
    return {
        "external_primary_id": f"CRM-{key}",
        "firstname": "Karel",
        "lastname": "Čapek",
        "custom_testfield": "synced from the toy CRM",
        "channels": [{"type": channel, "value": address}],
    }


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        found = (
            record(query.get("channel", ""), query.get("address", ""))
            if url.path == "/lookup"
            else None
        )
        body = json.dumps(found or {"error": "not found"}).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        print("CRM:", self.command, self.path)


def make_server(port: int = 8099) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
    print(f"toy CRM at http://127.0.0.1:{port}/lookup")
    make_server(port).serve_forever()

"""The load generator: a separate process driving one scenario over loopback HTTP/1.1.

``python bench/load.py SPEC_JSON`` runs ``connections`` keep-alive connections for at most
``duration`` seconds and ``max_requests`` requests, and prints one JSON object: requests,
errors (status >= 400 other than the expected ones, or transport errors), statuses, req/s,
latency percentiles and its own CPU time per request. It speaks HTTP/1.1 itself on asyncio
streams (no client library in the way: a client library's per-request cost would cap the
measured rate long before the server does) and signs System Owner requests with
``boxoffice.security.signatures``. Requests that may be repeated (every GET scenario) are
built before the clock starts (:class:`Prebuilt`); each POST is built when sent (a unique
email each).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from boxoffice.security import signatures

Request = tuple[bytes, set[int]]  # the bytes to send, the statuses that count as success


class Scenario:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.host = spec["host"]
        self.port = spec["port"]
        self.base = f"http://{self.host}:{self.port}"
        self.counter = itertools.count()
        self.rng = random.Random(os.getpid())
        self._date = ("", 0.0)

    def date(self) -> str:
        now = time.time()
        if now - self._date[1] >= 1.0:
            self._date = (formatdate(now, usegmt=True), now)
        return self._date[0]

    def raw(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

    def signed(self, method: str, path: str, body: Any = None) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        date = self.date()
        signature = signatures.sign(
            self.spec["secret"], method, self.base + path, date, None if method == "GET" else data
        )
        headers = {
            "Date": date,
            "Authorization": signatures.authorization_header(self.spec["login"], signature),
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.raw(method, path, headers, data)

    def unique_email(self) -> str:
        return f"load-{os.getpid()}-{next(self.counter)}-{self.rng.randrange(10**9)}@example.org"

    def next(self) -> Request:
        name = self.spec["scenario"]
        tenant = self.spec.get("tenant", "")
        spektrix = f"/{tenant}/api/v3"
        if name == "bare":
            return self.raw("GET", "/", {}), {200}
        if name == "owner_get":
            code = self.rng.choice(self.spec["customer_codes"])
            return self.signed("GET", f"{spektrix}/customers/{code}"), {200}
        if name == "owner_email":
            email = self.rng.choice(self.spec["emails"])
            return self.signed("GET", f"{spektrix}/customers?email={quote(email)}"), {200}
        if name == "owner_post":
            body = {"firstName": "Load", "lastName": "Test", "email": self.unique_email()}
            return self.signed("POST", f"{spektrix}/customers", body), {200, 201}
        origin = {"Origin": self.spec.get("origin", "http://localhost:8080")}
        if name == "web_signup":
            data = json.dumps(
                {"firstName": "Web", "lastName": "Signup", "email": self.unique_email()}
            ).encode()
            headers = {**origin, "Content-Type": "application/json"}
            return self.raw("POST", f"{spektrix}/customer", headers, data), {200, 201}
        if name == "web_get":
            headers = {**origin, "Cookie": self.spec["cookie"]}
            return self.raw("GET", f"{spektrix}/customer", headers), {200}
        if name == "login":
            data = json.dumps(
                {"email": self.spec["login_email"], "password": self.spec["password"]}
            ).encode()
            headers = {**origin, "Content-Type": "application/json"}
            return self.raw("POST", f"{spektrix}/customer/authenticate", headers, data), {200}
        if name == "carecloud_get":
            path = (
                f"/{tenant}/webservice/rest-api/customer-interface/v1.0/customers/"
                f"{self.spec['carecloud_customer']}"
            )
            headers = {"Authorization": f"Bearer {self.spec['token']}"}
            return self.raw("GET", path, headers), {200}
        if name == "events_expand":  # a venue website's programme page: web mode, unsigned
            return self.raw("GET", f"{spektrix}/events?$expand=instances", origin), {200}
        if name == "instance_status":  # its seat counts on an on-sale morning: web mode
            path = f"{spektrix}/instances/{self.spec['instance_id']}/status"
            return self.raw("GET", path, origin), {200}
        if name == "instance_status_changing":  # the venue's counts while seats change
            path = f"{spektrix}/instances/{self.spec['instance_id']}/status"
            return self.signed("GET", path), {200}
        if name == "brand_index":
            start = self.rng.randrange(0, 100)
            path = f"/api/v2/customer?itemStart={start}&itemLimit=15"
            return self.raw("GET", path, {"apiKey": self.spec["api_key"]}), {200}
        raise SystemExit(f"unknown scenario {name}")


def _counts_add_up(body: bytes) -> bool:
    """A System Owner instance status whose counts add up: every place of the plan is
    available, in a basket, sold, locked or reserved; and its bands' places add up to its
    capacity and its available places (the same snapshot of the seats)."""
    status = json.loads(body)
    parts = ("available", "inBasket", "inOtherBasket", "sold", "locked", "reserved")
    bands = status["bands"]
    return (
        sum(int(status[p]) for p in parts) == int(status["capacity"])
        and sum(int(b["capacity"]) for b in bands) == int(status["capacity"])
        and sum(int(b["available"]) for b in bands) == int(status["available"])
    )


#: Scenarios whose answers are checked, not only their status codes: an answer that fails its
#: check counts as an error (and as ``inconsistent``).
CHECKS = {"instance_status_changing": _counts_add_up}


async def _read_response(
    reader: asyncio.StreamReader, keep_body: bool = False
) -> tuple[int, bool, bytes]:
    """Read one response; returns its status, whether the connection stays open and (when
    ``keep_body``) its body. The head is read in one call (one await, not one per header
    line)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ConnectionError("closed") from exc
        raise
    status_line, _, fields = head.partition(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    chunked = False
    keep = True
    for line in fields.split(b"\r\n"):
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value.strip())
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif lowered == b"connection" and b"close" in value.lower():
            keep = False
    body = b""
    if chunked:
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if keep_body:
                body += chunk[:-2]
            if size == 0:
                break
    elif length:
        data = await reader.readexactly(length)
        if keep_body:
            body = data
    return status, keep, body


#: Scenarios whose requests may be sent more than once: built before the clock starts.
REPEATABLE = frozenset(
    {
        "bare",
        "owner_get",
        "owner_email",
        "web_get",
        "carecloud_get",
        "brand_index",
        "events_expand",
        "instance_status",
        "instance_status_changing",
    }
)
#: How many such requests are built (and sent in turn): each a random customer as before.
PREBUILT = 4096


class Prebuilt:
    """A scenario's requests built in advance, so that the load generator's own work per
    request (random choice, formatting, the HMAC of a signed request), which shares the
    machine's cores with the server, is not spent while measuring. Signed requests carry the
    ``Date`` of when they were built, seconds old when sent: well inside the signature's
    allowed clock skew."""

    def __init__(self, scenario: Scenario, count: int) -> None:
        self.host = scenario.host
        self.port = scenario.port
        self.requests = [scenario.next() for _ in range(count)]
        self.turn = itertools.cycle(self.requests)

    def next(self) -> Request:
        return next(self.turn)


def requests_for(spec: dict[str, Any]) -> Scenario | Prebuilt:
    scenario = Scenario(spec)
    if spec["scenario"] in REPEATABLE:
        return Prebuilt(scenario, int(spec.get("prebuilt", PREBUILT)))
    return scenario


async def _connection(
    scenario: Scenario | Prebuilt,
    deadline: float,
    budget: list[int],
    latencies: list[float],
    statuses: Counter[int],
    errors: list[int],
    check: Callable[[bytes], bool] | None = None,
    inconsistent: list[int] | None = None,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < deadline and budget[0] > 0:
        budget[0] -= 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(scenario.host, scenario.port)
            assert reader is not None
            data, ok = scenario.next()
            started = time.perf_counter()
            writer.write(data)
            status, keep, body = await asyncio.wait_for(
                _read_response(reader, check is not None),
                max(0.1, deadline + 30 - time.monotonic()),
            )
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if status not in ok:
                errors[0] += 1
            elif check is not None and inconsistent is not None and not check(body):
                errors[0] += 1
                inconsistent[0] += 1
            if not keep:
                writer.close()
                reader = writer = None
        except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            errors[0] += 1
            statuses[0] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    scenario = requests_for(spec)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = [0]
    inconsistent = [0]
    check = CHECKS.get(spec["scenario"])
    budget = [int(spec.get("max_requests", 10**9))]
    started = time.monotonic()
    cpu_started = time.process_time()
    deadline = started + float(spec["duration"])
    await asyncio.gather(
        *(
            _connection(
                scenario, deadline, budget, latencies, statuses, errors, check, inconsistent
            )
            for _ in range(int(spec["connections"]))
        )
    )
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    latencies.sort()
    return {
        "scenario": spec["scenario"],
        "connections": spec["connections"],
        "seconds": round(elapsed, 3),
        "requests": len(latencies),
        "errors": errors[0],
        # Answers that came back 200 but failed the scenario's check (``CHECKS``).
        "inconsistent": inconsistent[0],
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 3),
        # This process's own CPU time per answer, while measuring: on a machine whose cores
        # it shares with the server, what it takes from them.
        "client_cpu_ms_per_request": round(1000 * cpu / max(len(latencies), 1), 3),
    }


def main() -> None:
    spec = json.loads(sys.argv[1]) if sys.argv[1] != "-" else json.load(sys.stdin)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()

"""An on-sale rush (issue 18): many buyers racing for the seats of one performance.

    python bench/rush.py SPEC_JSON

SPEC: ``base`` (the server), ``tenant``, ``login``/``secret`` (a System Owner), ``instance``
(its id), ``buyers`` (how many), ``concurrency`` (how many at once), ``seed``, and the shares
of buyers who ask for the best available seats (``best_share``) and who abandon their basket
before paying (``abandon_share``); the others choose seats from the plan.

Each buyer has a basket of its own: it creates it, asks for 2 to 4 seats (chosen ones, retried
with other seats when refused as taken, or the best available), records the money as a custom
payment (card payments come with the checkout pages) and confirms. Meanwhile a sampler reads
the instance's status again and again and checks that ``available + inOtherBasket + inBasket +
sold + locked + reserved == capacity`` every time. At the end every seat sold is checked to
appear in one order only, and the status's ``sold`` to equal the tickets of the orders.

Prints one JSON object: orders confirmed, orders per second, p50/p99 per step, statuses,
refusals, errors (5xx or transport), samples taken and samples that did not add up, seats sold
twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from email.utils import formatdate
from typing import Any

import httpx

from boxoffice.security import signatures

#: A buyer tries chosen seats this many times before giving up (a sold-out show).
ATTEMPTS = 6


class Owner:
    def __init__(self, client: httpx.AsyncClient, spec: dict[str, Any]) -> None:
        self.client = client
        self.base = spec["base"].rstrip("/")
        self.api = f"/{spec['tenant']}/api/v3"
        self.login = spec["login"]
        self.secret = spec["secret"]

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        data = None if body is None else json.dumps(body).encode()
        url = f"{self.base}{self.api}/{path}"
        date = formatdate(usegmt=True)
        signature = signatures.sign(
            self.secret, method, url, date, None if method == "GET" else data
        )
        headers = {
            "Date": date,
            "Authorization": signatures.authorization_header(self.login, signature),
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        return await self.client.request(method, url, content=data, headers=headers)


class Tally:
    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self.statuses: Counter[str] = Counter()
        self.errors = 0
        self.refused: Counter[int] = Counter()
        self.orders: list[dict[str, Any]] = []

    async def timed(self, step: str, call: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = await call
        except httpx.HTTPError:
            self.errors += 1
            return None
        self.steps.setdefault(step, []).append(time.perf_counter() - started)
        self.statuses[f"{step} {response.status_code}"] += 1
        if response.status_code >= 500:
            self.errors += 1
        elif response.status_code == 409:
            self.refused[response.json().get("errorCode", 0)] += 1
        return response


async def buyer(
    owner: Owner, spec: dict[str, Any], seats: list[str], rng: random.Random, tally: Tally
) -> None:
    instance = spec["instance"]
    quantity = rng.randint(2, 4)
    created = await tally.timed("create", owner.call("POST", "baskets", {}))
    if created is None or created.status_code != 200:
        return
    basket = created.json()["id"]
    tickets: list[dict[str, Any]] = []
    if rng.random() < spec["best_share"]:
        held = await tally.timed(
            "hold",
            owner.call(
                "POST",
                f"baskets/{basket}/tickets/best-available",
                {"instance": instance, "quantity": quantity},
            ),
        )
        if held is not None and held.status_code == 200:
            tickets = held.json()
    else:
        for _ in range(ATTEMPTS):
            start = rng.randrange(len(seats))
            chosen = [seats[(start + i) % len(seats)] for i in range(quantity)]
            held = await tally.timed(
                "hold",
                owner.call(
                    "POST",
                    f"baskets/{basket}/tickets",
                    [{"instance": instance, "seat": seat} for seat in chosen],
                ),
            )
            if held is None or held.status_code != 409:
                if held is not None and held.status_code == 200:
                    tickets = held.json()
                break
    if not tickets or rng.random() < spec["abandon_share"]:
        return
    total = round(sum(t["total"] for t in tickets), 2)
    paid = await tally.timed(
        "pay",
        owner.call(
            "POST",
            f"baskets/{basket}/custom-payments",
            {"amount": total, "paymentTypeId": "Cash"},
        ),
    )
    if paid is None or paid.status_code != 200:
        return
    confirmed = await tally.timed(
        "confirm",
        owner.call("POST", f"baskets/{basket}/confirm", {"sendConfirmationEmail": False}),
    )
    if confirmed is not None and confirmed.status_code == 200:
        tally.orders.append(confirmed.json())


async def sampler(owner: Owner, instance: str, stop: asyncio.Event) -> tuple[int, int]:
    taken = bad = 0
    while not stop.is_set():
        response = await owner.call("GET", f"instances/{instance}/status")
        if response.status_code == 200:
            s = response.json()
            parts = ("available", "inBasket", "inOtherBasket", "sold", "locked", "reserved")
            taken += 1
            bad += sum(s[p] for p in parts) != s["capacity"]
        await asyncio.sleep(0.01)
    return taken, bad


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=spec["concurrency"] + 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        owner = Owner(client, spec)
        plan = (await owner.call("GET", f"instances/{spec['instance']}/plan")).json()
        seats = [s["id"] for a in plan["areas"] for s in a["seats"]]
        before = (await owner.call("GET", f"instances/{spec['instance']}/status")).json()
        rng = random.Random(spec.get("seed", 1))
        tally = Tally()
        stop = asyncio.Event()
        watching = asyncio.create_task(sampler(owner, spec["instance"], stop))
        gate = asyncio.Semaphore(spec["concurrency"])

        async def one(i: int) -> None:
            async with gate:
                await buyer(owner, spec, seats, random.Random(rng.random() + i), tally)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(spec["buyers"])))
        elapsed = time.perf_counter() - started
        stop.set()
        samples, bad_samples = await watching
        after = (await owner.call("GET", f"instances/{spec['instance']}/status")).json()
    sold = Counter(
        t["seat"]["id"] for o in tally.orders for t in o["tickets"] if t.get("seat") is not None
    )
    tickets = sum(len(o["tickets"]) for o in tally.orders)
    return {
        "buyers": spec["buyers"],
        "concurrency": spec["concurrency"],
        "orders": len(tally.orders),
        "orders_per_s": round(len(tally.orders) / elapsed, 1) if elapsed else 0.0,
        "seconds": round(elapsed, 2),
        "tickets_sold": tickets,
        "sold_before": before["sold"],
        "sold_after": after["sold"],
        "sold_matches_orders": after["sold"] - before["sold"] == tickets,
        "seats_sold_twice": sum(1 for n in sold.values() if n > 1),
        "samples": samples,
        "samples_not_adding_up": bad_samples,
        "errors": tally.errors,
        "refused": {str(k): v for k, v in sorted(tally.refused.items())},
        "statuses": dict(sorted(tally.statuses.items())),
        "p50_ms": {k: round(_percentile(v, 0.5), 1) for k, v in tally.steps.items()},
        "p99_ms": {k: round(_percentile(v, 0.99), 1) for k, v in tally.steps.items()},
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    spec.setdefault("best_share", 0.3)
    spec.setdefault("abandon_share", 0.15)
    spec.setdefault("concurrency", 100)
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()

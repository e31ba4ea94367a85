"""``$expand=orders`` on the Customer: System Owner ``customers/{id}`` and web mode
``customer`` list the customer's confirmed orders (newest first), each in the Order shape of
``customers/{id}/orders``; orders are read only when asked for. Real orders, confirmed through
``services/baskets.py``. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import parse_customer_code, resource_code
from tests.api.orders_support import confirmed_order, shop, statements
from tests.api.spektrix.support import SCHEMA_ORDER, create, load_box_office
from tests.conftest import BASE_URL, Signer

ORIGIN = {"Origin": "http://localhost:8080"}


def _key(code: str) -> int:
    key = parse_customer_code(code)
    assert key is not None
    return key


async def test_owner_customer_expands_its_orders(
    owner_api: Signer, core: Core, tenant: tuple[str, int]
) -> None:
    await load_box_office(core, owner_api.tenant)
    s = await shop(core, tenant[1])
    customer = await create(owner_api)
    neighbour = await create(owner_api)
    path = f"customers/{customer['id']}"

    empty = await owner_api.get(f"{path}?$expand=orders")
    assert empty.status_code == 200, empty.text
    assert empty.json()["orders"] == []

    first = await confirmed_order(core, s, _key(customer["id"]), seats=("B5",), everything=True)
    second = await confirmed_order(
        core, s, _key(customer["id"]), seats=("C1", "C2"), at=s.now + timedelta(hours=1)
    )
    await confirmed_order(core, s, _key(neighbour["id"]), seats=("D1",))

    expanded = await owner_api.get(f"{path}?$expand=orders")
    assert expanded.status_code == 200, expanded.text
    body = expanded.json()
    assert [k for k in body if not k.startswith("attribute_")] == [
        k for k in SCHEMA_ORDER if k in {*body, "orders"}
    ]
    listed = body["orders"]
    assert [o["id"] for o in listed] == [
        resource_code("order", second.id),
        resource_code("order", first.id),
    ]
    # The very shape (and values) of the customer's orders list.
    assert listed == (await owner_api.get(f"{path}/orders")).json()
    assert listed[1]["total"] == 135.0 and listed[1]["customer"] == {"id": customer["id"]}
    assert len(listed[1]["tickets"]) == 1 and len(listed[0]["tickets"]) == 2
    assert [len(listed[1][k]) for k in ("merchandiseItems", "donations", "giftVouchers")] == [
        1,
        1,
        1,
    ]
    assert listed[1]["membershipSubscriptions"][0]["membership"]
    # Beside other collections, and the neighbour's own.
    both = (await owner_api.get(f"{path}?$expand=tags,orders")).json()
    assert both["orders"] == listed and both["tags"] == []
    theirs = (await owner_api.get(f"customers/{neighbour['id']}?$expand=orders")).json()
    assert len(theirs["orders"]) == 1 and theirs["orders"][0]["id"] not in {o["id"] for o in listed}

    # Statements: without ``orders`` none of them is read; with it, one more read (the
    # customer's orders: the customer again, their ids, then each order's reads: 7 and 3 here).
    with statements(core) as plain:
        assert "orders" not in (await owner_api.get(path)).json()
    with statements(core) as with_orders:
        await owner_api.get(f"{path}?$expand=orders")
    assert not any("baskets" in q for q in plain), plain
    extra = len(with_orders) - len(plain)
    assert 0 < extra <= 1 + 1 + 7 + 3, with_orders  # 12 measured


async def test_web_customer_expands_its_own_orders(
    http: httpx.AsyncClient, owner_api: Signer, core: Core, tenant: tuple[str, int]
) -> None:
    await load_box_office(core, owner_api.tenant)
    s = await shop(core, tenant[1])
    browsers: list[httpx.AsyncClient] = []
    codes: list[str] = []
    for email in ("ada@example.org", "bea@example.org"):
        browser = httpx.AsyncClient(transport=http._transport, base_url=BASE_URL)
        signed_up = await browser.post(
            f"/{owner_api.tenant}/api/v3/customer",
            json={
                "firstName": "Web",
                "lastName": email.split("@")[0],
                "email": email,
                "password": "Correct horse battery 1",
            },
            headers=ORIGIN,
        )
        assert signed_up.status_code == 201, signed_up.text
        browsers.append(browser)
        codes.append(signed_up.json()["id"])
    ada, bea = browsers
    order = await confirmed_order(core, s, _key(codes[0]), seats=("E1",))

    async def expanded(browser: httpx.AsyncClient) -> list[dict[str, Any]]:
        response = await browser.get(
            f"/{owner_api.tenant}/api/v3/customer?$expand=orders", headers=ORIGIN
        )
        assert response.status_code == 200, response.text
        orders: list[dict[str, Any]] = response.json()["orders"]
        return orders

    mine = await expanded(ada)
    assert [o["id"] for o in mine] == [resource_code("order", order.id)]
    own_list = await ada.get(f"/{owner_api.tenant}/api/v3/customer/orders", headers=ORIGIN)
    assert mine == own_list.json()
    assert mine[0]["tickets"][0]["barcode"] == order.tickets[0].barcode
    assert await expanded(bea) == []  # the other browser's customer bought nothing
    # Logged out: no customer to expand.
    anonymous = httpx.AsyncClient(transport=http._transport, base_url=BASE_URL)
    refused = await anonymous.get(
        f"/{owner_api.tenant}/api/v3/customer?$expand=orders", headers=ORIGIN
    )
    assert refused.status_code in (401, 403, 404) and order.tickets[0].barcode not in refused.text

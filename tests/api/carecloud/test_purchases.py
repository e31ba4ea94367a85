"""``GET /customers/{customer_id}/purchases``: a logged-in customer's confirmed orders as the
vendor's Purchases (and, with ``purchase_items_extension``, PurchaseItems), read-only; every
answer checked against the vendor's document. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

import httpx
import pytest

from boxoffice.api.carecloud import mappers as m
from boxoffice.bootstrap import Core
from tests.api.carecloud import vendor_document as openapi
from tests.api.carecloud.support import Api, error_of, reasons
from tests.api.orders_support import confirmed_order, shop, statements
from tests.services.box_office import box_office_tenant

PATH = "/customers/{customer_id}/purchases"


def _conforms(response: httpx.Response) -> None:
    problems = openapi.response_problems("GET", PATH, response.status_code, response.content)
    assert not problems, problems


def _documented_keys(name: str) -> set[str]:
    return set(openapi.spec()["components"]["schemas"][name]["properties"])


async def test_purchases_of_the_logged_in_customer(
    carecloud_openapi: object, http: httpx.AsyncClient, core: Core
) -> None:
    name, tenant_id = await box_office_tenant(core)
    api = Api(http, name)
    code = await api.logged_in()
    customer = m.decode(m.CUSTOMER, code)
    assert customer is not None
    path = f"customers/{code}/purchases"

    empty = await api.get(path)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"data": {"purchases": [], "total_items": 0}}
    _conforms(empty)

    s = await shop(core, tenant_id)
    first = await confirmed_order(core, s, customer[0], seats=("B5", "B6"), everything=True)
    later = s.now + timedelta(hours=2)
    second = await confirmed_order(core, s, customer[0], seats=("C1",), at=later)
    # Another customer's order is not this customer's purchase.
    neighbour = Api(http, name)
    other = m.decode(m.CUSTOMER, await neighbour.logged_in())
    assert other is not None
    await confirmed_order(core, s, other[0], seats=("D1",))

    listed = await api.get(path)
    assert listed.status_code == 200, listed.text
    _conforms(listed)
    data = listed.json()["data"]
    assert data["total_items"] == 2
    newest, oldest = data["purchases"]
    assert newest["purchase_id"] == m.encode(m.PURCHASE, second.id)
    assert oldest["purchase_id"] == m.encode(m.PURCHASE, first.id)
    assert oldest["customer_id"] == code and oldest["external_purchase_id"] == str(first.id)
    assert oldest["total_price"] == float(first.total) == 2 * 35 + 5 + 10 + 25 + 60
    assert oldest["items_count"] == 6 and oldest["purchase_items"] == []  # not asked for
    assert oldest["payment_time"] == m.datetime_text(first.confirmed_at, UTC)
    assert newest["payment_time"] == m.datetime_text(later, UTC)
    assert oldest["type_id"] == m.purchase_type_id("owner")
    assert oldest["cashdesk_number"] == "box office"
    assert set(oldest) <= _documented_keys("Purchase")
    web = m.purchase(replace(first, channel="web"), UTC, with_items=False)
    assert (web["type_id"], web["cashdesk_number"]) == (m.purchase_type_id("web"), "web")
    assert web["type_id"] != oldest["type_id"]

    extended = await api.get(path, params={"purchase_items_extension": "true"})
    _conforms(extended)
    items = extended.json()["data"]["purchases"][1]["purchase_items"]
    assert [i["product_group_name"] for i in items] == [
        "Tickets",
        "Tickets",
        "Merchandise",
        "Donations",
        "Gift vouchers",
        "Memberships",
    ]
    assert [i["price"] for i in items] == [35.0, 35.0, 5.0, 10.0, 25.0, 60.0]
    assert sum(i["price"] for i in items) == oldest["total_price"]
    assert {i["amount"] for i in items} == {1} and {i["vat_rate"] for i in items} == {0.0}
    assert [i["external_id"] for i in items[:3]] == [
        first.tickets[0].barcode,
        first.tickets[1].barcode,
        first.merchandise_items[0].barcode,
    ]
    assert first.gift_vouchers[0].code not in extended.text  # a voucher's code spends money
    assert items[5]["product_name"] == "Friends"
    assert all(set(i) <= _documented_keys("PurchaseItem") for i in items)
    assert len({i["purchase_item_id"] for i in items}) == 6

    # The vendor's filters and paging.
    by_time = await api.get(
        path,
        params={
            "payment_time_from": m.datetime_text(later, UTC),
            "payment_time_to": (later + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    assert [p["purchase_id"] for p in by_time.json()["data"]["purchases"]] == [
        newest["purchase_id"]
    ]
    by_id = await api.get(path, params={"external_purchase_id": str(first.id)})
    assert by_id.json()["data"]["total_items"] == 1
    for params in (
        {"store_id": m.BOX_OFFICE_STORE, "type_id": m.purchase_type_id("owner")},
        {"sort_field": "total_price", "sort_direction": "DESC", "count": 1},
    ):
        answer = await api.get(path, params=params)
        _conforms(answer)
        assert answer.json()["data"]["total_items"] == 2
    page = await api.get(path, params={"sort_field": "total_price", "count": 1, "offset": 1})
    assert [p["purchase_id"] for p in page.json()["data"]["purchases"]] == [oldest["purchase_id"]]
    nothing = await api.get(path, params={"type_id": m.purchase_type_id("web")})
    assert nothing.json()["data"] == {"purchases": [], "total_items": 0}

    # Statements: the token, the customer, the orders' ids (3), then each order's reads (as
    # ``orders.list_customer_orders`` reads them: the basket, its payments and each kind of
    # item it has): 3 and 7 here.
    with statements(core) as sent:
        await api.get(path)
    assert len(sent) <= 13, sent


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"payment_time_from": "yesterday"}, "payment_time_from"),
        ({"payment_time_to": "2026-13-01 00:00:00"}, "payment_time_to"),
        ({"purchase_items_extension": "perhaps"}, "purchase_items_extension"),
    ],
)
async def test_bad_filters_are_a_400(
    carecloud_openapi: object,
    http: httpx.AsyncClient,
    tenant: tuple[str, int],
    params: dict[str, str],
    field: str,
) -> None:
    api = Api(http, tenant[0])
    code = await api.logged_in()
    response = await api.get(f"customers/{code}/purchases", params=params)
    error_of(response, 400)
    assert field in reasons(response)
    _conforms(response)


async def test_only_the_logged_in_customer(
    carecloud_openapi: object, http: httpx.AsyncClient, tenant: tuple[str, int]
) -> None:
    api = Api(http, tenant[0])
    await api.logged_in()
    other = await Api(http, tenant[0]).logged_in()
    refused = await api.get(f"customers/{other}/purchases")
    assert reasons(refused) == {"customer_id": "not_belong_to_logged_in_customer"}
    _conforms(refused)
    anonymous = Api(http, tenant[0])
    anonymous.token = await anonymous.new_token()
    assert (await anonymous.get(f"customers/{other}/purchases")).status_code == 403

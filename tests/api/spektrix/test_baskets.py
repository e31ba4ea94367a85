"""Baskets and orders on the Spektrix wire (issue 18): web mode's basket (the browser's, by its
cookie) and System Owner baskets (by id), checkout, orders. SQLite and PostgreSQL.

The demo box office: Hamlet plays the Main House (Stalls A-E band A at 35 / 30 / 15, F-J band B,
Circle band C), The Little Prince the Studio (unreserved, 60 places, 15 / 12 / 8); promo code
PREVIEW10 takes 10% off Hamlet tickets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from boxoffice.api.spektrix.mappers import ORDER, catalogue_id
from boxoffice.bootstrap import Core
from boxoffice.store.models import BasketGiftVoucher
from tests.api.spektrix.support import RESOURCE_ID, create, load_box_office
from tests.conftest import BASE_URL, Signer

WEB_BASKET_KEYS = [
    "multibuyOffers",
    "totalDiscount",
    "merchandiseDeliveryOptions",
    "defaultCardPaymentFee",
    "potentialOffers",
    "ticketDeliveryOptions",
    "promoCode",
    "id",
    "basketId",
    "merchandiseDelivery",
    "transactionCommission",
    "offers",
    "ticketDelivery",
    "ticketSubscriptions",
    "disableWebComponents",
    "hash",
    "customPayments",
    "customer",
    "merchandiseItems",
    "donations",
    "notes",
    "tickets",
    "membershipSubscriptions",
    "giftVouchers",
    "total",
    "charges",
]
OWNER_BASKET_KEYS = [*WEB_BASKET_KEYS[:16], "agentCustomer", *WEB_BASKET_KEYS[16:]]
TICKET_KEYS = [
    "band",
    "event",
    "instance",
    "planId",
    "seat",
    "seatName",
    "planName",
    "voucherRedemptionInfo",
    "type",
    "ticketType",
    "delivered",
    "barcode",
    "offer",
    "customItems",
    "discount",
    "price",
    "total",
    "id",
]
ORDER_KEYS = [
    "deliveries",
    "ticketSubscriptions",
    "firstTransactionDate",
    "firstTransactionDateUtc",
    "lastTransactionDate",
    "lastTransactionDateUtc",
    "totalPaymentCharges",
    "totalDeliveryCharges",
    "totalTransactionCharges",
    "payments",
    "refunds",
    "printAtHomeDocuments",
    "id",
    "total",
    "customer",
    "merchandiseItems",
    "donations",
    "notes",
    "tickets",
    "membershipSubscriptions",
    "giftVouchers",
]


class Browser:
    """One visitor's browser on the venue's site: its own cookies (basket, login)."""

    def __init__(self, http: httpx.AsyncClient, tenant: str) -> None:
        self.client = httpx.AsyncClient(transport=http._transport, base_url=BASE_URL)
        self.tenant = tenant

    async def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        return await self.client.request(
            method,
            f"/{self.tenant}/api/v3/{path}",
            json=json,
            headers={"Origin": "http://localhost:8080"},
        )

    async def get(self, path: str) -> httpx.Response:
        return await self.request("GET", path)

    async def post(self, path: str, json: Any = None) -> httpx.Response:
        return await self.request("POST", path, json)


@pytest.fixture
async def shop(core: Core, owner_api: Signer) -> dict[str, Any]:
    """The demo box office on ``owner_api``'s tenant, and its ids read through the API."""
    await load_box_office(core, owner_api.tenant)
    events = {e["name"]: e for e in (await owner_api.get("events?$expand=instances")).json()}
    hamlet = events["Hamlet"]["instances"][0]["id"]
    prince = events["The Little Prince"]["instances"][0]["id"]
    plan = (await owner_api.get(f"instances/{hamlet}/plan")).json()
    seats = {s["name"]: s["id"] for a in plan["areas"] for s in a["seats"]}
    studio = (await owner_api.get(f"instances/{prince}/plan")).json()
    types = {t["name"]: t["id"] for t in (await owner_api.get("ticket-types")).json()}
    funds = {f["name"]: f["id"] for f in (await owner_api.get("funds")).json()}
    stock = {i["name"]: i["id"] for i in (await owner_api.get("stock-items")).json()}
    memberships = {m["name"]: m["id"] for m in (await owner_api.get("memberships")).json()}
    return {
        "hamlet": hamlet,
        "prince": prince,
        "seats": seats,
        "studio_plan": studio["id"],
        "studio_area": studio["areas"][0]["id"],
        "types": types,
        "funds": funds,
        "stock": stock,
        "memberships": memberships,
    }


@pytest.fixture
def browser(http: httpx.AsyncClient, owner_api: Signer) -> Browser:
    return Browser(http, owner_api.tenant)


def _seat(shop: dict[str, Any], name: str, ticket_type: str = "Adult") -> dict[str, str]:
    return {
        "instance": shop["hamlet"],
        "seat": shop["seats"][name],
        "type": shop["types"][ticket_type],
    }


async def _status(api: Signer, instance: str) -> dict[str, Any]:
    response = await api.get(f"instances/{instance}/status")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


# --- web mode ---------------------------------------------------------------------------------


async def test_no_basket_until_the_first_add(browser: Browser, shop: dict[str, Any]) -> None:
    response = await browser.get("basket")

    assert response.status_code == 404
    assert set(response.json()) == {"message"}
    assert "boxoffice_basket" not in browser.client.cookies


async def test_adding_seats_holds_them_for_the_browser(
    browser: Browser, shop: dict[str, Any], owner_api: Signer
) -> None:
    before = await _status(owner_api, shop["hamlet"])

    added = await browser.post(
        "basket/tickets", [_seat(shop, "A1"), _seat(shop, "A2", "Concession")]
    )

    assert added.status_code == 200, added.text
    tickets = added.json()
    assert [list(t) for t in tickets] == [TICKET_KEYS, TICKET_KEYS]
    assert sorted(t["seatName"] for t in tickets) == ["A1", "A2"]
    assert sorted(t["price"] for t in tickets) == [30.0, 35.0]
    assert all(t["barcode"] is None and t["discount"] == 0 for t in tickets)
    assert {t["instance"]["id"] for t in tickets} == {shop["hamlet"]}
    assert "boxoffice_basket" in browser.client.cookies
    basket = (await browser.get("basket")).json()
    assert list(basket) == WEB_BASKET_KEYS
    assert RESOURCE_ID.match(basket["id"]) and basket["basketId"] == basket["id"]
    assert basket["total"] == 65.0 and basket["totalDiscount"] == 0
    assert basket["customer"] is None
    assert '"total":65.00' in (await browser.get("basket")).text
    after = await _status(owner_api, shop["hamlet"])
    assert after["available"] == before["available"] - 2
    assert after["inOtherBasket"] == before["inOtherBasket"] + 2


async def test_a_seat_held_by_one_browser_is_refused_to_another(
    http: httpx.AsyncClient, browser: Browser, shop: dict[str, Any], owner_api: Signer
) -> None:
    assert (await browser.post("basket/tickets", [_seat(shop, "B5")])).status_code == 200
    other = Browser(http, owner_api.tenant)

    refused = await other.post("basket/tickets", [_seat(shop, "B6"), _seat(shop, "B5")])

    assert refused.status_code == 409, refused.text
    assert refused.json()["errorCode"] == 1001
    assert refused.json()["message"]
    # All or nothing: B6 was not held either, and the other browser has no basket.
    assert (await other.get("basket")).status_code == 404
    again = await Browser(http, owner_api.tenant).post("basket/tickets", [_seat(shop, "B6")])
    assert again.status_code == 200, again.text


async def test_removing_tickets_gives_their_seats_back(
    browser: Browser, shop: dict[str, Any], owner_api: Signer
) -> None:
    before = await _status(owner_api, shop["hamlet"])
    tickets = (
        await browser.post(
            "basket/tickets", [_seat(shop, "C1"), _seat(shop, "C2"), _seat(shop, "C3")]
        )
    ).json()
    by_seat = {t["seatName"]: t["id"] for t in tickets}

    comma = await browser.request(
        "DELETE", f"basket/tickets?ticketIds={by_seat['C1']},{by_seat['C2']}"
    )
    assert comma.status_code == 200, comma.text
    assert [t["seatName"] for t in comma.json()] == ["C3"]
    brackets = await browser.request("DELETE", f"basket/tickets?ticketIds[]={by_seat['C3']}")
    assert brackets.status_code == 200, brackets.text
    assert brackets.json() == []

    assert (await _status(owner_api, shop["hamlet"]))["available"] == before["available"]
    unknown = await browser.request("DELETE", f"basket/tickets?ticketIds={by_seat['C3']}")
    assert unknown.status_code == 404


async def test_unreserved_places_by_plan_or_area(
    browser: Browser, shop: dict[str, Any], owner_api: Signer
) -> None:
    before = await _status(owner_api, shop["prince"])
    body = [
        {"instance": shop["prince"], "seatingPlan": shop["studio_plan"]},
        {
            "instance": shop["prince"],
            "seatingPlan": shop["studio_area"],
            "type": shop["types"]["Under 18"],
        },
    ]

    added = await browser.post("basket/tickets", body)

    assert added.status_code == 200, added.text
    assert [(t["seat"], t["seatName"]) for t in added.json()] == [(None, None), (None, None)]
    assert sorted(t["price"] for t in added.json()) == [8.0, 15.0]
    assert (await _status(owner_api, shop["prince"]))["available"] == before["available"] - 2
    seat_for_unreserved = await browser.post(
        "basket/tickets", [{"instance": shop["prince"], "seat": shop["seats"]["A1"]}]
    )
    assert seat_for_unreserved.status_code in (400, 404), seat_for_unreserved.text
    both = await browser.post(
        "basket/tickets",
        [
            {
                "instance": shop["hamlet"],
                "seat": shop["seats"]["D1"],
                "seatingPlan": shop["studio_plan"],
            }
        ],
    )
    assert both.status_code == 400, both.text


async def test_promo_code_discounts_hamlet_tickets(browser: Browser, shop: dict[str, Any]) -> None:
    await browser.post("basket/tickets", [_seat(shop, "D1"), _seat(shop, "D2")])
    first_hash = (await browser.get("basket")).json()["hash"]

    patched = await browser.request("PATCH", "basket", {"promoCode": "preview10"})

    assert patched.status_code == 200, patched.text
    basket = patched.json()
    assert basket["total"] == 63.0 and basket["totalDiscount"] == 7.0
    assert [(t["price"], t["discount"], t["total"]) for t in basket["tickets"]] == [
        (35.0, 3.5, 31.5),
        (35.0, 3.5, 31.5),
    ]
    assert basket["offers"] and basket["offers"][0]["name"]
    assert basket["hash"] != first_hash
    bad = await browser.request("PATCH", "basket", {"promoCode": "NOSUCHCODE"})
    assert bad.status_code == 400, bad.text
    removed = await browser.request("PATCH", "basket", {"promoCode": ""})
    assert removed.json()["total"] == 70.0


async def test_donations_merchandise_and_gift_vouchers(
    browser: Browser, shop: dict[str, Any]
) -> None:
    donated = await browser.post(
        "basket/donations", [{"amount": 10, "fundId": shop["funds"]["Annual Fund"]}]
    )
    assert donated.status_code == 200, donated.text
    assert [(d["amount"], d["fund"]["id"]) for d in donated.json()] == [
        (10.0, shop["funds"]["Annual Fund"])
    ]
    bought = await browser.post(
        "basket/merchandise",
        [{"stockItem": shop["stock"]["Programme"]}, {"stockItem": shop["stock"]["Programme"]}],
    )
    assert bought.status_code == 200, bought.text
    assert [i["price"] for i in bought.json()] == [5.0, 5.0]
    voucher = await browser.post(
        "basket/gift-vouchers",
        [
            {
                "amount": 25,
                "toName": "Grace",
                "deliveryType": "OtherEmail",
                "deliveryEmailAddress": "grace@example.org",
            }
        ],
    )
    assert voucher.status_code == 200, voucher.text
    assert voucher.json()[0]["deliveryType"] == "OtherEmail"
    basket = (await browser.get("basket")).json()
    assert basket["total"] == 45.0
    assert len(basket["merchandiseItems"]) == 2 and len(basket["giftVouchers"]) == 1
    replaced = await browser.request(
        "PUT", "basket/gift-vouchers", [{"amount": 50, "toName": "Alan"}, {"amount": 25}]
    )
    assert replaced.status_code == 200, replaced.text
    assert [(g["amount"], g["toName"]) for g in replaced.json()] == [(50.0, "Alan"), (25.0, None)]
    patched = await browser.request(
        "PATCH",
        f"basket/gift-vouchers?giftVoucherIds={replaced.json()[1]['id']}",
        {"fromName": "Ada"},
    )
    assert [g["fromName"] for g in patched.json()] == [None, "Ada"]
    assert (await browser.get("basket")).json()["total"] == 95.0


async def test_web_confirm_needs_a_free_basket(browser: Browser, shop: dict[str, Any]) -> None:
    await browser.post("basket/tickets", [_seat(shop, "E1")])

    refused = await browser.post("basket/confirm", {"sendConfirmationEmail": False})

    assert refused.status_code == 409, refused.text
    assert refused.json()["errorCode"] == 11


async def test_expand_tickets_event_and_instance(browser: Browser, shop: dict[str, Any]) -> None:
    await browser.post("basket/tickets", [_seat(shop, "E5")])

    basket = (await browser.get("basket?$expand=tickets/event,tickets/instance")).json()

    ticket = basket["tickets"][0]
    assert ticket["event"]["name"] == "Hamlet"
    assert ticket["instance"]["id"] == shop["hamlet"] and "start" in ticket["instance"]


async def test_the_logged_in_customer_owns_the_basket(
    browser: Browser, shop: dict[str, Any]
) -> None:
    await browser.post("basket/tickets", [_seat(shop, "F1")])
    anonymous = (await browser.get("basket")).json()
    signed_up = await browser.post(
        "customer",
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@example.org",
            "password": "Correct horse battery 1",
        },
    )
    assert signed_up.status_code == 201, signed_up.text

    basket = (await browser.get("basket")).json()

    assert basket["id"] == anonymous["id"]
    assert basket["customer"]["email"] == "ada@example.org"
    assert basket["hash"] != anonymous["hash"]


# --- System Owner -----------------------------------------------------------------------------


async def test_owner_sells_seats_for_a_custom_payment(
    owner_api: Signer, shop: dict[str, Any]
) -> None:
    api = owner_api
    customer = await create(api)
    created = await api.post("baskets", {"customer": customer["id"], "ticketDelivery": {"type": 1}})
    assert created.status_code == 200, created.text
    basket = created.json()
    assert list(basket) == OWNER_BASKET_KEYS
    assert basket["customer"]["id"] == customer["id"]
    before = await _status(api, shop["hamlet"])

    best = await api.post(
        f"baskets/{basket['id']}/tickets/best-available",
        {"instance": shop["hamlet"], "quantity": 3},
    )
    assert best.status_code == 200, best.text
    seats = [t["seatName"] for t in best.json()]
    assert len(seats) == 3 and len({s[0] for s in seats}) == 1  # side by side, one row
    total = sum(t["total"] for t in best.json())

    unpaid = await api.post(f"baskets/{basket['id']}/confirm", {"sendConfirmationEmail": False})
    assert unpaid.status_code == 409 and unpaid.json()["errorCode"] == 11
    paid = await api.post(
        f"baskets/{basket['id']}/custom-payments",
        {
            "amount": total,
            "paymentTypeId": "Cash",
            "paymentAttributes": [{"name": "Till", "value": "2"}],
        },
    )
    assert paid.status_code == 200, paid.text
    assert paid.json() == [
        {"name": "Cash", "amount": total, "attributes": [{"name": "Till", "value": "2"}]}
    ]

    confirmed = await api.post(f"baskets/{basket['id']}/confirm", {"sendConfirmationEmail": False})
    assert confirmed.status_code == 200, confirmed.text
    order = confirmed.json()
    assert list(order) == ORDER_KEYS
    assert order["total"] == total and order["customer"] == {"id": customer["id"]}
    barcodes = [t["barcode"] for t in order["tickets"]]
    assert all(barcodes) and len(set(barcodes)) == 3
    after = await _status(api, shop["hamlet"])
    assert after["sold"] == before["sold"] + 3
    assert after["available"] == before["available"] - 3

    read = await api.get(f"orders/{order['id']}")
    assert read.status_code == 200 and read.json()["id"] == order["id"]
    mine = (await api.get(f"customers/{customer['id']}/orders")).json()
    assert [o["id"] for o in mine] == [order["id"]]
    today = datetime.now(UTC).date().isoformat()
    on_day = (await api.get(f"orders?confirmedOn={today}")).json()
    assert order["id"] in [o["id"] for o in on_day] or order["firstTransactionDate"][:10] != today
    again = await api.post(f"baskets/{basket['id']}/confirm", {})
    assert again.status_code in (404, 409), again.text


async def test_owner_basket_of_another_tenant_looks_missing(
    owner_api: Signer, other_api: Signer
) -> None:
    basket = (await owner_api.post("baskets", {})).json()

    response = await other_api.get(f"baskets/{basket['id']}")

    assert response.status_code == 404
    assert (await owner_api.get(f"baskets/{basket['id']}")).status_code == 200


async def test_web_mode_cannot_reach_owner_baskets_or_pay(
    http: httpx.AsyncClient, owner_api: Signer
) -> None:
    basket = (await owner_api.post("baskets", {})).json()
    path = f"/{owner_api.tenant}/api/v3/baskets/{basket['id']}"

    assert (await http.get(path)).status_code == 401
    assert (await http.post(path + "/custom-payments", json={"amount": 1})).status_code == 401


async def test_a_membership_sold_once_is_refused_the_second_time(
    owner_api: Signer, shop: dict[str, Any]
) -> None:
    api = owner_api
    customer = await create(api)
    friends = shop["memberships"]["Friends"]
    basket = (await api.post("baskets", {"customer": customer["id"]})).json()
    added = await api.post(
        f"baskets/{basket['id']}/membership-subscriptions", [{"membership": friends}]
    )
    assert added.status_code == 200, added.text
    price = added.json()[0]["total"]
    await api.post(
        f"baskets/{basket['id']}/custom-payments", {"amount": price, "paymentTypeId": "Cash"}
    )
    assert (await api.post(f"baskets/{basket['id']}/confirm", {})).status_code == 200

    second = (await api.post("baskets", {"customer": customer["id"]})).json()
    refused = await api.post(
        f"baskets/{second['id']}/membership-subscriptions", [{"membership": friends}]
    )

    assert refused.status_code == 409, refused.text
    assert refused.json()["errorCode"] == 18
    subscriptions = (await api.get(f"customers/{customer['id']}?$expand=subscriptions")).json()
    assert any(sub["membership"]["id"] == friends for sub in subscriptions["subscriptions"])


async def test_bad_bodies_are_400(owner_api: Signer, shop: dict[str, Any]) -> None:
    basket = (await owner_api.post("baskets", {})).json()
    path = f"baskets/{basket['id']}/tickets"

    for body in (
        {"seat": shop["seats"]["A1"]},
        [{"instance": "nonsense", "seat": shop["seats"]["A1"]}],
        [{"instance": shop["hamlet"], "seat": shop["seats"]["A1"], "type": 5}],
        "tickets",
        [],
    ):
        response = await owner_api.post(path, body)
        assert response.status_code == 400, (body, response.text)
    donation = await owner_api.post(
        f"baskets/{basket['id']}/donations",
        [{"amount": -5, "fundId": shop["funds"]["Annual Fund"]}],
    )
    assert donation.status_code == 400


# --- returns (ours: POST orders/{id}/returns, decision 0125) --------------------------------


async def _sold(api: Signer, shop: dict[str, Any], *names: str) -> dict[str, Any]:
    """An Owner order of Hamlet seats, paid in cash."""
    basket = (await api.post("baskets", {})).json()
    added = await api.post(f"baskets/{basket['id']}/tickets", [_seat(shop, n) for n in names])
    assert added.status_code == 200, added.text
    total = sum(t["total"] for t in added.json())
    await api.post(
        f"baskets/{basket['id']}/custom-payments", {"amount": total, "paymentTypeId": "Cash"}
    )
    confirmed = await api.post(f"baskets/{basket['id']}/confirm", {})
    assert confirmed.status_code == 200, confirmed.text
    order: dict[str, Any] = confirmed.json()
    return order


async def test_owner_returns_tickets_with_a_refund(
    owner_api: Signer, browser: Browser, shop: dict[str, Any]
) -> None:
    api = owner_api
    order = await _sold(api, shop, "J1", "J2")
    before = await _status(api, shop["hamlet"])
    j1, j2 = order["tickets"]

    returned = await api.post(
        f"orders/{order['id']}/returns",
        {"ticketIds": [j1["id"]], "refund": {"amount": j1["total"], "paymentTypeId": "Cash"}},
    )

    assert returned.status_code == 200, returned.text
    body = returned.json()
    assert list(body) == ORDER_KEYS
    assert [t["id"] for t in body["tickets"]] == [j2["id"]]
    assert body["total"] == j2["total"]
    assert [p["amount"] for p in body["payments"]] == [order["total"]]
    (refund,) = body["refunds"]
    assert refund["amount"] == j1["total"] and refund["name"] == "Cash"
    assert refund["dateUtc"] and refund["date"]
    assert (await api.get(f"orders/{order['id']}")).json() == body
    after = await _status(api, shop["hamlet"])
    assert after["sold"] == before["sold"] - 1
    assert after["available"] == before["available"] + 1
    # Returned twice: 409; the seat sells again to a browser.
    twice = await api.post(f"orders/{order['id']}/returns", {"ticketIds": [j1["id"]]})
    assert twice.status_code == 409, twice.text
    again = await browser.post("basket/tickets", [_seat(shop, "J1")])
    assert again.status_code == 200, again.text


async def test_return_refusals(
    http: httpx.AsyncClient, owner_api: Signer, other_api: Signer, shop: dict[str, Any]
) -> None:
    api = owner_api
    order = await _sold(api, shop, "J5")
    other = await _sold(api, shop, "J6")
    ticket = order["tickets"][0]["id"]
    path = f"orders/{order['id']}/returns"
    cases: list[tuple[str, Any, int]] = [
        (path, {"ticketIds": [other["tickets"][0]["id"]]}, 404),  # another order's ticket
        (path, {"ticketIds": ["nonsense"]}, 404),
        (f"orders/{other['id']}x/returns", {"ticketIds": [ticket]}, 404),
        (path, {"ticketIds": []}, 400),
        (path, {}, 400),
        (path, "tickets", 400),
        (path, {"ticketIds": [ticket, ticket]}, 400),
        (path, {"ticketIds": [ticket], "refund": {"amount": -1, "paymentTypeId": "Cash"}}, 400),
        (path, {"ticketIds": [ticket], "refund": {"amount": 1}}, 400),
        (path, {"ticketIds": [ticket], "refund": {"amount": 1000, "paymentTypeId": "C"}}, 400),
    ]
    for where, body, status in cases:
        response = await api.post(where, body)
        assert response.status_code == status, (body, response.text)
        assert "errorCode" in response.json() or "message" in response.json()
    foreign = await other_api.post(path, {"ticketIds": [ticket]})
    assert foreign.status_code == 404, foreign.text
    unsigned = await http.post(f"/{api.tenant}/api/v3/{path}", json={"ticketIds": [ticket]})
    assert unsigned.status_code == 401
    assert (await api.get(f"orders/{order['id']}")).json() == order


# --- gift vouchers and credit as payments (ours, decision 0125) -------------------------------


async def _voucher_code(core: Core, order_id: str) -> str:
    """A sold gift voucher's code (the wire's GiftVoucher has none: it goes to the buyer)."""
    key = catalogue_id(ORDER, order_id, "Order")
    stmt = select(BasketGiftVoucher.code).where(BasketGiftVoucher.basket_id == key)
    async with core.uow(None) as uow:
        code = (await uow.session.execute(stmt.execution_options(unscoped=True))).scalar()
    assert isinstance(code, str)
    return code


async def test_a_gift_voucher_pays_a_web_basket_which_then_confirms(
    core: Core, owner_api: Signer, browser: Browser, shop: dict[str, Any]
) -> None:
    api = owner_api
    basket = (await api.post("baskets", {})).json()
    await api.post(f"baskets/{basket['id']}/gift-vouchers", [{"amount": 40}])
    await api.post(f"baskets/{basket['id']}/custom-payments", {"amount": 40, "paymentTypeId": "C"})
    sold = (await api.post(f"baskets/{basket['id']}/confirm", {})).json()
    code = await _voucher_code(core, sold["id"])
    added = await browser.post("basket/tickets", [_seat(shop, "E9")])
    assert added.status_code == 200, added.text
    no_cover = await browser.post("basket/confirm", {})
    assert no_cover.status_code == 409 and no_cover.json()["errorCode"] == 11

    paid = await browser.post("basket/voucher-payments", {"voucherCode": code.lower()})

    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert [(p["name"], p["amount"]) for p in body["customPayments"]] == [
        ("Gift Voucher", added.json()[0]["total"])
    ]
    assert code not in paid.text
    confirmed = await browser.post("basket/confirm", {})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["payments"][0]["name"] == "Gift Voucher"


async def test_voucher_and_credit_payment_refusals(
    owner_api: Signer, browser: Browser, shop: dict[str, Any]
) -> None:
    assert (await browser.post("basket/voucher-payments", {"voucherCode": "X"})).status_code == 404
    await browser.post("basket/tickets", [_seat(shop, "E10")])
    for body, status in (
        ({"voucherCode": "NOSUCHCODE"}, 404),
        ({"amount": 1}, 400),
        ({"voucherCode": " "}, 400),
        ({"voucherCode": "ABC", "amount": -1}, 400),
        ("code", 400),
    ):
        response = await browser.post("basket/voucher-payments", body)
        assert response.status_code == status, (body, response.text)
    anonymous = await browser.post("basket/credit-payments", {})
    assert anonymous.status_code == 400, anonymous.text  # no customer: no credit
    customer = await create(owner_api)
    basket = (await owner_api.post("baskets", {"customer": customer["id"]})).json()
    await owner_api.post(f"baskets/{basket['id']}/tickets", [_seat(shop, "E11")])
    no_credit = await owner_api.post(f"baskets/{basket['id']}/credit-payments", {})
    assert no_credit.status_code == 400, no_credit.text  # a balance of 0
    assert "balance" in no_credit.text


async def test_a_customer_redeems_a_voucher_into_credit_and_pays_with_it(
    core: Core, owner_api: Signer, browser: Browser, shop: dict[str, Any]
) -> None:
    api = owner_api
    basket = (await api.post("baskets", {})).json()
    await api.post(f"baskets/{basket['id']}/gift-vouchers", [{"amount": 35}])
    await api.post(f"baskets/{basket['id']}/custom-payments", {"amount": 35, "paymentTypeId": "C"})
    sold = (await api.post(f"baskets/{basket['id']}/confirm", {})).json()
    code = await _voucher_code(core, sold["id"])
    logged_out = await browser.post("customer/redeem-gift-voucher", {"voucherCode": code})
    assert logged_out.status_code == 401, logged_out.text
    signed_up = await browser.post(
        "customer",
        {
            "firstName": "Val",
            "lastName": "Ue",
            "email": "val@example.org",
            "password": "Pw-123456789",
        },
    )
    assert signed_up.status_code == 201, signed_up.text

    redeemed = await browser.post("customer/redeem-gift-voucher", {"voucherCode": code})

    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json() == {"amount": 35.0, "accountCredit": 35.0}
    again = await browser.post("customer/redeem-gift-voucher", {"voucherCode": code})
    assert again.status_code == 409, again.text
    await browser.post("basket/tickets", [_seat(shop, "E12")])
    paid = await browser.post("basket/credit-payments")
    assert paid.status_code == 200, paid.text
    assert [p["name"] for p in paid.json()["customPayments"]] == ["Account Credit"]
    confirmed = await browser.post("basket/confirm", {})
    assert confirmed.status_code == 200, confirmed.text
    customer = signed_up.json()["id"]
    missing = await api.post(f"customers/{customer}/redeem-gift-voucher", {"voucherCode": "NOPE"})
    assert missing.status_code == 404, missing.text
    no_code = await api.post(f"customers/{customer}/redeem-gift-voucher", {})
    assert no_code.status_code == 400, no_code.text

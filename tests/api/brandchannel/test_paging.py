"""Paging the customer lists (GET index, both searches): every customer once, by id, the total
of every match, with filters, tombstones and brand-limited keys (decision 0055: the count and
the skipped rows come from indexes, the page's rows by id)."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from boxoffice.bootstrap import Core
from boxoffice.store.models import Customer
from tests.api.brandchannel.conftest import Keys
from tests.api.brandchannel.support import Api, assert_result, unique, unique_email
from tests.conftest import make_tenant


async def _walk(api: Api, path: str, size: int, **params: Any) -> tuple[list[int], set[int]]:
    """Every page of a list from itemStart 0 on; returns the ids in order and the totals."""
    ids: list[int] = []
    totals: set[int] = set()
    start = 0
    while True:
        response = await api.get(path, itemStart=start, itemLimit=size, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["itemStart"], body["itemLimit"]) == (start, size)
        totals.add(body["itemTotal"])
        ids += [c["id"] for c in body["items"]]
        if len(body["items"]) < size:
            return ids, totals
        start += size


async def _search(api: Api, action: str, size: int, fields: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    start = 0
    while True:
        response = await api.post(
            f"customer/{action}", {**fields, "itemStart": start, "itemLimit": size}
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        ids += [c["id"] for c in items]
        if len(items) < size:
            return ids
        start += size


async def test_every_page_size_visits_each_customer_once_by_id(api: Api) -> None:
    ids = [await api.create(brand_id=1 + i % 2, primary_id=unique()) for i in range(11)]
    for size in (1, 2, 3, 4, 10, 11, 15):
        seen, totals = await _walk(api, "customer", size)
        assert seen == sorted(ids), size
        assert totals == {11}, size


async def test_past_the_end_is_an_empty_page_with_the_total(api: Api) -> None:
    ids = [await api.create(brand_id=1, primary_id=unique()) for _ in range(3)]
    for start in (3, 4, 1000, 10**9):
        body = (await api.get("customer", itemStart=start, itemLimit=2)).json()
        assert (body["itemStart"], body["itemTotal"], body["items"]) == (start, 3, [])
    last = (await api.get("customer", itemStart=2, itemLimit=2)).json()
    assert [c["id"] for c in last["items"]] == sorted(ids)[2:]


async def test_tombstones_stay_in_the_index_and_the_pages_close_up_after_a_delete(
    api: Api,
) -> None:
    ids = sorted([await api.create(brand_id=1, primary_id=unique()) for _ in range(6)])
    assert_result(await api.delete(f"customer/{ids[1]}/purgeData"), "Customer data purged.")
    seen, totals = await _walk(api, "customer", 4)
    assert seen == ids and totals == {6}
    erased = next(
        c
        for c in (await api.get("customer", itemStart=0, itemLimit=4)).json()["items"]
        if c["id"] == ids[1]
    )
    assert (erased["firstname"], erased["lastname"], erased["external_primary_id"]) == (
        "",
        "",
        None,
    )
    assert_result(await api.delete(f"customer/{ids[2]}"), "Customer deleted.")
    seen, totals = await _walk(api, "customer", 4)
    assert seen == [i for i in ids if i != ids[2]] and totals == {5}
    second = (await api.get("customer", itemStart=2, itemLimit=2)).json()
    assert [c["id"] for c in second["items"]] == ids[3:5]


async def test_brand_filter_and_brand_limited_key_page_the_brand_alone(
    api: Api, http: httpx.AsyncClient, keys: Keys
) -> None:
    one = [await api.create(brand_id=1, primary_id=unique()) for _ in range(4)]
    two = [await api.create(brand_id=2, primary_id=unique()) for _ in range(5)]
    assert_result(await api.delete(f"customer/{two[0]}/purgeData"), "Customer data purged.")
    seen, totals = await _walk(api, "customer", 2, brand_id=2)
    assert seen == sorted(two) and totals == {5}
    seen, totals = await _walk(api, "customer", 3, brand_id=1)
    assert seen == sorted(one) and totals == {4}
    limited = api.with_key(keys.brand2)
    seen, totals = await _walk(limited, "customer", 2)
    assert seen == sorted(two) and totals == {5}
    seen, totals = await _walk(api, "customer", 4)
    assert seen == sorted(one + two) and totals == {9}


async def test_search_pages_hold_only_the_matches(api: Api) -> None:
    word = "Ondine" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))
    matches = [
        await api.create(brand_id=1 + i % 2, firstname=f"{word}{'abcde'[i]}", primary_id=unique())
        for i in range(5)
    ]
    others = [
        await api.create(brand_id=1, firstname="Other", primary_id=unique()) for _ in range(3)
    ]
    seen, totals = await _walk(api, "customer", 2, search=word.lower())
    assert seen == sorted(matches) and totals == {5}
    seen, totals = await _walk(api, "customer", 2, search=word, brand_id=2)
    assert seen == sorted(matches[1::2]) and totals == {2}
    assert not set(seen) & set(others)


async def test_searches_by_channel_value_and_external_id_page_every_match(api: Api) -> None:
    email = unique_email("shared")
    shared = [
        await api.create(brand_id=1 + i % 2, primary_id=unique(), extra_email=email)
        for i in range(5)
    ]
    await api.create(brand_id=1, primary_id=unique(), extra_email=unique_email())
    found = await _search(api, "SearchByCustomerChannelValue", 2, {"customerChannelValue": email})
    assert found == sorted(shared)
    upper = await _search(
        api, "SearchByCustomerChannelValue", 3, {"customerChannelValue": email.upper()}
    )
    assert upper == sorted(shared)
    primary = unique()
    pair = [await api.create(brand_id=b, primary_id=primary) for b in (1, 2)]
    assert await _search(api, "SearchByPrimaryExternalID", 1, {"primary_id": primary}) == sorted(
        pair
    )
    assert await _search(
        api, "SearchByPrimaryExternalID", 1, {"primary_id": primary, "brand_id": 2}
    ) == [pair[1]]


async def test_another_tenant_with_the_same_customer_ids_stays_out(
    api: Api, core: Core, bc_tenant: tuple[str, int]
) -> None:
    """The page's rows are read by id: another tenant's customers with the very same ids (ids
    are unique per tenant only) appear neither in the pages nor in the total."""
    ids = sorted([await api.create(brand_id=1, primary_id=unique()) for _ in range(4)])
    _, other_id = await make_tenant(core)
    now = datetime.now(UTC)
    async with core.uow(other_id, write=True) as uow:
        for customer_id in ids:
            uow.customers.add(
                Customer(
                    id=customer_id,
                    first_name="Intruder",
                    last_name="Other",
                    title="",
                    credit_balance=Decimal("0"),
                    state="active",
                    created_at=now,
                    updated_at=now,
                )
            )
        await uow.commit()
    seen, totals = await _walk(api, "customer", 3)
    assert seen == ids and totals == {4}
    page = (await api.get("customer", itemStart=1, itemLimit=2)).json()
    assert [c["firstname"] for c in page["items"]] == ["", ""]
    assert all(c["firstname"] != "Intruder" for c in page["items"])

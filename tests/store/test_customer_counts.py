"""The customer counts the database keeps (migration 0012) and the brand/channel index pages
read from them (``Customers.index_page``, decision 0119): the counts follow every insert,
delete and change of brand, per tenant; a page at any offset is the one ``OFFSET`` gives, by
id, with the total, for all brands and for one, across and within the id ranges."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from boxoffice.bootstrap import Core
from boxoffice.store.models import CUSTOMER_COUNT_BUCKET, Brand, Customer, CustomerCount
from tests.conftest import make_tenant

W = CUSTOMER_COUNT_BUCKET
#: Several customers in one id range, ranges next to each other, the first and the last range.
IDS = (1, 2, W - 1, W, W + 5, 2 * W + 7, 5 * W, 5 * W + 1, 5 * W + 2, 36**8 - 2)


def _customer(customer_id: int, brand_id: int | None) -> Customer:
    now = datetime.now(UTC)
    return Customer(
        id=customer_id,
        first_name="C",
        last_name=str(customer_id),
        brand_id=brand_id,
        created_at=now,
        updated_at=now,
    )


async def _tenant(core: Core, brands: dict[int, int | None]) -> int:
    """A tenant with brands 1 and 2 and the customers ``{id: brand}``."""
    _, tenant_id = await make_tenant(core, catalogue=False)
    async with core.uow(tenant_id, write=True) as uow:
        for brand_id in (1, 2):
            uow.catalogue.add(Brand(id=brand_id, name=f"Brand {brand_id}"))
        await uow.session.flush()
        for customer_id, brand_id in brands.items():
            uow.customers.add(_customer(customer_id, brand_id))
        await uow.commit()
    return tenant_id


async def _counts(core: Core, tenant_id: int) -> Counter[tuple[int, int]]:
    """The kept counts, and (checked equal) the counts of the customers themselves."""
    async with core.uow(tenant_id) as uow:
        kept = Counter(
            {
                (brand, bucket): n
                for brand, bucket, n in await uow.session.execute(
                    select(CustomerCount.brand_key, CustomerCount.bucket, CustomerCount.customers)
                )
                if n
            }
        )
        rows = await uow.session.execute(select(Customer.brand_id, Customer.id))
        actual = Counter((brand or 0, customer_id // W) for brand, customer_id in rows)
    assert kept == actual
    return kept


def _brands() -> dict[int, int | None]:
    return {customer_id: (None, 1, 2)[i % 3] for i, customer_id in enumerate(IDS)}


async def test_the_counts_follow_inserts_deletes_and_brand_changes_per_tenant(core: Core) -> None:
    a = await _tenant(core, _brands())
    b = await _tenant(core, {IDS[0]: 1, IDS[3]: None})
    assert sum((await _counts(core, a)).values()) == len(IDS)
    assert await _counts(core, b) == Counter({(1, 0): 1, (0, 1): 1})
    async with core.uow(a, write=True) as uow:
        await uow.session.execute(
            update(Customer).where(Customer.id.in_(IDS[:4])).values(brand_id=2)
        )
        await uow.session.execute(
            update(Customer).where(Customer.id == IDS[-1]).values(first_name="Renamed")
        )
        await uow.session.execute(
            update(Customer).where(Customer.id == IDS[5]).values(state="erased")
        )
        await uow.session.execute(delete(Customer).where(Customer.id.in_(IDS[6:8])))
        row = await uow.customers.get_any_state(IDS[4])
        assert row is not None
        await uow.customers.delete(row)
        await uow.commit()
    counts = await _counts(core, a)
    assert sum(counts.values()) == len(IDS) - 3
    assert counts[(2, 0)] == 3 and counts[(2, 1)] >= 1
    assert await _counts(core, b) == Counter({(1, 0): 1, (0, 1): 1})


async def test_every_offset_gives_the_offset_page_with_the_total(core: Core) -> None:
    brands = _brands()
    a = await _tenant(core, brands)
    await _tenant(core, {i + 3: 1 for i in IDS[:-1]})  # another tenant in the same ranges
    for brand_id in (None, 1, 2):
        ids = sorted(i for i, b in brands.items() if brand_id is None or b == brand_id)
        async with core.uow(a) as uow:
            for limit in (1, 2, 3, 15):
                for offset in range(len(ids) + 2):
                    total, rows = await uow.customers.index_page(
                        brand_id=brand_id, offset=offset, limit=limit
                    )
                    assert total == len(ids)
                    assert [r.id for r in rows] == ids[offset : offset + limit], (
                        brand_id,
                        limit,
                        offset,
                    )


async def test_a_tenant_without_customers_has_an_empty_index(core: Core) -> None:
    a = await _tenant(core, {})
    async with core.uow(a) as uow:
        assert await uow.customers.index_page(brand_id=None, offset=0, limit=15) == (0, ())
        assert await uow.customers.index_page(brand_id=1, offset=3, limit=15) == (0, ())

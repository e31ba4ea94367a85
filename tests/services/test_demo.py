"""The demo tenant's customers (``boxoffice demo``): realistic, deterministic, seeded once."""

from __future__ import annotations

from sqlalchemy import text

from boxoffice.domain.principal import Principal
from boxoffice.services import accounts, demo
from boxoffice.services import customers as customer_service
from boxoffice.services.core import Core
from boxoffice.services.tenants import get_tenant
from tests.conftest import owner_connection

TABLES = (
    "customers",
    "customer_addresses",
    "customer_tags",
    "customer_consents",
    "consent_changes",
    "customer_attribute_values",
    "customer_subscriptions",
    "timeline_entries",
)


async def counts(core: Core, tenant_id: int) -> dict[str, int]:
    async with owner_connection(core) as connection:
        return {
            table: (
                await connection.execute(
                    text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                    {"t": tenant_id},
                )
            ).scalar_one()
            for table in TABLES
        }


def test_the_records_are_deterministic_varied_and_unique() -> None:
    records = list(demo.demo_records())
    assert records == list(demo.demo_records())
    assert len(records) == demo.DEMO_CUSTOMERS
    assert len({r["email"].lower() for r in records}) == len(records)
    assert all(r["email"].endswith((".org", ".com", ".net")) for r in records)
    assert all("example." in r["email"] for r in records)
    # Several cultures: names beyond ASCII, and customers in every catalogue country.
    assert sum(not r["last_name"].isascii() for r in records) > 20
    countries = {a["country"] for r in records for a in r.get("addresses", [])}
    assert countries == {"GB", "IE", "CZ", "US"}
    assert {t for r in records for t in r["tags"]} >= {"Interests/Drama", "Internal/VIP"}
    assert records != list(demo.demo_records(seed=demo.SEED + 1))


async def test_seeding_fills_the_tenant_once(core: Core, tenant: tuple[str, int]) -> None:
    name, tenant_id = tenant
    first = await demo.seed_demo_customers(core, name, count=60)
    assert first.created == first.customers == 61  # and the demo account
    after = await counts(core, tenant_id)
    assert after["customers"] == 61
    assert after["customer_addresses"] > 30 and after["customer_tags"] > 60
    assert after["customer_attribute_values"] >= 60
    assert after["customer_subscriptions"] > 5
    # Consents with history: some given at sign-up and withdrawn since.
    assert after["consent_changes"] > after["customer_consents"]

    again = await demo.seed_demo_customers(core, name, count=60)
    assert again.created == 0
    assert await counts(core, tenant_id) == after

    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    ada = await customer_service.find_customer_by_email(
        core, owner, demo.DEMO_EMAIL, parts=customer_service.ALL_PARTS
    )
    assert len(ada.subscriptions) == 1 and ada.subscriptions[0].auto_renew
    customer_id, _token = await accounts.authenticate(
        core,
        await get_tenant(core, name),
        accounts.Client(ip="127.0.0.1", base_url="http://localhost:8000"),
        demo.DEMO_EMAIL,
        demo.DEMO_PASSWORD,
    )
    assert customer_id == ada.id

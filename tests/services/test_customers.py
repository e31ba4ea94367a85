"""Customer use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import CustomerPatch, NewAddress, NewCustomer
from boxoffice.domain.errors import AlreadyExists, InvalidInput, NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as svc
from boxoffice.store.models import Customer


async def _ids(core: Core, principal: Principal) -> tuple[dict[str, int], dict[str, int]]:
    async with core.uow(principal.tenant_id) as uow:
        tags = {t.name: t.id for t in await uow.catalogue.tags()}
        statements = {s.text: s.id for s in await uow.catalogue.statements()}
    return tags, statements


def new(email: str = "ada@example.org", **kw: object) -> NewCustomer:
    return NewCustomer(first_name="Ada", last_name="Lovelace", email=email, **kw)  # type: ignore[arg-type]


async def test_create_and_read_back_everything(core: Core, owner: Principal) -> None:
    tags, statements = await _ids(core, owner)
    view = await svc.create_customer(
        core,
        owner,
        new(
            title="Ms",
            phone="+44 20 7946 0000",
            birth_date=date(1990, 1, 31),
            password="Correct horse 1",
            addresses=(
                NewAddress(
                    line1="1 Theatre Square", town="London", postcode="WC2N 5DU", country="gb"
                ),
            ),
            tag_ids=(tags["Drama"], tags["VIP"]),
            statement_ids=(statements["Post from Demo Theatre"],),
            attributes={"favourite genre": "Opera"},
        ),
        parts=svc.ALL_PARTS,
    )
    assert view.title == "Ms" and view.password_set
    assert [t.name for t in view.tags] == ["Drama", "VIP"]
    assert [c.text for c in view.consents] == ["Post from Demo Theatre"]
    assert view.billing_address is not None and view.billing_address.country == "GB"
    assert view.delivery_address == view.billing_address
    values = {a.attribute.name: a.value for a in view.attributes}
    assert values["Favourite Genre"] == "Opera"
    again = await svc.get_customer(core, owner, view.id, svc.ALL_PARTS)
    assert again == view


async def test_email_is_unique_per_tenant_whatever_its_case(core: Core, owner: Principal) -> None:
    await svc.create_customer(core, owner, new("Ada@Example.org"))
    with pytest.raises(AlreadyExists):
        await svc.create_customer(core, owner, new("ada@EXAMPLE.org"))
    found = await svc.find_customer_by_email(core, owner, "ADA@example.ORG")
    assert found.email == "Ada@Example.org"


async def test_racing_creates_with_one_email_leave_exactly_one(
    core: Core, owner: Principal
) -> None:
    results = await asyncio.gather(
        *(svc.create_customer(core, owner, new("race@example.org")) for _ in range(20)),
        return_exceptions=True,
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, AlreadyExists)]
    assert len(created) == 1 and len(refused) == 19, results
    async with core.uow(owner.tenant_id) as uow:
        count = (await uow.session.execute(select(func.count()).select_from(Customer))).scalar()
    assert count == 1


async def test_a_refused_create_writes_nothing(core: Core, owner: Principal) -> None:
    with pytest.raises(InvalidInput, match="Nope"):
        await svc.create_customer(core, owner, new(attributes={"Nope": "x"}))
    with pytest.raises(InvalidInput):
        await svc.create_customer(core, owner, new(tag_ids=(999,)))
    with pytest.raises(NotFound):
        await svc.find_customer_by_email(core, owner, "ada@example.org")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"first_name": "  "}, "first_name"),
        ({"password": "short"}, "password"),
        ({"birth_date": date(1800, 1, 1)}, "birth_date"),
        ({"addresses": (NewAddress(country="Great Britain"),)}, "country"),
        ({"attributes": {"Wedding Date": "soon"}}, "attribute:Wedding Date"),
    ],
)
async def test_invalid_input_names_the_field(
    core: Core, owner: Principal, changes: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "first_name": "Ada",
        "last_name": "L",
        "email": "v@example.org",
        **changes,
    }
    with pytest.raises(InvalidInput) as info:
        await svc.create_customer(core, owner, NewCustomer(**values))  # type: ignore[arg-type]
    assert info.value.field == field


async def test_web_mode_sees_neither_internal_tags_nor_hidden_attributes(
    core: Core, owner: Principal, web: Principal
) -> None:
    tags, _ = await _ids(core, owner)
    view = await svc.create_customer(core, owner, new(tag_ids=(tags["VIP"], tags["Music"])))
    seen = await svc.get_customer(core, web, view.id, {svc.TAGS})
    assert [t.name for t in seen.tags] == ["Music"]
    assert "testfield" not in {a.attribute.name for a in seen.attributes}
    with pytest.raises(NotFound):
        await svc.add_tag(core, web, view.id, tags["Press"])
    with pytest.raises(InvalidInput):
        await svc.create_customer(core, web, new("w@example.org", attributes={"testfield": "x"}))


async def test_a_customer_principal_reaches_only_itself(core: Core, owner: Principal) -> None:
    ada = await svc.create_customer(core, owner, new("ada@example.org"))
    bob = await svc.create_customer(core, owner, new("bob@example.org"))
    me = Principal(
        tenant_id=owner.tenant_id, actor="customer", full_access=False, customer_id=ada.id
    )
    assert (await svc.get_customer(core, me, ada.id)).email == "ada@example.org"
    with pytest.raises(NotFound):
        await svc.get_customer(core, me, bob.id)
    with pytest.raises(NotFound):
        await svc.find_customer_by_email(core, me, "bob@example.org")


async def test_patch_changes_only_what_was_sent_and_records_it(
    core: Core, owner: Principal
) -> None:
    view = await svc.create_customer(
        core, owner, new(phone="123", attributes={"Heard About Us": "Radio"})
    )
    changed = await svc.update_customer(
        core,
        owner,
        view.id,
        CustomerPatch(first_name="Augusta", phone=None, attributes={"Heard About Us": None}),
    )
    assert (changed.first_name, changed.last_name, changed.phone) == ("Augusta", "Lovelace", None)
    assert {a.attribute.name: a.value for a in changed.attributes}["Heard About Us"] == ""
    timeline = await svc.get_timeline(core, owner, view.id)
    assert [e.kind for e in timeline] == ["created", "changed"]
    assert timeline[1].actor == owner.actor
    assert timeline[1].data["changes"]["first_name"] == ["Ada", "Augusta"]


async def test_patch_to_a_taken_email_is_refused(core: Core, owner: Principal) -> None:
    await svc.create_customer(core, owner, new("taken@example.org"))
    view = await svc.create_customer(core, owner, new("mine@example.org"))
    with pytest.raises(AlreadyExists):
        await svc.update_customer(core, owner, view.id, CustomerPatch(email="TAKEN@example.org"))
    assert (await svc.get_customer(core, owner, view.id)).email == "mine@example.org"


async def test_consent_keeps_its_history(core: Core, owner: Principal) -> None:
    _, statements = await _ids(core, owner)
    email, post, partners = statements.values()
    view = await svc.create_customer(core, owner, new(statement_ids=(email,)))
    await svc.agree_statements(core, owner, view.id, [post, email])
    now = await svc.agree_statements(core, owner, view.id, [partners], replace=True)
    assert [c.statement_id for c in now] == [partners]
    await svc.withdraw_statement(core, owner, view.id, partners)
    assert await svc.list_agreed_statements(core, owner, view.id) == ()
    async with core.uow(owner.tenant_id) as uow:
        history = [
            (h.statement_id, h.agreed, h.actor, h.statement_text)
            for h in await uow.customers.consent_history(view.id)
        ]
    texts = {v: k for k, v in statements.items()}
    assert sorted(history) == sorted(
        (sid, agreed, owner.actor, texts[sid])
        for sid, agreed in [
            (email, True),
            (post, True),
            (email, False),
            (post, False),
            (partners, True),
            (partners, False),
        ]
    )
    assert history[0][:2] == (email, True) and history[-1][:2] == (partners, False)


async def test_tags_are_idempotent_and_recorded(core: Core, owner: Principal) -> None:
    tags, _ = await _ids(core, owner)
    view = await svc.create_customer(core, owner, new())
    await svc.add_tag(core, owner, view.id, tags["Family"])
    await svc.add_tag(core, owner, view.id, tags["Family"])
    assert [t.name for t in await svc.list_customer_tags(core, owner, view.id)] == ["Family"]
    await svc.remove_tag(core, owner, view.id, tags["Family"])
    await svc.remove_tag(core, owner, view.id, tags["Family"])
    assert await svc.list_customer_tags(core, owner, view.id) == ()
    kinds = [e.kind for e in await svc.get_timeline(core, owner, view.id)]
    assert kinds == ["created", "tag_added", "tag_removed"]


async def test_addresses_keep_one_billing_and_one_delivery(core: Core, owner: Principal) -> None:
    view = await svc.create_customer(core, owner, new())
    first = await svc.add_address(core, owner, view.id, NewAddress(line1="First"))
    assert first.is_billing and first.is_delivery
    second = await svc.add_address(
        core, owner, view.id, NewAddress(line1="Second", is_billing=True)
    )
    addresses = await svc.list_addresses(core, owner, view.id)
    assert [(a.line1, a.is_billing, a.is_delivery) for a in addresses] == [
        ("First", False, True),
        ("Second", True, False),
    ]
    await svc.delete_address(core, owner, view.id, second.id)
    with pytest.raises(NotFound):
        await svc.delete_address(core, owner, view.id, second.id)


async def test_subscriptions(core: Core, owner: Principal) -> None:
    view = await svc.create_customer(core, owner, new())
    sub = await svc.add_subscription(
        core,
        owner,
        view.id,
        "friends",
        start=date(2026, 1, 1),
        expiry=date(2026, 12, 31),
        auto_renew=True,
    )
    read = await svc.get_customer(core, owner, view.id, {svc.SUBSCRIPTIONS})
    assert read.subscriptions == (sub,)
    with pytest.raises(NotFound):
        await svc.add_subscription(
            core, owner, view.id, "Gold", start=date(2026, 1, 1), expiry=date(2027, 1, 1)
        )
    with pytest.raises(InvalidInput):
        await svc.add_subscription(
            core, owner, view.id, "Friends", start=date(2026, 1, 2), expiry=date(2026, 1, 1)
        )


async def test_another_tenants_customer_looks_missing(core: Core, owner: Principal) -> None:
    from tests.conftest import make_tenant

    view = await svc.create_customer(core, owner, new())
    _, other = await make_tenant(core)
    stranger = Principal(tenant_id=other, actor="api-user:x", full_access=True)
    with pytest.raises(NotFound):
        await svc.get_customer(core, stranger, view.id)
    with pytest.raises(NotFound):
        await svc.update_customer(core, stranger, view.id, CustomerPatch(first_name="X"))
    with pytest.raises(NotFound):
        await svc.find_customer_by_email(core, stranger, "ada@example.org")
    await svc.create_customer(core, stranger, new())  # the same email is free in another tenant


@pytest.mark.parametrize("who", ["owner", "web"])
async def test_the_hot_read_gives_the_unit_of_works_view(
    core: Core, owner: Principal, web: Principal, who: str
) -> None:
    """``get_customer`` and ``find_customer_by_email`` without parts read through
    ``store/lookups.py``; the view must equal the one the unit of work builds, field by field
    (types included: dates, aware datetimes, Decimal, booleans)."""
    principal = owner if who == "owner" else web
    created = await svc.create_customer(
        core,
        owner,
        new(
            "hot@example.org",
            title="Dr",
            phone="+44 20 7946 0001",
            birth_date=date(1985, 12, 10),
            password="Correct horse 1",
            addresses=(
                NewAddress(line1="1 Square", town="London", country="gb", is_delivery=False),
                NewAddress(line1="2 Lane", town="Leeds", country="gb"),
            ),
            attributes={"favourite genre": "Opera", "access requirements": "step-free"},
        ),
    )
    async with core.uow(owner.tenant_id) as uow:
        row = await uow.customers.get(created.id)
        assert row is not None
        expected = await svc.customer_view(uow, principal, row)
    by_id = await svc.get_customer(core, principal, created.id)
    by_email = await svc.find_customer_by_email(core, principal, "HOT@example.org")
    assert by_id == expected and by_email == expected
    assert type(by_id.credit_balance) is type(expected.credit_balance)
    assert by_id.created_at.tzinfo is not None and by_id.birth_date == date(1985, 12, 10)
    assert [a.town for a in by_id.addresses] == ["London", "Leeds"]
    if who == "web":  # web mode sees only web-visible attributes, on both paths
        assert len(by_id.attributes) < len(
            (await svc.get_customer(core, owner, created.id)).attributes
        )

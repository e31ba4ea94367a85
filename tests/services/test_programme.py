"""The programme, pricing, seating and products read services on the demo box office:
filters, Web mode (web-visible instances only), other tenants' ids, statement counts, local
and UTC times around a daylight-saving change. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, insert, select, update

from boxoffice.bootstrap import Core
from boxoffice.domain.errors import InvalidInput, NotFound, PermissionDenied
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue, pricing, products, programme, seating
from boxoffice.store.models import (
    Event,
    Instance,
    InstanceArea,
    InstanceSeat,
    ItemAttribute,
    Price,
    Tenant,
)
from tests.conftest import make_tenant
from tests.services.box_office import box_office_tenant, demo_box_office, statements

LONDON = ZoneInfo("Europe/London")


def _principals(tenant_id: int) -> tuple[Principal, Principal]:
    return (
        Principal(tenant_id=tenant_id, actor="api-user:test", full_access=True),
        Principal(tenant_id=tenant_id, actor="web", full_access=False),
    )


def _today() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()


async def test_events_with_their_instances_as_the_spec_lists_them(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    events = await programme.list_events(core, owner, with_instances=True)
    by_name = {e.name: e for e in events}
    assert sorted(by_name) == ["Hamlet", "Jazz Night", "The Little Prince", "Winter Gala"]
    hamlet = by_name["Hamlet"]
    assert hamlet.duration_minutes == 180 and hamlet.on_sale
    assert hamlet.instances is not None and len(hamlet.instances) == 3
    today = _today()
    assert [i.start_local for i in hamlet.instances] == [
        datetime(d.year, d.month, d.day, 19, 30)
        for d in (today + timedelta(days=n) for n in (14, 15, 16))
    ]
    first = hamlet.instances[0]
    assert first.start_utc == first.start_local.replace(tzinfo=LONDON).astimezone(UTC)
    assert hamlet.first_instance_local == first.start_local
    assert hamlet.last_instance_local == hamlet.instances[-1].start_local
    assert hamlet.instance_dates == (
        f"{first.start_local.day} {first.start_local:%B}-"
        f"{hamlet.instances[-1].start_local.day} {hamlet.instances[-1].start_local:%B}"
    )
    assert dict(hamlet.attributes) == {"Genre": "Drama", "Gala Event": False}
    assert dict(first.attributes) == {"Relaxed Performance": None}
    gala = by_name["Winter Gala"]
    assert not gala.on_sale and gala.instances and not gala.instances[0].on_sale
    assert (await programme.list_events(core, web)) and all(
        e.instances is None for e in await programme.list_events(core, web)
    )


async def test_event_filters(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    _, web = _principals(tenant_id)
    today = _today()

    async def names(**filters: object) -> list[str]:
        return [e.name for e in await programme.list_events(core, web, **filters)]  # type: ignore[arg-type]

    assert await names(instance_start_from=today) == ["Hamlet", "Jazz Night", "The Little Prince"]
    assert await names(instance_start_to=today) == ["Winter Gala"]
    # A date "to" includes its whole day; an event matches when any instance does.
    assert await names(
        instance_start_from=today + timedelta(days=16), instance_start_to=today + timedelta(days=20)
    ) == ["Hamlet", "The Little Prince"]
    assert await names(on_sale=False) == ["Winter Gala"]
    assert await names(name="hamlet") == ["Hamlet"]
    assert await names(attributes={"genre": "music"}) == ["Jazz Night", "Winter Gala"]
    assert await names(attributes={"GalaEvent": "true"}) == ["Winter Gala"]
    assert await names(instance_attributes={"Relaxed Performance": "true"}) == ["The Little Prince"]
    assert await names(attributes={"Unknown": "x"}) == []


async def test_instance_filters(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    today = _today()
    everything = await programme.list_instances(core, web)
    assert len(everything) == 7
    assert [i.start_local for i in everything] == sorted(i.start_local for i in everything)
    # startFrom inclusive, startTo exclusive (a date: its first moment).
    window = await programme.list_instances(
        core, web, start_from=today + timedelta(days=15), start_to=today + timedelta(days=20)
    )
    assert len(window) == 2
    assert len(await programme.list_instances(core, web, event_name="prince")) == 2
    assert len(await programme.list_instances(core, web, event_attributes={"Genre": "Drama"})) == 3
    relaxed = await programme.list_instances(core, web, attributes={"RelaxedPerformance": "TRUE"})
    assert len(relaxed) == 1
    hamlet = (await programme.list_events(core, owner, name="Hamlet"))[0]
    mine = await programme.list_instances(core, web, event_id=hamlet.id)
    assert len(mine) == 3 and {i.event_id for i in mine} == {hamlet.id}
    one = await programme.get_instance(core, web, mine[0].id)
    assert one == mine[0]


async def test_web_mode_sees_web_visible_instances_only(core: Core) -> None:
    name, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    data = demo_box_office()
    for event in data["events"]:
        if event["name"] == "Jazz Night":
            event["instances"][0]["web_visible"] = False
        if event["name"] == "Hamlet":
            event["instances"][1]["web_visible"] = False
    await catalogue.load_catalogue(core, name, data)
    jazz = (await programme.list_events(core, owner, name="Jazz Night"))[0]
    assert jazz.first_instance_utc is not None
    assert "Jazz Night" not in [e.name for e in await programme.list_events(core, web)]
    with pytest.raises(NotFound):
        await programme.get_event(core, web, jazz.id)
    with pytest.raises(NotFound):
        await programme.list_instances(core, web, event_id=jazz.id)
    hidden = (await programme.list_instances(core, owner, event_name="Jazz"))[0]
    for read in (
        programme.get_instance,
        pricing.instance_price_list,
        seating.instance_plan,
    ):
        with pytest.raises(NotFound):
            await read(core, web, hidden.id)
        await read(core, owner, hidden.id)
    hamlet = await programme.get_event(
        core,
        web,
        (await programme.list_events(core, web, name="Hamlet"))[0].id,
        with_instances=True,
    )
    assert hamlet.instances is not None and len(hamlet.instances) == 2
    everything = await programme.get_event(core, owner, hamlet.id, with_instances=True)
    assert everything.instances is not None and len(everything.instances) == 3


async def test_another_tenants_ids_are_not_found(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, _ = _principals(tenant_id)
    _, empty_id = await make_tenant(core)
    stranger, _ = _principals(empty_id)
    hamlet = (await programme.list_events(core, owner, name="Hamlet", with_instances=True))[0]
    assert hamlet.instances
    instance = hamlet.instances[0]
    assert await programme.list_events(core, stranger) == ()
    for call in (
        programme.get_event(core, stranger, hamlet.id),
        programme.get_instance(core, stranger, instance.id),
        pricing.instance_price_list(core, stranger, instance.id),
        seating.instance_plan(core, stranger, instance.id),
        seating.get_plan(core, stranger, instance.plan_id),
        seating.get_venue(core, stranger, 1),
        products.get_membership_for_sale(core, stranger, 10**9),
    ):
        with pytest.raises(NotFound):
            await call


async def test_reads_are_one_statement_while_the_catalogue_is_unchanged(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    with statements(core) as sent:
        events = await programme.list_events(core, web, with_instances=True)
    # The catalogue version, then the programme built: definitions and zone, events, instances.
    assert len(sent) == 4 and "catalogue_versions" in sent[0]
    hamlet = next(e for e in events if e.name == "Hamlet")
    assert hamlet.instances
    for call in (
        programme.list_events(core, web, with_instances=True),
        programme.list_events(core, owner, name="Hamlet"),
        programme.list_instances(core, owner),
        programme.list_instances(core, web, event_id=hamlet.id),
        programme.get_event(core, web, hamlet.id, with_instances=True),
        programme.get_instance(core, web, hamlet.instances[0].id),
    ):
        with statements(core) as sent:
            await call
        assert len(sent) == 1 and "catalogue_versions" in sent[0]
    # The same answer again is the one remembered, not rebuilt.
    assert await programme.list_events(
        core, web, with_instances=True
    ) is await programme.list_events(core, web, with_instances=True)


async def test_answers_made_up_by_a_caller_cannot_fill_a_workers_memory(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    _, web = _principals(tenant_id)
    whole = await programme.list_events(core, web, with_instances=True)
    found = await programme.programme(core, tenant_id)
    _, _, budget = found.remembered
    size = len(whole) + sum(len(e.instances or ()) for e in whole)
    assert budget < 40 * size
    # Every second of a window is another query whose answer is the whole programme.
    start = datetime(2000, 1, 1)
    for second in range(40):
        views = await programme.list_events(
            core, web, with_instances=True, instance_start_from=start + timedelta(seconds=second)
        )
        assert views == whole
        count, weight, allowed = found.remembered
        assert weight == count * size <= allowed == budget
    for n in range(programme.MAX_ANSWERS + 20):  # small answers: at most MAX_ANSWERS kept
        await programme.list_events(core, web, name=f"no such event {n}")
    assert found.remembered[0] <= programme.MAX_ANSWERS
    assert await programme.list_events(core, web, with_instances=True) == whole


async def _change(core: Core, tenant_id: int, statement: Any) -> None:
    """A change written beside the services, as any writer may (the triggers see it)."""
    async with core.uow(tenant_id, write=True) as uow:
        await uow.session.execute(statement)
        await uow.commit()


async def test_every_change_of_what_the_programme_is_built_from_is_seen_at_once(
    core: Core,
) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    hamlet = (await programme.list_events(core, web, name="Hamlet", with_instances=True))[0]
    assert hamlet.instances
    first = hamlet.instances[0]
    versions = [(await programme.programme(core, tenant_id)).version]

    async def version() -> int:
        value = (await programme.programme(core, tenant_id)).version
        assert value > versions[-1]
        versions.append(value)
        return value

    # An event renamed.
    await _change(
        core,
        tenant_id,
        update(Event)
        .where(Event.tenant_id == tenant_id, Event.id == hamlet.id)
        .values(name="Hamlet (revival)"),
    )
    names = [e.name for e in await programme.list_events(core, web)]
    assert "Hamlet (revival)" in names and "Hamlet" not in names
    await version()
    # An instance hidden from the web, then deleted.
    await _change(
        core,
        tenant_id,
        update(Instance)
        .where(Instance.tenant_id == tenant_id, Instance.id == first.id)
        .values(web_visible=False),
    )
    with pytest.raises(NotFound):
        await programme.get_instance(core, web, first.id)
    assert (await programme.get_instance(core, owner, first.id)).id == first.id
    await version()
    await _change(
        core,
        tenant_id,
        delete(InstanceSeat).where(
            InstanceSeat.tenant_id == tenant_id, InstanceSeat.instance_id == first.id
        ),
    )
    await _change(
        core,
        tenant_id,
        delete(InstanceArea).where(
            InstanceArea.tenant_id == tenant_id, InstanceArea.instance_id == first.id
        ),
    )
    await _change(
        core,
        tenant_id,
        delete(Instance).where(Instance.tenant_id == tenant_id, Instance.id == first.id),
    )
    with pytest.raises(NotFound):
        await programme.get_instance(core, owner, first.id)
    await version()
    # A new event attribute defined: every event shows it (unset).
    await _change(
        core,
        tenant_id,
        insert(ItemAttribute).values(
            tenant_id=tenant_id, id=10**6, kind="event", name="Age Guidance", position=99
        ),
    )
    event = await programme.get_event(core, owner, hamlet.id)
    assert dict(event.attributes)["Age Guidance"] is None
    await version()
    # The tenant's time zone: the same instants on another wall clock.
    await _change(
        core,
        tenant_id,
        update(Tenant).where(Tenant.id == tenant_id).values(time_zone="America/New_York"),
    )
    second = (await programme.get_event(core, owner, hamlet.id, with_instances=True)).instances
    assert second and second[0].start_local == second[0].start_utc.astimezone(
        ZoneInfo("America/New_York")
    ).replace(tzinfo=None)
    await version()
    # The same time zone again changes nothing.
    await _change(
        core,
        tenant_id,
        update(Tenant).where(Tenant.id == tenant_id).values(time_zone="America/New_York"),
    )
    assert (await programme.programme(core, tenant_id)).version == versions[-1]
    # A price changed.
    await _change(
        core,
        tenant_id,
        update(Price)
        .where(Price.tenant_id == tenant_id)
        .values(amount_minor=Price.amount_minor + 1),
    )
    await version()


async def test_a_tenant_with_a_catalogue_can_be_deleted(core: Core) -> None:
    """Deleting a tenant deletes its events (a cascade) after its catalogue version: the
    events' trigger then finds no version to change, and inserts none."""
    _, tenant_id = await box_office_tenant(core)
    _, other_id = await box_office_tenant(core)
    _, web = _principals(other_id)
    before = await programme.list_events(core, web)
    async with core.uow(None, write=True) as uow:
        await uow.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
        await uow.commit()
    async with core.uow(None) as uow:
        left = (await uow.session.execute(select(Tenant.id).where(Tenant.id == tenant_id))).all()
    assert left == []
    assert await programme.list_events(core, web) == before


async def test_instances_events_and_price_lists_for_their_expansion(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    instances = await programme.list_instances(core, web)
    with statements(core) as sent:
        events = await programme.events_of(core, web, instances)
    assert len(sent) == 1
    assert set(events) == {i.event_id for i in instances}
    for key, view in events.items():
        assert view == await programme.get_event(core, web, key)
        assert view.instances is None
    ids = {i.price_list_id for i in instances}
    with statements(core) as sent:
        lists = await pricing.price_lists(core, owner, ids)
    assert len(sent) == 2 and set(lists) == ids
    for instance in instances:
        alone = await pricing.instance_price_list(core, web, instance.id)
        assert lists[instance.price_list_id] == alone
    assert await pricing.price_lists(core, owner, ()) == {}


async def test_price_lists_plans_and_venues(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    hamlet = (await programme.list_instances(core, web, event_name="Hamlet"))[0]
    prices = await pricing.instance_price_list(core, web, hamlet.id)
    table = {(p.band.name, p.ticket_type.name): p.amount for p in prices.prices}
    assert table[("A", "Adult")] == Decimal("35.00")
    assert table[("B", "Concession")] == Decimal("20.00")
    assert table[("C", "Under 18")] == Decimal("8.00")
    assert len(table) == 9
    assert {(p.band.name, p.ticket_type.name) for p in prices.prices if p.is_band_default} == {
        ("A", "Adult"),
        ("B", "Adult"),
        ("C", "Adult"),
    }
    assert [t.name for t in await pricing.list_ticket_types(core, web)] == [
        "Adult",
        "Concession",
        "Under 18",
    ]
    assert [b.name for b in await pricing.list_bands(core, web)] == ["A", "B", "C"]
    plan = await seating.instance_plan(core, web, hamlet.id)
    assert (plan.name, plan.kind) == ("Main House", "group")
    stalls, circle = plan.areas
    assert (stalls.name, stalls.capacity, circle.name, circle.capacity) == (
        "Stalls",
        200,
        "Circle",
        60,
    )
    seat = stalls.seats[0]
    assert (seat.name, seat.row, seat.number, seat.x, seat.y) == ("A1", "A", "1", 1, 1)
    bands = {b.name: b.id for b in await pricing.list_bands(core, web)}
    assert {s.band_id for s in stalls.seats if s.row == "F"} == {bands["B"]}
    assert [s.name for s in stalls.seats if s.wheelchair] == ["J1", "J2"]
    plans = {p.name: p for p in await seating.list_plans(core, owner)}
    assert plans["Studio"].kind == "unreserved"
    assert plans["Studio"].areas[0].capacity == 60
    assert plans["Studio"].areas[0].band_id == bands["A"]
    assert await seating.get_plan(core, web, plan.id) == plan
    venues = await seating.list_venues(core, web)
    assert [v.name for v in venues] == ["Demo Theatre"]
    assert await seating.get_venue(core, web, venues[0].id) == venues[0]


async def test_products(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    owner, web = _principals(tenant_id)
    assert [f.name for f in await products.list_funds(core, web)] == [
        "Annual Fund",
        "Education Programme",
    ]
    stock = {s.name: (s.price, s.stock_level) for s in await products.list_stock_items(core, web)}
    assert stock == {"Programme": (Decimal("5.00"), 500), "Tote Bag": (Decimal("12.00"), 50)}
    memberships = {
        m.membership.name: (m.price, m.duration_months)
        for m in await products.list_memberships_for_sale(core, web)
    }
    assert memberships == {"Friends": (Decimal("60.00"), 12), "Patrons": (Decimal("250.00"), 12)}
    vouchers = [
        (v.amount, v.min_amount, v.max_amount)
        for v in await products.list_gift_voucher_types(core, web)
    ]
    assert vouchers == [
        (Decimal("25.00"), None, None),
        (Decimal("50.00"), None, None),
        (None, Decimal("10.00"), Decimal("200.00")),
    ]
    with pytest.raises(PermissionDenied):
        await products.list_offers(core, web)
    offer = await products.offer_for_promo_code(core, web, " preview10 ")
    hamlet = (await programme.list_events(core, owner, name="Hamlet"))[0]
    assert (offer.percent_off, offer.event_ids, offer.promo_codes) == (
        Decimal("10"),
        (hamlet.id,),
        ("PREVIEW10",),
    )
    with pytest.raises(NotFound):
        await products.offer_for_promo_code(core, web, "NOPE")
    with pytest.raises(NotFound):  # no code holds a NUL (PostgreSQL refuses one: not a 500)
        await products.offer_for_promo_code(core, web, "PREVIEW\x0010")


async def test_times_around_a_daylight_saving_change(core: Core) -> None:
    """London moves from GMT to BST on the last Sunday of March 2027 (28 March, 01:00 UTC):
    19:30 the day before is 19:30 UTC, 19:30 that day is 18:30 UTC. 01:30 that night does not
    exist on the wall clock: it moves forward, as a clock would (02:30 BST = 01:30 UTC)."""
    name, tenant_id = await box_office_tenant(core)
    owner, _ = _principals(tenant_id)
    data = demo_box_office()
    data["events"] = [
        {
            "name": "Clock Change",
            "instances": [
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-27T19:30:00"},
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-28T19:30:00"},
                {"plan": "Studio", "price_list": "Studio", "start": "2027-03-28T01:30:00"},
                {"plan": "Studio", "price_list": "Studio", "start": "2026-10-25T01:30:00"},
            ],
        }
    ]
    await catalogue.load_catalogue(core, name, data)
    instances = await programme.list_instances(core, owner, event_name="Clock Change")
    pairs = [(i.start_local, i.start_utc.replace(tzinfo=None)) for i in instances]
    assert pairs == [
        # 01:30 on 25 October 2026 happens twice: the first (BST) is the one.
        (datetime(2026, 10, 25, 1, 30), datetime(2026, 10, 25, 0, 30)),
        (datetime(2027, 3, 27, 19, 30), datetime(2027, 3, 27, 19, 30)),
        (datetime(2027, 3, 28, 2, 30), datetime(2027, 3, 28, 1, 30)),
        (datetime(2027, 3, 28, 19, 30), datetime(2027, 3, 28, 18, 30)),
    ]
    assert all(i.start_utc.tzinfo is not None for i in instances)
    # A window of local dates: the day of the change holds the two instances of that day.
    window = await programme.list_instances(
        core, owner, event_name="Clock", start_from=date(2027, 3, 28), start_to=date(2027, 3, 29)
    )
    assert len(window) == 2


async def test_stock_is_taken_only_while_some_is_left(core: Core) -> None:
    _, tenant_id = await box_office_tenant(core)
    _, web = _principals(tenant_id)
    bag = next(s for s in await products.list_stock_items(core, web) if s.name == "Tote Bag")
    async with core.uow(tenant_id, write=True) as uow:
        assert await products.take_stock(uow, bag.id, 45)
        assert not await products.take_stock(uow, bag.id, 6)
        assert await products.return_stock(uow, bag.id, 1)
        assert await products.take_stock(uow, bag.id, 6)
        assert not await products.take_stock(uow, 10**9, 1)
        await uow.commit()
    levels = {s.name: s.stock_level for s in await products.list_stock_items(core, web)}
    assert levels["Tote Bag"] == 0


async def test_stock_at_the_largest_level_is_not_an_overflow(core: Core) -> None:
    """A stock level as large as the file allows (2**31 - 1): taking and returning units
    compares without adding to it first (PostgreSQL's integer overflowed: a 500), and a
    return beyond the largest level answers False."""
    name, tenant_id = await box_office_tenant(core)
    _, web = _principals(tenant_id)
    data = demo_box_office()
    data["stock_items"] = [{"name": "Badge", "price": 1, "stock_level": 2**31 - 1}]
    await catalogue.load_catalogue(core, name, data)
    badge = next(s for s in await products.list_stock_items(core, web) if s.name == "Badge")
    async with core.uow(tenant_id, write=True) as uow:
        assert await products.take_stock(uow, badge.id, 1)
        assert not await products.return_stock(uow, badge.id, 2)
        assert await products.return_stock(uow, badge.id, 1)
        assert not await products.return_stock(uow, badge.id, 1)
        await uow.commit()
    levels = {s.name: s.stock_level for s in await products.list_stock_items(core, web)}
    assert levels["Badge"] == 2**31 - 1


async def test_an_id_no_database_can_hold_is_not_found(core: Core) -> None:
    """A short id from an iframe URL is any number a visitor types: one beyond what SQLite and
    PostgreSQL store (``2**63`` and up) is a missing id, not an overflow (a 500)."""
    from boxoffice.services import inventory

    _, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    by_id = (
        programme.get_event,
        programme.get_instance,
        pricing.instance_price_list,
        seating.get_venue,
        seating.get_plan,
        seating.instance_plan,
        inventory.instance_status,
        inventory.seat_states,
        products.get_membership_for_sale,
    )
    for key in (2**63, 2**70):
        for read in by_id:
            with pytest.raises(NotFound):
                await read(core, owner, key)
        with pytest.raises(NotFound):
            await programme.list_instances(core, owner, event_id=key)
    async with core.uow(tenant_id, write=True) as uow:
        assert not await inventory.hold_seat(uow, 2**63, 1, holder=1)
        assert not await inventory.hold_seat(uow, 1, 2**64, holder=1)
        assert not await inventory.hold_places(uow, 2**63, 1, 1)
        assert not await products.take_stock(uow, 2**63, 1)
        with pytest.raises(InvalidInput):
            await inventory.hold_places(uow, 1, 1, 2**63)
        with pytest.raises(InvalidInput):
            await products.take_stock(uow, 1, 2**63)


async def test_the_widest_windows_list_everything(core: Core) -> None:
    """``instanceStart_to=9999-12-31`` (a date: its whole day) is a window up to the end of
    time, not an overflow computing the next day (a 500)."""
    _, tenant_id = await box_office_tenant(core)
    owner, _ = _principals(tenant_id)
    everything = await programme.list_events(core, owner)
    assert (
        await programme.list_events(
            core, owner, instance_start_from=date.min, instance_start_to=date.max
        )
        == everything
    )
    assert len(
        await programme.list_instances(core, owner, start_from=date.min, start_to=date.max)
    ) == len(await programme.list_instances(core, owner))

"""The catalogue YAML of what a venue sells (``services/catalogue_sales.py``): compact seat
ranges, relative dates, idempotent loads that never drop inventory, dumps that load back, and
clear refusals. SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from boxoffice.bootstrap import Core
from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue, catalogue_sales, inventory, programme
from tests.conftest import make_tenant
from tests.services.box_office import (
    box_office_tenant,
    demo_box_office,
    until_another_waits_for_a_lock,
)

SALES = catalogue_sales.SECTIONS
OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"


def _sales(dump: dict[str, Any]) -> dict[str, Any]:
    return {k: dump[k] for k in SALES}


async def test_loading_again_changes_nothing_and_keeps_held_seats(core: Core) -> None:
    name, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    first = await catalogue.dump_catalogue(core, name)
    hamlet = (await programme.list_instances(core, owner, event_name="Hamlet"))[0]
    seat = (await inventory.seat_states(core, owner, hamlet.id))[0].seat_id
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seat(uow, hamlet.id, seat, holder=5)
        await uow.commit()
    await catalogue.load_catalogue(core, name, demo_box_office())
    assert await catalogue.dump_catalogue(core, name) == first
    status = await inventory.instance_status(core, owner, hamlet.id)
    assert (status.in_other_basket, status.available) == (1, 259)
    assert len(await programme.list_instances(core, owner)) == 7


async def test_a_later_day_moves_the_same_instances(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative dates: loading on the next day moves the instances (Hamlet's second onto its
    first's day, one by one), never duplicates them."""
    name, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    before = await programme.list_instances(core, owner)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:  # type: ignore[override]
            moment = datetime.now(UTC) + timedelta(days=1)
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(catalogue, "datetime", Later)
    await catalogue.load_catalogue(core, name, demo_box_office())
    after = await programme.list_instances(core, owner)
    assert [i.id for i in after] == [i.id for i in before]
    assert [i.start_utc - b.start_utc for i, b in zip(after, before, strict=True)] == [
        timedelta(days=1)
    ] * 7 or all(  # a clock change between the two dates moves UTC by an hour more or less
        abs((i.start_utc - b.start_utc) - timedelta(days=1)) <= timedelta(hours=1)
        for i, b in zip(after, before, strict=True)
    )


async def test_seats_are_dumped_compactly_and_load_back_into_another_tenant(core: Core) -> None:
    name, _ = await box_office_tenant(core)
    dump = await catalogue.dump_catalogue(core, name)
    main = dump["venues"][0]["plans"][0]
    stalls = main["areas"][0]
    assert stalls["seats"] == [
        {"rows": "A-E", "seats": "1-20", "band": "A"},
        {"rows": "F-I", "seats": "1-20", "band": "B"},
        {"rows": "J", "seats": "1-2", "band": "B", "wheelchair": True},
        {"rows": "J", "seats": "3-20", "band": "B"},
    ]
    other, _ = await make_tenant(core)
    await catalogue.load_catalogue(core, other, copy.deepcopy(dump))
    assert _sales(await catalogue.dump_catalogue(core, other)) == _sales(dump)


async def test_seats_off_the_grid_keep_their_names_and_places(core: Core) -> None:
    name, _tenant_id = await make_tenant(core)
    data = {
        "bands": ["Z"],
        "venues": [
            {
                "name": "Odd Hall",
                "plans": [
                    {
                        "name": "Odd",
                        "areas": [
                            {
                                "name": "Box",
                                "seats": [
                                    {"rows": "AA-AB", "seats": "01-03", "band": "Z"},
                                    {
                                        "rows": "AB",
                                        "seats": "2",
                                        "band": "Z",
                                        "name": "Royal",
                                        "x": 50,
                                        "y": 9,
                                        "special": True,
                                    },
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    await catalogue.load_catalogue(core, name, data)
    dump = await catalogue.dump_catalogue(core, name)
    other, _ = await make_tenant(core)
    await catalogue.load_catalogue(core, other, copy.deepcopy(dump))
    again = await catalogue.dump_catalogue(core, other)
    assert again["venues"] == dump["venues"]
    seats = dump["venues"][0]["plans"][0]["areas"][0]["seats"]
    assert {
        "rows": "AB",
        "seats": "2",
        "band": "Z",
        "special": True,
        "name": "Royal",
        "x": 50,
        "y": 9,
    } in seats


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["venues"][0]["plans"][0]["areas"][0]["seats"][0].update(band="Q"), "band"),
        (lambda d: d["venues"][0]["plans"][0]["areas"][0]["seats"][0].update(rows="E-A"), "rows"),
        (lambda d: d["events"][0].update(attributes={"Nope": 1}), "Nope"),
        (lambda d: d["events"][0].update(attributes={"Gala Event": "yes"}), "Gala Event"),
        (lambda d: d["events"][0]["instances"][0].update(plan="Nowhere"), "plan"),
        (lambda d: d["gift_vouchers"][0].update(min_amount=5), "gift_vouchers"),
        (lambda d: d["price_lists"][0]["bands"]["A"].update(Adult="3.999"), "price_lists"),
        (lambda d: d["offers"][0].update(events=["Macbeth"]), "events"),
        (lambda d: d.update(time_zone="Mars/Olympus"), "time_zone"),
        (lambda d: [e["instances"][0].update(id=1) for e in d["events"][:2]], "another event"),
        # An area name twice in a plan (areas are matched by plan and name): refused, not
        # merged into one area, nor made its own parent (the plan then showed no areas).
        (lambda d: d["venues"][0]["plans"][0]["areas"][1].update(name="Stalls"), "twice"),
        (
            lambda d: d["venues"][0]["plans"][1]["areas"].__setitem__(
                0, {"name": "Studio", "areas": [{"name": "Studio", "capacity": 5, "band": "A"}]}
            ),
            "twice",
        ),
        # Beyond what the database holds, or not exact: refused, not a 500 (or rounded).
        (lambda d: d["events"][0]["instances"][0].update(id=2**63), "id"),
        (lambda d: d["events"][0].update(id=2**63), "id"),
        (
            lambda d: d["venues"][0]["plans"][0]["areas"][0]["seats"][0].update(
                rows="A", seats="1", x=2**40
            ),
            "x",
        ),
        (lambda d: d["offers"][0].update(percent_off="12.345"), "percent_off"),
        (
            lambda d: (
                d["item_attributes"].append({"kind": "event", "name": "Rank", "type": "number"}),
                d["events"][0].update(attributes={"Rank": float("inf")}),
            ),
            "Rank",
        ),
    ],
)
async def test_bad_files_are_refused_and_change_nothing(
    core: Core, change: Any, field: str
) -> None:
    name, _ = await make_tenant(core)
    data = demo_box_office()
    change(data)
    with pytest.raises(InvalidInput) as refused:
        await catalogue.load_catalogue(core, name, data)
    assert field in f"{refused.value.field} {refused.value.reason}"
    dump = await catalogue.dump_catalogue(core, name)
    assert dump["events"] == [] and dump["venues"] == []


def _operators_example() -> dict[str, Any]:
    text = OPERATING.read_text(encoding="utf-8")
    section = text[text.index("#### What the venue sells") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    data: dict[str, Any] = yaml.safe_load(block.group(1))
    return data


async def test_the_operators_example_loads(core: Core) -> None:
    """The YAML example of docs/operating.md ("What the venue sells") loads as written."""
    name, tenant_id = await make_tenant(core)
    await catalogue.load_catalogue(core, name, _operators_example())
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    instances = await programme.list_instances(core, owner, event_name="Hamlet")
    assert [i.start_local.time().isoformat() for i in instances] == ["19:30:00", "19:30:00"]
    status = await inventory.instance_status(core, owner, instances[0].id)
    assert (status.capacity, status.wheelchair_available) == (200, 2)


async def test_an_instance_moves_to_another_plan_only_while_nothing_of_it_is_taken(
    core: Core,
) -> None:
    name, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    data = demo_box_office()
    jazz = next(e for e in data["events"] if e["name"] == "Jazz Night")
    jazz["instances"][0].update(plan="Main House", price_list="Hamlet")
    await catalogue.load_catalogue(core, name, copy.deepcopy(data))
    instance = (await programme.list_instances(core, owner, event_name="Jazz"))[0]
    status = await inventory.instance_status(core, owner, instance.id)
    assert (status.name, status.capacity) == ("Main House", 260)
    seat = (await inventory.seat_states(core, owner, instance.id))[0].seat_id
    async with core.uow(tenant_id, write=True) as uow:
        assert await inventory.hold_seat(uow, instance.id, seat, holder=3)
        await uow.commit()
    jazz["instances"][0].update(plan="Studio", price_list="Studio")
    with pytest.raises(InvalidInput):
        await catalogue.load_catalogue(core, name, data)
    status = await inventory.instance_status(core, owner, instance.id)
    assert (status.name, status.in_other_basket) == ("Main House", 1)


async def test_two_loads_at_once_both_succeed_and_add_each_row_once(
    core: Core, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two operators load the same file into one tenant at the same moment. The first stops
    in the middle (its new rows written, not committed) until the second has started and is
    waiting; then it commits. The second must then see the first's rows (no second Hamlet, no
    key picked twice as ``max + 1``), not fail on a key. No sleeps decide the outcome: on
    PostgreSQL the test waits until the second's backend waits for a lock; on SQLite the second
    cannot begin while the first writes."""
    import asyncio

    name, tenant_id = await make_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    reached, gate = asyncio.Event(), asyncio.Event()
    original = inventory.refresh_instance
    paused = False

    async def refresh(uow: Any, instance_id: int, plan_id: int) -> None:
        nonlocal paused
        if not paused:
            paused = True
            reached.set()
            await gate.wait()
        await original(uow, instance_id, plan_id)

    monkeypatch.setattr(inventory, "refresh_instance", refresh)
    first = asyncio.create_task(catalogue.load_catalogue(core, name, demo_box_office()))
    await reached.wait()
    second = asyncio.create_task(catalogue.load_catalogue(core, name, demo_box_office()))
    url = str(settings.database_url)
    await until_another_waits_for_a_lock(url, "the second load")
    assert not second.done()
    gate.set()
    await asyncio.gather(first, second)
    assert len(await programme.list_instances(core, owner)) == 7
    dump = await catalogue.dump_catalogue(core, name)
    assert len(dump["venues"]) == len(demo_box_office()["venues"])


async def test_the_second_of_a_repeated_hour_dumps_and_loads_back_to_the_same_moment(
    core: Core,
) -> None:
    """At the end of British Summer Time (25 October 2026) 01:00-02:00 happens twice. An
    instance at the second 01:30 (GMT: 01:30 UTC, given with its offset) is dumped so that it
    loads back to the same moment, not to the first 01:30 (00:30 UTC); every other time stays
    a plain wall-clock time."""
    name, tenant_id = await box_office_tenant(core)
    data = demo_box_office()
    data["events"] = [
        {
            "name": "Twice Past One",
            "instances": [
                {
                    "plan": "Studio",
                    "price_list": "Studio",
                    "start": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
                    "sale_stop": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                },
            ],
        }
    ]
    await catalogue.load_catalogue(core, name, data)
    dump = await catalogue.dump_catalogue(core, name)
    other, other_id = await make_tenant(core)
    await catalogue.load_catalogue(core, other, yaml.safe_load(yaml.safe_dump(dump)))

    async def moments(tenant: int) -> list[tuple[datetime, datetime, datetime]]:
        owner = Principal(tenant_id=tenant, actor="test", full_access=True)
        found = await programme.list_instances(core, owner, event_name="Twice Past One")
        return [(i.start_utc, i.sale_stop_utc, i.sale_start_utc) for i in found]

    assert await moments(other_id) == await moments(tenant_id)
    (start, stop, _), *_ = await moments(tenant_id)
    assert (start, stop) == (
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    )
    twice = next(e for e in dump["events"] if e["name"] == "Twice Past One")["instances"][0]
    assert twice["sale_stop"] == datetime(2026, 10, 25, 1, 30)  # the first 01:30: plain
    hamlet = next(e for e in dump["events"] if e["name"] == "Hamlet")["instances"][0]
    assert hamlet["start"].tzinfo is None


async def test_an_area_with_instances_keeps_its_kind(core: Core) -> None:
    """Stalls (reserved, with Hamlet's seats in its instances) written as an unreserved area is
    refused and changes nothing: the instances' inventory is by seat, and an area that said
    unreserved but sold by seat could sell neither places nor keep its plan true."""
    name, tenant_id = await box_office_tenant(core)
    owner = Principal(tenant_id=tenant_id, actor="test", full_access=True)
    data = demo_box_office()
    data["venues"][0]["plans"][0]["areas"][0] = {"name": "Stalls", "capacity": 200, "band": "A"}
    with pytest.raises(InvalidInput) as refused:
        await catalogue.load_catalogue(core, name, data)
    assert "Stalls" in refused.value.field
    hamlet = (await programme.list_instances(core, owner, event_name="Hamlet"))[0]
    from boxoffice.services import seating

    plan = await seating.instance_plan(core, owner, hamlet.id)
    assert [(a.name, a.kind) for a in plan.areas] == [
        ("Stalls", "reserved"),
        ("Circle", "reserved"),
    ]

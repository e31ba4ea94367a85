"""Catalogue load and dump (operator YAML), and what each principal sees."""

from __future__ import annotations

import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue as svc
from tests.conftest import demo_catalogue, make_tenant


async def test_loading_twice_changes_nothing(core: Core) -> None:
    name, _ = await make_tenant(core)
    first = await svc.dump_catalogue(core, name)
    await svc.load_catalogue(core, name, demo_catalogue())
    assert await svc.dump_catalogue(core, name) == first


async def test_a_dump_loads_back_into_another_tenant(core: Core) -> None:
    name, _ = await make_tenant(core)
    dump = await svc.dump_catalogue(core, name)
    other, _ = await make_tenant(core, catalogue=False)
    await svc.load_catalogue(core, other, dump)
    again = await svc.dump_catalogue(core, other)
    assert again["tag_groups"] == dump["tag_groups"]
    assert again["attributes"] == dump["attributes"]
    assert again["customer_properties"] == dump["customer_properties"]


async def test_the_demo_catalogue_has_what_the_spec_names(core: Core) -> None:
    name, _ = await make_tenant(core)
    dump = await svc.dump_catalogue(core, name)
    groups = {g["name"]: (g["web_visible"], g["tags"]) for g in dump["tag_groups"]}
    assert groups == {
        "Interests": (True, ["Drama", "Music", "Family"]),
        "Sign-up Source": (True, ["Website Form", "Ticket Ballot"]),
        "Internal": (False, ["VIP", "Press"]),
    }
    assert [m["name"] for m in dump["memberships"]] == ["Friends", "Patrons"]
    properties = {p["code"]: (p["type"], p["attribute"]) for p in dump["customer_properties"]}
    assert properties == {
        "wedding_date": ("date", "Wedding Date"),
        "favourite_genre": ("text", "Favourite Genre"),
    }
    assert len(dump["rewards"]) >= 2
    assert {lang["code"] for lang in dump["languages"]} == {"en", "cs"}
    assert dump["brands"] == [
        {"id": 1, "name": "Demo Theatre", "crm_url": None, "search_by_channels": False}
    ]


async def test_load_adds_and_updates_but_never_deletes(core: Core) -> None:
    name, _ = await make_tenant(core)
    await svc.load_catalogue(
        core,
        name,
        {"tag_groups": [{"name": "Interests", "description": "Changed", "tags": ["Dance"]}]},
    )
    dump = await svc.dump_catalogue(core, name)
    interests = next(g for g in dump["tag_groups"] if g["name"] == "Interests")
    assert interests["description"] == "Changed"
    assert set(interests["tags"]) == {"Drama", "Music", "Family", "Dance"}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"tag_groups": [{"name": ""}]}, "tag_groups.0.name"),
        ({"attributes": [{"name": "X", "type": "colour"}]}, "attributes.0.type"),
        ({"interests": [{"name": "Jazz", "tag": "Interests/Jazz"}]}, "interests.tag"),
        ({"unknown": 1}, "unknown"),
        ({"origins": ["not a url"]}, "origin"),
    ],
)
async def test_a_bad_catalogue_is_refused_whole(
    core: Core, doc: dict[str, object], field: str
) -> None:
    name, _ = await make_tenant(core, catalogue=False)
    with pytest.raises(InvalidInput) as info:
        await svc.load_catalogue(core, name, {"statements": [{"text": "Kept?"}], **doc})
    assert info.value.field == field
    assert (await svc.dump_catalogue(core, name))["statements"] == []


async def test_unknown_tenant(core: Core) -> None:
    with pytest.raises(NotFound):
        await svc.load_catalogue(core, "no-such-venue", {})


async def test_web_principals_see_only_web_visible_items(
    core: Core, owner: Principal, web: Principal
) -> None:
    full = await svc.get_catalogue(core, owner)
    public = await svc.get_catalogue(core, web)
    assert "Internal" in [g.name for g in full.tag_groups]
    assert [g.name for g in public.tag_groups] == ["Interests", "Sign-up Source"]
    assert "testfield" in [a.name for a in full.attributes]
    assert "testfield" not in [a.name for a in public.attributes]
    assert public.statements == full.statements

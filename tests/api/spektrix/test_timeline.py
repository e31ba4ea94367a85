"""Writes through the System Owner API leave timeline entries by ``api-user:<login>``."""

from __future__ import annotations

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import parse_customer_code
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import TimelineEntryView
from boxoffice.services.customers import get_timeline
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import create, duplicate_body
from tests.conftest import Signer

ACTOR = "api-user:test-user"


async def _timeline(
    core: Core, owner: Principal, customer_id: str
) -> tuple[TimelineEntryView, ...]:
    key = parse_customer_code(customer_id)
    assert key is not None
    return await get_timeline(core, owner, key)


async def test_create_is_recorded(
    core: Core, owner: Principal, owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(
        owner_api,
        tags=[ids.tags["Drama"]],
        agreedStatements=[ids.statements["Post from Demo Theatre"]],
    )

    entries = await _timeline(core, owner, created["id"])

    assert [(e.kind, e.actor) for e in entries] == [("created", ACTOR)]
    assert entries[0].data["channel"] == "api"
    assert len(entries[0].data["tags"]) == 1  # type: ignore[arg-type]
    assert len(entries[0].data["statements"]) == 1  # type: ignore[arg-type]


async def test_every_kind_of_write_is_recorded(
    core: Core, owner: Principal, owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(owner_api)
    cid = created["id"]
    drama, post = ids.tags["Drama"], ids.statements["Post from Demo Theatre"]

    assert (await owner_api.patch(f"customers/{cid}", {"firstName": "Grace"})).status_code == 200
    assert (await owner_api.post(f"customers/{cid}/tags", {"id": drama})).status_code == 200
    assert (await owner_api.delete(f"customers/{cid}/tags/{drama}")).status_code == 204
    assert (await owner_api.post(f"customers/{cid}/agreed-statements", [post])).status_code == 200
    assert (await owner_api.delete(f"customers/{cid}/agreed-statements/{post}")).status_code == 204
    address = (await owner_api.post(f"customers/{cid}/addresses", {"line1": "1 Main St"})).json()
    path = f"customers/{cid}/addresses/{address['id']}"
    assert (await owner_api.patch(path, {"town": "York"})).status_code == 200
    assert (await owner_api.delete(path)).status_code == 204

    entries = await _timeline(core, owner, cid)

    assert [e.kind for e in entries] == [
        "created",
        "changed",
        "tag_added",
        "tag_removed",
        "consent_changed",
        "consent_changed",
        "address_added",
        "address_changed",
        "address_removed",
    ]
    assert {e.actor for e in entries} == {ACTOR}
    changed = entries[1].data["changes"]
    assert changed == {"first_name": ["Ada", "Grace"]}


async def test_attribute_changes_are_recorded(
    core: Core, owner: Principal, owner_api: Signer
) -> None:
    created = await create(owner_api)

    await owner_api.patch(f"customers/{created['id']}", {"Attribute_Favourite Genre": "Jazz"})

    entries = await _timeline(core, owner, created["id"])
    assert entries[-1].kind == "changed"
    assert entries[-1].actor == ACTOR
    assert entries[-1].data["changes"] == {"attribute:Favourite Genre": [None, "Jazz"]}


async def test_no_op_writes_are_not_recorded(
    core: Core, owner: Principal, owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(
        owner_api,
        tags=[ids.tags["Drama"]],
        agreedStatements=[ids.statements["Post from Demo Theatre"]],
    )
    cid = created["id"]

    await owner_api.patch(f"customers/{cid}", {})
    await owner_api.patch(f"customers/{cid}", {"firstName": created["firstName"]})
    await owner_api.post(f"customers/{cid}/tags", {"id": ids.tags["Drama"]})
    await owner_api.delete(f"customers/{cid}/tags/{ids.tags['Music']}")
    await owner_api.post(
        f"customers/{cid}/agreed-statements", [ids.statements["Post from Demo Theatre"]]
    )
    await owner_api.delete(
        f"customers/{cid}/agreed-statements/{ids.statements['Offers from our partners']}"
    )

    assert [e.kind for e in await _timeline(core, owner, cid)] == ["created"]


async def test_refused_writes_are_not_recorded(
    core: Core, owner: Principal, owner_api: Signer
) -> None:
    created = await create(owner_api)
    other = await create(owner_api)
    cid = created["id"]

    duplicate = await owner_api.patch(f"customers/{cid}", {"email": other["email"]})
    invalid = await owner_api.patch(f"customers/{cid}", {"firstName": None})
    unknown = await owner_api.patch(f"customers/{cid}", {"Attribute_Nope": "x"})

    assert duplicate.json() == duplicate_body(other["email"])
    assert invalid.status_code == unknown.status_code == 400
    assert [e.kind for e in await _timeline(core, owner, cid)] == ["created"]

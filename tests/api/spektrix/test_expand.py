"""``$expand`` on the Customer resource: names, order and content of the collections."""

from __future__ import annotations

from datetime import date

import pytest

from boxoffice.bootstrap import Core
from boxoffice.domain.ids import parse_customer_code
from boxoffice.domain.principal import Principal
from boxoffice.services import customers as svc
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import (
    COLLECTIONS,
    DEFAULT_KEYS,
    SCHEMA_ORDER,
    assert_error,
    create,
    non_attribute_keys,
)
from tests.conftest import Signer

EXPANDABLE = [
    "tags",
    "allTags",
    "tagsByGroup",
    "allTagsByGroup",
    "agreedStatements",
    "allStatements",
    "addresses",
    "subscriptions",
]


def _in_schema_order(keys: list[str]) -> list[str]:
    return [k for k in SCHEMA_ORDER if k in keys]


@pytest.mark.parametrize("name", EXPANDABLE)
async def test_each_collection_appears_alone_at_its_schema_position(
    owner_api: Signer, name: str
) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}?$expand={name}")

    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body[name], list)
    assert set(COLLECTIONS) & set(body) == {name}
    keys = non_attribute_keys(body)
    assert keys == _in_schema_order([*DEFAULT_KEYS, name, "creditBalance"])
    # Expanding adds the collection and changes nothing else.
    assert {k: v for k, v in body.items() if k != name} == created


async def test_every_collection_at_once_in_schema_order(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}?$expand={','.join(EXPANDABLE)}")

    assert response.status_code == 200, response.text
    keys = non_attribute_keys(response.json())
    assert keys == _in_schema_order([*DEFAULT_KEYS, *EXPANDABLE, "creditBalance"])
    assert list(response.json())[-1] == "creditBalance"


@pytest.mark.parametrize(
    "value",
    [
        "TAGS,AllStatements",
        "tags,%20allstatements",
        "Tags,,AllStatements",
        "allStatements,tags,tags",
        "tags/tag,allStatements",
    ],
)
async def test_expand_is_comma_separated_and_case_insensitive(
    owner_api: Signer, value: str
) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}?$expand={value}")

    assert response.status_code == 200, response.text
    assert set(COLLECTIONS) & set(response.json()) == {"tags", "allStatements"}


@pytest.mark.parametrize("value", ["friends", "tags,friends", "tag", "attributes"])
async def test_unknown_expand_is_400_naming_it(owner_api: Signer, value: str) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}?$expand={value}")

    body = assert_error(response, 400, value.split(",")[-1])
    assert "$expand" in body["message"]


async def test_empty_expand_is_the_default_shape(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}?$expand=")

    assert response.status_code == 200
    assert response.json() == created


# --- content ----------------------------------------------------------------------------------


async def test_tag_collections(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, tags=[ids.tags["Music"], ids.tags["VIP"]])

    response = await owner_api.get(
        f"customers/{created['id']}?$expand=tags,allTags,tagsByGroup,allTagsByGroup"
    )
    body = response.json()

    assert body["tags"] == [
        {"id": ids.tags["Music"], "name": "Music"},
        {"id": ids.tags["VIP"], "name": "VIP"},
    ]
    selected = {"Music", "VIP"}
    assert body["allTags"] == [
        {"id": tag_id, "name": name, "selected": name in selected}
        for name, tag_id in ids.tags.items()
    ]
    assert [(g["name"], [t["name"] for t in g["tags"]]) for g in body["tagsByGroup"]] == [
        ("Interests", ["Music"]),
        ("Internal", ["VIP"]),
    ]
    assert body["tagsByGroup"][0]["id"] == ids.groups["Interests"]
    assert list(body["tagsByGroup"][0]) == ["id", "name", "description", "tags"]
    assert [g["name"] for g in body["allTagsByGroup"]] == [
        "Interests",
        "Sign-up Source",
        "Internal",
    ]
    interests = body["allTagsByGroup"][0]
    assert interests["id"] == ids.groups["Interests"]
    assert interests["tags"] == [
        {"id": ids.tags["Drama"], "name": "Drama", "selected": False},
        {"id": ids.tags["Music"], "name": "Music", "selected": True},
        {"id": ids.tags["Family"], "name": "Family", "selected": False},
    ]


async def test_statement_collections(owner_api: Signer, ids: Catalogue) -> None:
    post = ids.statements["Post from Demo Theatre"]
    created = await create(owner_api, agreedStatements=[post])

    body = (
        await owner_api.get(f"customers/{created['id']}?$expand=agreedStatements,allStatements")
    ).json()

    assert body["agreedStatements"] == [
        {"id": post, "text": "Post from Demo Theatre", "agreed": True}
    ]
    assert body["allStatements"] == [
        {"id": statement_id, "text": text, "agreed": statement_id == post}
        for text, statement_id in ids.statements.items()
    ]
    assert all(list(s) == ["id", "text", "agreed"] for s in body["allStatements"])


async def test_addresses_collection(owner_api: Signer) -> None:
    created = await create(
        owner_api, addresses=[{"line1": "1 Main Street"}, {"line1": "2 Side Street"}]
    )

    body = (await owner_api.get(f"customers/{created['id']}?$expand=addresses")).json()

    assert sorted(a["line1"] for a in body["addresses"]) == ["1 Main Street", "2 Side Street"]
    assert created["billingAddress"] in body["addresses"]


async def test_subscriptions_collection(
    core: Core, owner: Principal, owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(owner_api)
    customer_key = parse_customer_code(created["id"])
    assert customer_key is not None
    await svc.add_subscription(
        core,
        owner,
        customer_key,
        "Friends",
        start=date(2020, 7, 1),
        expiry=date(2099, 6, 30),
        auto_renew=False,
    )
    await svc.add_subscription(
        core,
        owner,
        customer_key,
        "Patrons",
        start=date(2021, 4, 29),
        expiry=date(2099, 4, 28),
        auto_renew=True,
    )

    body = (await owner_api.get(f"customers/{created['id']}?$expand=subscriptions")).json()

    assert body["subscriptions"] == [
        {
            "autoRenew": False,
            "membership": {"id": ids.memberships["Friends"]},
            "startDate": "2020-07-01T00:00:00",
            "expiryDate": "2099-06-30T00:00:00",
            "canRenew": False,
        },
        {
            "autoRenew": True,
            "membership": {"id": ids.memberships["Patrons"]},
            "startDate": "2021-04-29T00:00:00",
            "expiryDate": "2099-04-28T00:00:00",
            "canRenew": False,
        },
    ]


async def test_expand_works_on_find_by_email(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, tags=[ids.tags["Drama"]])

    response = await owner_api.get(f"customers?email={created['email']}&$expand=Tags")

    assert response.json()["tags"] == [{"id": ids.tags["Drama"], "name": "Drama"}]

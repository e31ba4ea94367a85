"""A customer's tags: GET/POST customers/{id}/tags and both DELETE routes (System Owner)."""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.domain.ids import resource_code
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import assert_error, create
from tests.conftest import Signer


async def _tags(api: Signer, customer_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"customers/{customer_id}/tags")
    assert response.status_code == 200, response.text
    tags: list[dict[str, Any]] = response.json()
    return tags


async def test_new_customer_has_no_tags(owner_api: Signer) -> None:
    created = await create(owner_api)

    assert await _tags(owner_api, created["id"]) == []


@pytest.mark.parametrize("shape", ["object", "array", "pascal"])
async def test_add_a_tag_returns_the_tag(owner_api: Signer, ids: Catalogue, shape: str) -> None:
    created = await create(owner_api)
    drama = ids.tags["Drama"]
    body: Any = {
        "object": {"id": drama},
        "array": [{"id": drama}],
        "pascal": {"Id": drama},
    }[shape]

    response = await owner_api.post(f"customers/{created['id']}/tags", body)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": drama, "name": "Drama"}
    assert list(response.json()) == ["id", "name"]
    assert await _tags(owner_api, created["id"]) == [{"id": drama, "name": "Drama"}]


async def test_adding_a_tag_is_idempotent(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)
    music = ids.tags["Music"]

    first = await owner_api.post(f"customers/{created['id']}/tags", {"id": music})
    second = await owner_api.post(f"customers/{created['id']}/tags", [{"id": music}])

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"id": music, "name": "Music"}
    assert await _tags(owner_api, created["id"]) == [{"id": music, "name": "Music"}]


async def test_tags_are_listed_in_the_order_they_were_added(
    owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(owner_api)
    for name in ("Ticket Ballot", "Drama", "Press"):
        response = await owner_api.post(f"customers/{created['id']}/tags", {"id": ids.tags[name]})
        assert response.status_code == 200

    assert [t["name"] for t in await _tags(owner_api, created["id"])] == [
        "Ticket Ballot",
        "Drama",
        "Press",
    ]


async def test_owner_sees_and_adds_internal_tags(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)

    response = await owner_api.post(f"customers/{created['id']}/tags", {"id": ids.tags["VIP"]})

    assert response.status_code == 200
    assert response.json() == {"id": ids.tags["VIP"], "name": "VIP"}
    assert await _tags(owner_api, created["id"]) == [{"id": ids.tags["VIP"], "name": "VIP"}]


@pytest.mark.parametrize(
    "tag_id",
    [
        resource_code("tag", 9999),
        "1ABC",
        "not-a-tag",
        "",
        resource_code("statement", 1),  # a statement id is not a tag id
    ],
)
async def test_adding_an_unknown_tag_is_404(owner_api: Signer, tag_id: str) -> None:
    created = await create(owner_api)

    response = await owner_api.post(f"customers/{created['id']}/tags", {"id": tag_id})

    assert_error(response, 404)
    assert await _tags(owner_api, created["id"]) == []


async def test_one_tag_per_request(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)

    response = await owner_api.post(
        f"customers/{created['id']}/tags", [{"id": ids.tags["Drama"]}, {"id": ids.tags["Music"]}]
    )

    assert_error(response, 400)
    assert await _tags(owner_api, created["id"]) == []


@pytest.mark.parametrize("body", [{"id": 5}, {"name": "Drama"}, [], [5], {"id": None}, True])
async def test_malformed_tag_body_is_400(owner_api: Signer, body: Any) -> None:
    created = await create(owner_api)

    response = await owner_api.post(f"customers/{created['id']}/tags", body)

    assert_error(response, 400)


async def test_tags_of_an_unknown_customer_are_404(owner_api: Signer, ids: Catalogue) -> None:
    assert_error(await owner_api.get("customers/I-ZZZZ-ZZZ0/tags"), 404)
    assert_error(await owner_api.post("customers/I-ZZZZ-ZZZ0/tags", {"id": ids.tags["Drama"]}), 404)
    assert_error(await owner_api.delete(f"customers/I-ZZZZ-ZZZ0/tags/{ids.tags['Drama']}"), 404)
    assert_error(await owner_api.delete(f"customers/tags/{ids.tags['Drama']}?id=I-ZZZZ-ZZZ0"), 404)


async def test_delete_tag_rest_form(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, tags=[ids.tags["Drama"], ids.tags["Music"]])

    response = await owner_api.delete(f"customers/{created['id']}/tags/{ids.tags['Drama']}")

    assert response.status_code == 204
    assert response.content == b""
    assert await _tags(owner_api, created["id"]) == [{"id": ids.tags["Music"], "name": "Music"}]


async def test_delete_tag_query_form(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, tags=[ids.tags["Drama"], ids.tags["VIP"]])

    response = await owner_api.delete(f"customers/tags/{ids.tags['VIP']}?id={created['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert await _tags(owner_api, created["id"]) == [{"id": ids.tags["Drama"], "name": "Drama"}]


async def test_deleting_a_tag_the_customer_does_not_have_is_204(
    owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(owner_api, tags=[ids.tags["Drama"]])

    rest = await owner_api.delete(f"customers/{created['id']}/tags/{ids.tags['Family']}")
    query = await owner_api.delete(f"customers/tags/{ids.tags['Family']}?id={created['id']}")

    assert rest.status_code == query.status_code == 204
    assert await _tags(owner_api, created["id"]) == [{"id": ids.tags["Drama"], "name": "Drama"}]


async def test_deleting_twice_is_204_twice(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, tags=[ids.tags["Drama"]])
    path = f"customers/{created['id']}/tags/{ids.tags['Drama']}"

    assert (await owner_api.delete(path)).status_code == 204
    assert (await owner_api.delete(path)).status_code == 204
    assert await _tags(owner_api, created["id"]) == []


@pytest.mark.parametrize("tag_id", [resource_code("tag", 9999), "garbage"])
async def test_deleting_an_unknown_tag_is_404(owner_api: Signer, tag_id: str) -> None:
    created = await create(owner_api)

    assert_error(await owner_api.delete(f"customers/{created['id']}/tags/{tag_id}"), 404)
    assert_error(await owner_api.delete(f"customers/tags/{tag_id}?id={created['id']}"), 404)


async def test_query_form_without_customer_id_is_400(owner_api: Signer, ids: Catalogue) -> None:
    response = await owner_api.delete(f"customers/tags/{ids.tags['Drama']}")

    assert_error(response, 400, "id")


async def test_removed_tag_can_be_added_again(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)
    path = f"customers/{created['id']}/tags"

    await owner_api.post(path, {"id": ids.tags["Drama"]})
    await owner_api.delete(f"{path}/{ids.tags['Drama']}")
    response = await owner_api.post(path, {"id": ids.tags["Drama"]})

    assert response.status_code == 200
    assert await _tags(owner_api, created["id"]) == [{"id": ids.tags["Drama"], "name": "Drama"}]


async def test_tag_changes_show_in_expand(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)

    await owner_api.post(f"customers/{created['id']}/tags", {"id": ids.tags["Family"]})

    body = (await owner_api.get(f"customers/{created['id']}?$expand=tags")).json()
    assert body["tags"] == [{"id": ids.tags["Family"], "name": "Family"}]

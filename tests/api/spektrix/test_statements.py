"""A customer's agreed statements (contact preferences): GET, POST, PUT, DELETE (System Owner)."""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.domain.ids import resource_code
from tests.api.spektrix.conftest import Catalogue
from tests.api.spektrix.support import assert_error, create
from tests.conftest import Signer

EMAIL = "Email updates from Demo Theatre"
POST = "Post from Demo Theatre"
PARTNERS = "Offers from our partners"


def _by_text(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda s: s["text"])


def _agreed(ids: Catalogue, *texts: str) -> list[dict[str, Any]]:
    return _by_text([{"id": ids.statements[t], "text": t, "agreed": True} for t in texts])


async def _list(api: Signer, customer_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"customers/{customer_id}/agreed-statements")
    assert response.status_code == 200, response.text
    return _by_text(response.json())


async def test_new_customer_has_agreed_to_nothing(owner_api: Signer) -> None:
    created = await create(owner_api)

    assert await _list(owner_api, created["id"]) == []


async def test_statements_agreed_on_create_are_listed(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, agreedStatements=[ids.statements[POST]])

    assert await _list(owner_api, created["id"]) == _agreed(ids, POST)


@pytest.mark.parametrize("shape", ["objects", "strings", "object", "pascal"])
async def test_post_adds_and_returns_every_agreed_statement(
    owner_api: Signer, ids: Catalogue, shape: str
) -> None:
    created = await create(owner_api, agreedStatements=[ids.statements[EMAIL]])
    post = ids.statements[POST]
    body: Any = {
        "objects": [{"id": post}],
        "strings": [post],
        "object": {"id": post},
        "pascal": [{"Id": post}],
    }[shape]

    response = await owner_api.post(f"customers/{created['id']}/agreed-statements", body)

    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)
    assert all(list(item) == ["id", "text", "agreed"] for item in response.json())
    assert _by_text(response.json()) == _agreed(ids, EMAIL, POST)
    assert await _list(owner_api, created["id"]) == _agreed(ids, EMAIL, POST)


async def test_post_several_at_once(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)

    response = await owner_api.post(
        f"customers/{created['id']}/agreed-statements",
        [{"id": ids.statements[EMAIL]}, {"id": ids.statements[PARTNERS]}],
    )

    assert response.status_code == 200
    assert _by_text(response.json()) == _agreed(ids, EMAIL, PARTNERS)


async def test_post_is_idempotent(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)
    path = f"customers/{created['id']}/agreed-statements"

    first = await owner_api.post(path, [{"id": ids.statements[POST]}])
    second = await owner_api.post(path, [{"id": ids.statements[POST]}, ids.statements[POST]])

    assert first.status_code == second.status_code == 200
    assert _by_text(second.json()) == _agreed(ids, POST)
    assert await _list(owner_api, created["id"]) == _agreed(ids, POST)


async def test_post_empty_array_changes_nothing(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, agreedStatements=[ids.statements[POST]])

    response = await owner_api.post(f"customers/{created['id']}/agreed-statements", [])

    assert response.status_code == 200
    assert _by_text(response.json()) == _agreed(ids, POST)


async def test_put_replaces_the_whole_set(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(
        owner_api, agreedStatements=[ids.statements[EMAIL], ids.statements[POST]]
    )

    response = await owner_api.put(
        f"customers/{created['id']}/agreed-statements",
        [{"id": ids.statements[POST]}, {"id": ids.statements[PARTNERS]}],
    )

    assert response.status_code == 200, response.text
    assert _by_text(response.json()) == _agreed(ids, POST, PARTNERS)
    assert await _list(owner_api, created["id"]) == _agreed(ids, POST, PARTNERS)


async def test_put_empty_array_withdraws_everything(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(
        owner_api, agreedStatements=[ids.statements[EMAIL], ids.statements[POST]]
    )

    response = await owner_api.put(f"customers/{created['id']}/agreed-statements", [])

    assert response.status_code == 200
    assert response.json() == []
    assert await _list(owner_api, created["id"]) == []


async def test_delete_withdraws_one(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(
        owner_api, agreedStatements=[ids.statements[EMAIL], ids.statements[POST]]
    )

    response = await owner_api.delete(
        f"customers/{created['id']}/agreed-statements/{ids.statements[EMAIL]}"
    )

    assert response.status_code == 204
    assert response.content == b""
    assert await _list(owner_api, created["id"]) == _agreed(ids, POST)


async def test_delete_of_a_statement_not_agreed_is_204(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api, agreedStatements=[ids.statements[POST]])
    path = f"customers/{created['id']}/agreed-statements/{ids.statements[PARTNERS]}"

    assert (await owner_api.delete(path)).status_code == 204
    assert (await owner_api.delete(path)).status_code == 204
    assert await _list(owner_api, created["id"]) == _agreed(ids, POST)


@pytest.mark.parametrize(
    "statement_id", [resource_code("statement", 9999), "garbage", resource_code("tag", 1)]
)
async def test_unknown_statement_is_404(owner_api: Signer, statement_id: str) -> None:
    created = await create(owner_api)
    path = f"customers/{created['id']}/agreed-statements"

    assert_error(await owner_api.post(path, [{"id": statement_id}]), 404)
    assert_error(await owner_api.put(path, [{"id": statement_id}]), 404)
    assert_error(await owner_api.delete(f"{path}/{statement_id}"), 404)


async def test_one_unknown_statement_refuses_the_whole_request(
    owner_api: Signer, ids: Catalogue
) -> None:
    created = await create(owner_api, agreedStatements=[ids.statements[EMAIL]])
    path = f"customers/{created['id']}/agreed-statements"
    unknown = resource_code("statement", 9999)

    assert_error(await owner_api.post(path, [{"id": ids.statements[POST]}, {"id": unknown}]), 404)
    assert_error(await owner_api.put(path, [{"id": ids.statements[POST]}, {"id": unknown}]), 404)

    assert await _list(owner_api, created["id"]) == _agreed(ids, EMAIL)


async def test_statements_of_an_unknown_customer_are_404(owner_api: Signer, ids: Catalogue) -> None:
    path = "customers/I-ZZZZ-ZZZ0/agreed-statements"
    body = [{"id": ids.statements[POST]}]

    assert_error(await owner_api.get(path), 404)
    assert_error(await owner_api.post(path, body), 404)
    assert_error(await owner_api.put(path, body), 404)
    assert_error(await owner_api.delete(f"{path}/{ids.statements[POST]}"), 404)


@pytest.mark.parametrize("body", [[{"id": 5}], [{"name": "x"}], {"ids": []}, [[]], 5, None])
async def test_malformed_statement_body_is_400(owner_api: Signer, body: Any) -> None:
    created = await create(owner_api)
    path = f"customers/{created['id']}/agreed-statements"

    assert_error(await owner_api.post(path, body), 400)
    assert_error(await owner_api.put(path, body), 400)


async def test_changes_show_in_expand(owner_api: Signer, ids: Catalogue) -> None:
    created = await create(owner_api)
    await owner_api.post(f"customers/{created['id']}/agreed-statements", [ids.statements[PARTNERS]])

    body = (
        await owner_api.get(f"customers/{created['id']}?$expand=agreedStatements,allStatements")
    ).json()

    assert body["agreedStatements"] == _agreed(ids, PARTNERS)
    assert {s["text"]: s["agreed"] for s in body["allStatements"]} == {
        EMAIL: False,
        POST: False,
        PARTNERS: True,
    }

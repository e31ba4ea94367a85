"""Catalogue reads: tag-groups, tags, statements, memberships (System Owner and web mode)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.spektrix.support import RESOURCE_ID, RESOURCE_ID_LENGTH, UNAUTHORIZED
from tests.conftest import Signer

ALL_GROUPS = {
    "Interests": ["Drama", "Music", "Family"],
    "Sign-up Source": ["Website Form", "Ticket Ballot"],
    "Internal": ["VIP", "Press"],
}
WEB_GROUPS = {k: v for k, v in ALL_GROUPS.items() if k != "Internal"}
STATEMENTS = [
    "Email updates from Demo Theatre",
    "Post from Demo Theatre",
    "Offers from our partners",
]


def _assert_id(value: str) -> None:
    assert len(value) == RESOURCE_ID_LENGTH, value
    assert RESOURCE_ID.match(value), value


async def _web_get(http: httpx.AsyncClient, tenant: str, path: str) -> Any:
    response = await http.get(f"/{tenant}/api/v3/{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_owner_sees_every_tag_group(owner_api: Signer) -> None:
    response = await owner_api.get("tag-groups")

    assert response.status_code == 200
    groups = response.json()
    assert {g["name"]: [t["name"] for t in g["tags"]] for g in groups} == ALL_GROUPS
    assert [g["name"] for g in groups] == list(ALL_GROUPS)
    for group in groups:
        assert list(group) == ["id", "name", "description", "tags"]
        _assert_id(group["id"])
        for tag in group["tags"]:
            assert list(tag) == ["id", "name"]
            _assert_id(tag["id"])
    assert groups[2]["description"] == "For box-office staff only"


async def test_web_mode_sees_only_web_visible_tag_groups(
    http: httpx.AsyncClient, owner_api: Signer
) -> None:
    owner_groups = (await owner_api.get("tag-groups")).json()

    groups = await _web_get(http, owner_api.tenant, "tag-groups")

    assert {g["name"]: [t["name"] for t in g["tags"]] for g in groups} == WEB_GROUPS
    assert groups == [g for g in owner_groups if g["name"] != "Internal"]


async def test_tags_owner_and_web(http: httpx.AsyncClient, owner_api: Signer) -> None:
    owner_groups = (await owner_api.get("tag-groups")).json()

    owner_tags = (await owner_api.get("tags")).json()
    web_tags = await _web_get(http, owner_api.tenant, "tags")

    assert owner_tags == [t for g in owner_groups for t in g["tags"]]
    assert [t["name"] for t in owner_tags] == [n for names in ALL_GROUPS.values() for n in names]
    assert [t["name"] for t in web_tags] == [n for names in WEB_GROUPS.values() for n in names]
    assert all(list(t) == ["id", "name"] for t in owner_tags)


async def test_statements_owner_and_web(http: httpx.AsyncClient, owner_api: Signer) -> None:
    response = await owner_api.get("statements")

    assert response.status_code == 200
    statements = response.json()
    assert [s["text"] for s in statements] == STATEMENTS
    for statement in statements:
        assert list(statement)[:2] == ["id", "text"]
        _assert_id(statement["id"])
    assert await _web_get(http, owner_api.tenant, "statements") == statements


async def test_memberships_owner_and_web(http: httpx.AsyncClient, owner_api: Signer) -> None:
    response = await owner_api.get("memberships")

    assert response.status_code == 200
    memberships = response.json()
    assert [m["name"] for m in memberships] == ["Friends", "Patrons"]
    for membership in memberships:
        assert list(membership) == [
            "description",
            "htmlDescription",
            "id",
            "imageUrl",
            "name",
            "thumbnailUrl",
            "price",
            "renewalPrice",
        ]
        _assert_id(membership["id"])
        assert all(isinstance(v, str) for k, v in membership.items() if "rice" not in k)
    assert memberships[0]["description"] == "Priority booking and a newsletter"
    # The demo catalogue's prices (what a membership costs a year, and to renew).
    assert [(m["price"], m["renewalPrice"]) for m in memberships] == [(60, 60), (250, 250)]
    assert await _web_get(http, owner_api.tenant, "memberships") == memberships


async def test_ids_of_different_kinds_never_collide(owner_api: Signer) -> None:
    groups = (await owner_api.get("tag-groups")).json()
    statements = (await owner_api.get("statements")).json()
    memberships = (await owner_api.get("memberships")).json()

    all_ids = (
        [g["id"] for g in groups]
        + [t["id"] for g in groups for t in g["tags"]]
        + [s["id"] for s in statements]
        + [m["id"] for m in memberships]
    )
    assert len(all_ids) == len(set(all_ids))


@pytest.mark.parametrize("path", ["tag-groups", "tags", "statements", "memberships"])
async def test_a_bad_signature_on_a_public_route_is_401_not_web_mode(
    http: httpx.AsyncClient, owner_api: Signer, path: str
) -> None:
    response = await http.get(
        f"/{owner_api.tenant}/api/v3/{path}",
        headers={"Authorization": "SpektrixAPI3 test-user:AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    )

    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("path", ["tag-groups", "tags", "statements", "memberships"])
async def test_catalogue_of_an_unknown_client_is_404(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(f"/no-such-venue/api/v3/{path}")

    assert response.status_code == 404
    assert isinstance(response.json()["message"], str)

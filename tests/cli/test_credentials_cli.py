"""``tenant list``, ``customer find`` and the credential commands (list, disable, enable,
rotate) of the CLI, with ``--json``; a key disabled or rotated from the CLI is refused
through the API (a server started after the change: a running worker's bound is tested in
``tests/services/test_credential_admin.py``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.api.carecloud.support import Api, basic, token_body
from tests.cli.test_cli import Invoke, cli, cli_env, new_tenant, ok, refused, served, unique
from tests.conftest import Signer

__all__ = ["cli", "cli_env"]  # fixtures


def as_json(result: Any) -> Any:
    return json.loads(ok(result).stdout)


def test_tenant_list(cli: Invoke) -> None:
    tenant = new_tenant(cli)
    listed = {t["name"]: t for t in as_json(cli("tenant", "list", "--json"))}
    assert listed[tenant] == {
        "name": tenant,
        "display_name": "Demo Theatre",  # from the catalogue
        "origins": ["http://localhost:8080"],
    }
    assert tenant in ok(cli("tenant", "list")).stdout


def test_api_key_disable_and_rotate_from_the_cli(
    cli: Invoke, database_url: str, tmp_path: Path
) -> None:
    tenant = new_tenant(cli)
    key = as_json(cli("api-key", "create", tenant, "--permission", "CUSTOMER_READ", "--json"))[
        "api_key"
    ]
    (listed,) = as_json(cli("api-key", "list", tenant, "--json"))
    assert listed["permissions"] == ["CUSTOMER_READ"]
    assert listed["disabled"] is False
    assert key not in ok(cli("api-key", "list", tenant)).stdout

    async def status(client: httpx.AsyncClient, api_key: str) -> int:
        return (await client.get("/api/v2/customer", headers={"apiKey": api_key})).status_code

    def statuses(*keys: str) -> list[int]:
        async def flow(client: httpx.AsyncClient) -> list[int]:
            return [await status(client, k) for k in keys]

        result: list[int] = served(database_url, tmp_path, flow)
        return result

    assert statuses(key) == [200]
    ok(cli("api-key", "disable", tenant, str(listed["id"])))
    assert statuses(key) == [401]
    ok(cli("api-key", "enable", tenant, key))
    assert statuses(key) == [200]
    rotated = as_json(cli("api-key", "rotate", tenant, key, "--json"))
    assert set(rotated) == {"id", "api_key"}
    assert statuses(key, rotated["api_key"]) == [401, 200]
    keys = {k["id"]: k["disabled"] for k in as_json(cli("api-key", "list", tenant, "--json"))}
    assert keys == {listed["id"]: True, rotated["id"]: False}
    refused(cli("api-key", "rotate", tenant, "bo_unknown"), "not found")


def test_api_user_list_disable_enable_rotate(
    cli: Invoke, database_url: str, tmp_path: Path
) -> None:
    tenant = new_tenant(cli)
    creds = as_json(cli("api-user", "create", tenant, "ops", "--json"))

    def status(secret: str) -> int:
        async def flow(client: httpx.AsyncClient) -> int:
            return (await Signer(client, tenant, "ops", secret).get("tag-groups")).status_code

        result: int = served(database_url, tmp_path, flow)
        return result

    ok(cli("api-user", "disable", tenant, "ops"))
    assert [
        (u["login"], u["disabled"]) for u in as_json(cli("api-user", "list", tenant, "--json"))
    ] == [("ops", True)]
    assert status(creds["secret_key"]) == 401
    ok(cli("api-user", "enable", tenant, "ops"))
    assert status(creds["secret_key"]) == 200
    rotated = as_json(cli("api-user", "rotate", tenant, "ops", "--json"))
    assert rotated["login"] == "ops"
    assert rotated["secret_key"] != creds["secret_key"]
    assert status(creds["secret_key"]) == 401
    assert status(rotated["secret_key"]) == 200
    assert creds["secret_key"] not in ok(cli("api-user", "list", tenant)).stdout


def test_interface_user_list_disable_rotate(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    ok(cli("interface-user", "create", tenant, "app_user", "--json"))

    async def new_token(client: httpx.AsyncClient) -> tuple[int, str]:
        api = Api(client, tenant)
        response = await client.post(
            api.url("tokens"), json=token_body(), headers=basic("app_user")
        )
        token = response.json()["data"]["token_id"] if response.status_code == 201 else ""
        return response.status_code, token

    def connection(token: str) -> int:
        async def flow(client: httpx.AsyncClient) -> int:
            api = Api(client, tenant)
            api.token = token
            return (await api.get("stores")).status_code

        result: int = served(database_url, tmp_path, flow)
        return result

    created, token = served(database_url, tmp_path, new_token)
    assert created == 201
    assert connection(token) == 200
    ok(cli("interface-user", "disable", tenant, "app_user"))
    assert connection(token) == 401
    assert served(database_url, tmp_path, new_token)[0] == 403
    ok(cli("interface-user", "enable", tenant, "app_user"))
    assert connection(token) == 200
    (user,) = as_json(cli("interface-user", "list", tenant, "--json"))
    assert (user["user_name"], user["disabled"], user["tokens"]) == ("app_user", False, 1)
    rotated = as_json(cli("interface-user", "rotate", tenant, "app_user", "--json"))
    assert rotated == {"user_name": "app_user", "tokens_ended": 1}
    assert connection(token) == 401


def test_customer_find(cli: Invoke, database_url: str, tmp_path: Path) -> None:
    tenant = new_tenant(cli)
    creds = as_json(cli("api-user", "create", tenant, "ops", "--json"))
    email = f"{unique()}@example.org"

    async def create(client: httpx.AsyncClient) -> str:
        signer = Signer(client, tenant, "ops", creds["secret_key"])
        body = {"firstName": "Grace", "lastName": "Hopper", "email": email}
        response = await signer.post("customers", body)
        assert response.status_code == 200, response.text
        customer_id: str = response.json()["id"]
        return customer_id

    customer_id = served(database_url, tmp_path, create)
    for criteria in (["--email", email.upper()], ["--id", customer_id], ["--name", "ace hop"]):
        (found,) = as_json(cli("customer", "find", tenant, *criteria, "--json"))
        assert (found["id"], found["email"], found["last_name"]) == (customer_id, email, "Hopper")
    assert customer_id in ok(cli("customer", "find", tenant, "--name", "grace")).stdout
    assert as_json(cli("customer", "find", tenant, "--name", "nobody", "--json")) == []
    refused(cli("customer", "find", tenant), "criteria")
    refused(cli("customer", "find", unique("ghost"), "--name", "x"), "not found")

"""System Owner mode against a running boxoffice: sign, create, find, tag, consent, and read
an instance's availability.

.venv/bin/boxoffice api-user create demo example-user --json   # -> {"login": ..., "secret_key": ...}
.venv/bin/python docs/examples/spektrix_owner.py http://localhost:8000 demo example-user <secret_key>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import uuid
from email.utils import formatdate

import httpx


def signed_headers(
    method: str, url: str, login: str, secret: str, body: bytes | None
) -> dict[str, str]:
    date = formatdate(usegmt=True)
    to_sign = f"{method}\n{url}\n{date}"
    if body is not None:
        to_sign += "\n" + base64.b64encode(hashlib.md5(body).digest()).decode()  # noqa: S324
    digest = hmac.new(base64.b64decode(secret), to_sign.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode()
    headers = {"Date": date, "Authorization": f"SpektrixAPI3 {login}:{signature}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return headers


def call(
    client: httpx.Client, method: str, url: str, login: str, secret: str, payload: object = None
) -> httpx.Response:
    body = None if payload is None else json.dumps(payload).encode()
    response = client.request(
        method, url, content=body, headers=signed_headers(method, url, login, secret, body)
    )
    print(method, url, "->", response.status_code)
    return response


def main(base: str, client_name: str, login: str, secret: str) -> None:
    api = f"{base.rstrip('/')}/{client_name}/api/v3"
    email = f"example-{uuid.uuid4().hex[:8]}@example.org"
    with httpx.Client(timeout=10) as client:
        groups = client.get(f"{api}/tag-groups").json()  # web mode: no signature needed
        drama = next(t for g in groups for t in g["tags"] if t["name"] == "Drama")
        statements = client.get(f"{api}/statements").json()

        created = call(
            client,
            "POST",
            f"{api}/customers",
            login,
            secret,
            {
                "firstName": "Ada",
                "lastName": "Lovelace",
                "email": email,
                "birthDate": "1990-01-31",
                "Attribute_Favourite Genre": "Drama",
                "agreedStatements": [statements[0]["id"]],
            },
        )
        created.raise_for_status()
        customer = created.json()
        print(json.dumps(customer, indent=2))

        found = call(client, "GET", f"{api}/customers?email={email}", login, secret)
        assert found.json()["id"] == customer["id"]
        call(
            client,
            "POST",
            f"{api}/customers/{customer['id']}/tags",
            login,
            secret,
            {"id": drama["id"]},
        ).raise_for_status()
        expanded = call(
            client,
            "GET",
            f"{api}/customers/{customer['id']}?$expand=tags,agreedStatements",
            login,
            secret,
        )
        print(json.dumps(expanded.json(), indent=2))
        duplicate = call(
            client,
            "POST",
            f"{api}/customers",
            login,
            secret,
            {"firstName": "A", "lastName": "L", "email": email},
        )
        print(duplicate.json())

        # What the venue sells: an instance's availability, with the counts only the
        # venue sees (sold, locked, reserved...) because the request is signed.
        instances = client.get(f"{api}/instances").json()  # web mode
        if instances:
            status = call(
                client,
                "GET",
                f"{api}/instances/{instances[0]['id']}/status?includeLockInformation=true",
                login,
                secret,
            )
            status.raise_for_status()
            print(json.dumps(status.json(), indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:5])

"""A customer's orders in System Owner mode: GET customers/{id}/orders.

No sale is recorded yet, so a customer's orders are an empty list (the vendor's clients read
the list before a customer has bought anything: an answer of 404 broke them); an unknown
customer, or another tenant's, is still "not found"."""

from __future__ import annotations

import pytest

from tests.api.spektrix.support import assert_error, create
from tests.conftest import Signer


async def test_a_customer_without_orders_has_an_empty_list(owner_api: Signer) -> None:
    created = await create(owner_api)

    response = await owner_api.get(f"customers/{created['id']}/orders")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == []


@pytest.mark.parametrize("customer_id", ["I-ZZZZ-ZZZ0", "nonsense", "I-AAAA-AAAA"])
async def test_orders_of_an_unknown_customer_are_404(owner_api: Signer, customer_id: str) -> None:
    assert_error(await owner_api.get(f"customers/{customer_id}/orders"), 404)


async def test_orders_of_another_tenants_customer_are_404(
    owner_api: Signer, other_api: Signer
) -> None:
    theirs = await create(other_api)

    assert (await other_api.get(f"customers/{theirs['id']}/orders")).json() == []
    assert_error(await owner_api.get(f"customers/{theirs['id']}/orders"), 404)

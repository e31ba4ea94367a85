"""One customer, two dialects: what Spektrix writes, CareCloud reads, and back."""

from __future__ import annotations

from boxoffice.api.carecloud import mappers
from boxoffice.domain.ids import parse_customer_code
from tests.api.carecloud.support import PASSWORD, Api, unique_email
from tests.conftest import Signer


async def test_a_spektrix_customer_logs_in_to_the_app(api: Api, owner_api: Signer) -> None:
    tags = {t["name"]: t["id"] for t in (await owner_api.get("tags")).json()}
    statements = {s["text"]: s["id"] for s in (await owner_api.get("statements")).json()}
    email = unique_email("spektrix")
    created = await owner_api.post(
        "customers",
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": email,
            "password": PASSWORD,
            "birthDate": "1990-12-10",
            "mobile": "+44 7700 900123",
            "tags": [tags["Music"], tags["VIP"]],
            "agreedStatements": [statements["Email updates from Demo Theatre"]],
            "Attribute_Favourite Genre": "Opera",
        },
    )
    assert created.status_code == 200, created.text
    spektrix_id = created.json()["id"]
    login = await api.post(
        f"tokens/{api.token}/actions/login",
        {"login_type": "email", "login_value": email, "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    customer_id = login.json()["data"]["customer_id"]
    assert mappers.decode(mappers.CUSTOMER, customer_id) == (parse_customer_code(spektrix_id),)

    info = (await api.get(f"customers/{customer_id}")).json()["data"]["personal_information"]
    assert (info["first_name"], info["last_name"], info["email"]) == ("Ada", "Lovelace", email)
    assert info["birthdate"] == "1990-12-10" and info["phone"] == "447700900123"
    assert info["agreement"]["agreement_marketing_communication"] == 1
    assert info["agreement"]["agreement_profiling"] == 2
    interests = (await api.get(f"customers/{customer_id}/interest-records")).json()["data"]
    names = {
        i["interest_id"]: i["name"]
        for i in (await api.get("interests")).json()["data"]["interests"]
    }
    assert [names[r["interest_id"]] for r in interests["interest_records"]] == ["Music"]
    properties = (await api.get(f"customers/{customer_id}/property-records")).json()["data"]
    assert [(p["property_id"], p["property_value"]) for p in properties["property_records"]] == [
        ("favourite_genre", "Opera")
    ]

    # The app withdraws the email consent and agrees to partners' offers; Spektrix sees it.
    response = await api.put(
        f"customers/{customer_id}",
        {
            "customer": {
                "personal_information": {
                    "first_name": "Ada",
                    "last_name": "King",
                    "email": email,
                    "phone": "447700900123",
                    "language_id": "en",
                    "agreement": {
                        "agreement_marketing_communication": 0,
                        "agreement_profiling": 1,
                    },
                }
            }
        },
    )
    assert response.status_code == 204, response.text
    seen = (await owner_api.get(f"customers/{spektrix_id}?$expand=agreedStatements,tags")).json()
    assert seen["lastName"] == "King"
    assert [s["text"] for s in seen["agreedStatements"]] == ["Offers from our partners"]
    assert {t["name"] for t in seen["tags"]} == {"Music", "VIP"}  # internal tags untouched
    info = (await api.get(f"customers/{customer_id}")).json()["data"]["personal_information"]
    assert info["agreement"]["agreement_marketing_communication"] == 0  # withdrawn, on record

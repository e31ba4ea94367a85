import json
from tests.conftest import Signer

async def test_dump(owner_api: Signer) -> None:
    r = await owner_api.post("customers", {"firstName": "Ann", "lastName": "Lee", "email": "Ann@Example.org",
        "title": "Ms", "phone": "0201", "mobile": "0777", "birthDate": "1990-01-31", "friendlyId": "F1",
        "password": "correct horse battery", "addresses": [{"line1": "1 St", "town": "London", "postcode": "N1", "country": "gb"}, {"line1": "2 St", "isBilling": True}],
        "Attribute_Favourite Genre": "Jazz"})
    print(r.status_code, r.text)
    cid = r.json()["id"]
    r = await owner_api.get(f"customers/{cid}?$expand=tags,allTags,tagsByGroup,allTagsByGroup,agreedStatements,allStatements,addresses,subscriptions")
    print(json.dumps(r.json(), indent=1))
    for p in ["tag-groups", "tags", "statements", "memberships", "nope", "customers?email=x@y.org", "customers"]:
        r = await owner_api.get(p)
        print(p, r.status_code, r.text[:3000])
    r = await owner_api.post("customers", {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.ORG"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"firstName": 5, "lastName": "Lee", "email": "ann@example.ORG"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"firstName": "a", "lastName": "Lee", "email": "bob@example.ORG", "addresses": "x"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"firstName": "a", "lastName": "Lee", "email": "bob@example.ORG", "Attribute_Shoe": "x"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"firstName": "a", "lastName": "Lee", "email": "bobexample.ORG"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"lastName": "Lee", "email": "bob@example.ORG"})
    print(r.status_code, r.text)
    r = await owner_api.post("customers", {"firstName": "a", "lastName": "Lee", "email": "bob@example.ORG", "tags": ["1ABCD"]})
    print(r.status_code, r.text)

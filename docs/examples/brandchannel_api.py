"""The brand/channel customer API v2 against a running boxoffice: every endpoint, once.

.venv/bin/boxoffice api-key create demo --permission CUSTOMER_READ --permission CUSTOMER_CUD --json
.venv/bin/python docs/examples/brandchannel_api.py http://localhost:8000 <api_key>

The bodies use the three encodings the API accepts: multipart/form-data (``files=`` with
``(None, value)`` parts), application/x-www-form-urlencoded (``data=``) and JSON (``json=``).
``syncWithCRM`` needs a CRM lookup URL on brand 1: see docs/examples/brandchannel_crm.py.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

import httpx


def show(response: httpx.Response, *expected: int) -> Any:
    print(response.request.method, response.request.url.path, "->", response.status_code)
    body = response.json()
    print("   ", json.dumps(body, ensure_ascii=False)[:300])
    if response.status_code not in (expected or (200,)):
        raise SystemExit(f"unexpected status {response.status_code}")
    return body


def multipart(**fields: object) -> dict[str, tuple[None, str]]:
    return {name: (None, str(value)) for name, value in fields.items()}


def main(base: str, api_key: str) -> None:
    external = f"EX-{uuid.uuid4().hex[:8]}"
    email = f"jana.{uuid.uuid4().hex[:8]}@example.org"
    phone = "+420" + str(uuid.uuid4().int)[:9]
    with httpx.Client(
        base_url=f"{base.rstrip('/')}/api/v2", headers={"apiKey": api_key}, timeout=30
    ) as api:
        # POST index: create (multipart/form-data, as the vendor's example).
        created = show(
            api.post(
                "/customer",
                files=multipart(
                    brand_id=1,
                    primary_id=external,
                    firstname="Jana",
                    lastname="Nováková",
                    extra_email=email,
                    extra_telephone=phone,
                    custom_testfield="from the example",
                    ticket_id=1001,
                ),
            )
        )
        customer_id = created["id"]

        # GET index (paged and searched) and GET item.
        show(api.get("/customer", params={"search": "Jana", "itemStart": 0, "itemLimit": 5}))
        show(api.get(f"/customer/{customer_id}"))

        # PUT index: the name, by brand + primary id (urlencoded).
        show(api.put("/customer", data={"primaryID": external, "brandID": 1, "firstname": "Janka"}))

        # PUT item: fields, custom fields and channel pairs (urlencoded).
        show(
            api.put(
                f"/customer/{customer_id}",
                data={
                    "brandID": 1,
                    "lastname": "Nováková",
                    "custom_testfield": "changed",
                    "customerChannelType_0": "twitter",
                    "customerChannelValue_0": "jana_tweets",
                },
            )
        )

        # The searches (JSON bodies work too).
        show(
            api.post(
                "/customer/SearchByPrimaryExternalID", json={"primary_id": external, "brand_id": 1}
            )
        )
        show(
            api.post(
                "/customer/SearchByCustomerChannelValue",
                files=multipart(customerChannelValue=email, brand_id=1),
            )
        )

        # addChannelOnly and updateCustomer.
        show(
            api.post(
                "/customer/addChannelOnly",
                files=multipart(customer_id=customer_id, extra_facebook="1"),
            )
        )
        show(
            api.put(
                "/customer/updateCustomer",
                data={
                    "externalPrimaryID": external,
                    "brandID": 1,
                    "customerChannelType_0": "email",
                    "customerChannelValue_0": f"work.{email}",
                },
            )
        )

        # externalEvent, then the timeline with the ticket history.
        show(
            api.post(
                "/customer/externalEvent",
                files=multipart(
                    external_id=external,
                    brand_id=1,
                    initiated_by="webshop",
                    message="Order 1001: two tickets",
                    source_url="https://shop.example.org/orders/1001",
                ),
            )
        )
        show(
            api.get(
                "/customer/timelineByCustomerExternalID",
                params={"brand_id": 1, "external_id": external, "include_tickets": "1"},
            )
        )

        # syncWithCRM: 200 with the customer when brand 1 has a CRM lookup URL, else 400.
        show(
            api.post(
                "/customer/syncWithCRM",
                files=multipart(brandID=1, channel="phoneNumber", address=phone),
            ),
            200,
            400,
        )

        # createCustomerCRUD.
        crud = show(
            api.post(
                "/customer/createCustomerCRUD",
                json={
                    "primaryID": f"{external}-2",
                    "brandID": 1,
                    "firstname": "Petr",
                    "lastname": "Svoboda",
                    "customerChannelType_0": "telephone",
                    "customerChannelValue_0": "+420777000111",
                },
            )
        )

        # DELETE itemChannel, DELETE itemPurgeData, DELETE item.
        channel = show(api.get(f"/customer/{customer_id}"))["channels"][0]
        show(api.delete(f"/customer/{customer_id}/channel", params={"channel_id": channel["id"]}))
        show(api.delete(f"/customer/{customer_id}/purgeData"))
        show(api.get(f"/customer/{customer_id}"))
        show(api.delete(f"/customer/{crud['id']}"))

        # Errors: {"message", "type": "error"}.
        show(api.post("/customer", data={"brand_id": 1, "firstname": "R2D2"}), 400)
        show(api.get(f"/customer/{crud['id']}"), 404)


if __name__ == "__main__":
    main(*sys.argv[1:3])

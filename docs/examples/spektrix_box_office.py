"""A sale at the counter in System Owner mode against a running boxoffice: a basket for a new
customer, the two best available seats of a Hamlet performance, a cash payment recorded as a
custom payment, the order confirmed and read back; then one ticket returned with a cash
refund (its seat goes back on sale).

.venv/bin/boxoffice api-user create demo example-user --json   # -> {"login": ..., "secret_key": ...}
.venv/bin/python docs/examples/spektrix_box_office.py http://localhost:8000 demo example-user <secret_key>
"""

from __future__ import annotations

import sys
import uuid

import httpx
from spektrix_owner import call


def main(base: str, client_name: str, login: str, secret: str) -> None:
    api = f"{base.rstrip('/')}/{client_name}/api/v3"
    with httpx.Client(timeout=10) as client:

        def send(method: str, path: str, payload: object = None) -> object:
            response = call(client, method, f"{api}/{path}", login, secret, payload)
            response.raise_for_status()
            return response.json()

        email = f"counter-{uuid.uuid4().hex[:8]}@example.org"
        customer = send(
            "POST", "customers", {"firstName": "Ada", "lastName": "Counter", "email": email}
        )
        assert isinstance(customer, dict)
        instances = send("GET", "instances?eventName=Hamlet")
        assert isinstance(instances, list)
        basket = send(
            "POST", "baskets", {"customer": customer["id"], "ticketDelivery": {"type": 1}}
        )
        assert isinstance(basket, dict)
        tickets = send(
            "POST",
            f"baskets/{basket['id']}/tickets/best-available",
            {"instance": instances[-1]["id"], "quantity": 2},
        )
        assert isinstance(tickets, list)
        print("seats:", [t["seatName"] for t in tickets])
        total = round(sum(t["total"] for t in tickets), 2)
        send(
            "POST",
            f"baskets/{basket['id']}/custom-payments",
            {
                "amount": total,
                "paymentTypeId": "Cash",
                "paymentAttributes": [{"name": "Till", "value": "1"}],
            },
        )
        order = send("POST", f"baskets/{basket['id']}/confirm", {"sendConfirmationEmail": False})
        assert isinstance(order, dict)
        read = send("GET", f"orders/{order['id']}")
        assert isinstance(read, dict)
        print("order:", read["id"], "total:", read["total"])
        print("barcodes:", [t["barcode"] for t in read["tickets"]])
        first = read["tickets"][0]
        returned = send(
            "POST",
            f"orders/{order['id']}/returns",
            {
                "ticketIds": [first["id"]],
                "refund": {"amount": first["total"], "paymentTypeId": "Cash"},
            },
        )
        assert isinstance(returned, dict)
        print("after the return:", returned["total"], "refunds:", returned["refunds"])


if __name__ == "__main__":
    main(*sys.argv[1:5])

"""The demo tenant's customers: a few hundred realistic, made-up people (decision 0107).

``boxoffice demo`` seeds them so that every page, API call and export shows something. They
are deterministic (one seeded random generator: the same people on every machine), with names
from several cultures, addresses in the catalogue's countries, tags (the web-visible interests,
which are also CareCloud interests, and a few internal ones), consents with their history
(some given at sign-up and withdrawn later), attribute values (CareCloud properties among
them) and membership subscriptions; and one account with a password, to log in with on the
demo venue page. Every address is at a reserved domain (``example.org`` and its kind).

The customers go in through the bulk import service (one transaction per batch, the API's
rules for every value); the history and memberships through the customer services. The demo
account is made last: once it exists the demo has been seeded, and a second run adds nothing.
"""

from __future__ import annotations

import io
import json
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from boxoffice.domain.commands import NewAddress, NewCustomer
from boxoffice.domain.errors import InvalidInput, NotFound
from boxoffice.domain.principal import Principal
from boxoffice.services import bulk
from boxoffice.services import customers as customer_service
from boxoffice.services import tenants as tenant_service
from boxoffice.services.core import Core

#: How many customers ``boxoffice demo`` seeds, and the generator's seed.
DEMO_CUSTOMERS = 300
SEED = 2026
DEMO_EMAIL = "ada.lovelace@example.org"
DEMO_PASSWORD = "Demo-theatre1"  # noqa: S105 (the demo account's, shown on its page)
ACTOR = "cli:demo"

# (first names, last names, the countries they live in) by culture: made-up combinations.
_PEOPLE: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Poppy", "Jack", "Florence", "Alfie"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Hughes", "Clarke"),
        ("GB",),
    ),
    (
        ("Siobhán", "Cian", "Aoife", "Oisín", "Niamh", "Seán", "Róisín", "Pádraig"),
        ("Ó Briain", "Murphy", "Kelly", "O'Sullivan", "Byrne", "Ní Dhomhnaill", "Walsh"),
        ("IE", "GB"),
    ),
    (
        ("Jiří", "Tereza", "Lukáš", "Eliška", "Tomáš", "Anežka", "Vojtěch", "Kateřina"),
        ("Novák", "Dvořáková", "Svoboda", "Černá", "Procházka", "Kučerová", "Veselý"),
        ("CZ", "GB"),
    ),
    (
        ("Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Meera", "Sanjay"),
        ("Patel", "Sharma", "Iyer", "Reddy", "Chatterjee", "Nair", "Gupta", "Desai"),
        ("GB", "US"),
    ),
    (
        ("Chinonso", "Adaeze", "Oluwaseun", "Ngozi", "Babajide", "Folake", "Emeka", "Yetunde"),
        ("Okafor", "Adeyemi", "Nwosu", "Balogun", "Eze", "Okonkwo", "Adebayo"),
        ("GB", "IE"),
    ),
    (
        ("Wei", "Mei", "Jun", "Xiu", "Hao", "Lan", "Yusuf", "Leila", "Omar", "Zainab"),
        ("Chen", "Wang", "Li", "Zhang", "Khan", "Haddad", "Rahman", "Hussain"),
        ("GB", "US"),
    ),
    (
        ("Lucía", "Mateo", "Sofía", "Hugo", "Chloé", "Théo", "Léa", "Jürgen", "Zoë", "Björn"),
        ("García", "Martínez", "Moreau", "Lefèvre", "Müller", "Schäfer", "Lindqvist"),
        ("GB", "IE", "CZ"),
    ),
    (
        ("Emily", "James", "Madison", "Tyler", "Hannah", "Ethan", "Grace", "Noah"),
        ("Johnson", "Miller", "Davis", "Rodriguez", "Thompson", "Nguyen", "Kim"),
        ("US",),
    ),
)
_TITLES = ("", "", "", "Mr", "Ms", "Mrs", "Dr", "Mx")
_DOMAINS = ("example.org", "example.com", "example.net")
_STREETS = (
    "High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue",
    "Orchard Close", "Main Street", "Elm Grove", "Riverside Walk",
)  # fmt: skip
_TOWNS = {
    "GB": (("London", "N1 9GU"), ("Manchester", "M1 4BT"), ("Bristol", "BS1 5TR"),
           ("Leeds", "LS1 4AP"), ("Glasgow", "G1 1XQ"), ("Brighton", "BN1 1UB")),
    "IE": (("Dublin", "D02 X285"), ("Cork", "T12 W8F2"), ("Galway", "H91 E2K3")),
    "CZ": (("Praha", "110 00"), ("Brno", "602 00"), ("Olomouc", "779 00")),
    "US": (("New York, NY", "10012"), ("Chicago, IL", "60614"), ("Boston, MA", "02116")),
}  # fmt: skip
_INTERESTS = ("Interests/Drama", "Interests/Music", "Interests/Family")
_SOURCES = ("Sign-up Source/Website Form", "Sign-up Source/Ticket Ballot")
_STATEMENTS = ("Email updates from Demo Theatre", "Post from Demo Theatre",
               "Offers from our partners")  # fmt: skip
_GENRES = ("Shakespeare", "Opera", "Jazz", "Contemporary dance", "Musicals", "Comedy",
           "New writing", "Chamber music", "Puppetry")  # fmt: skip
_HEARD = ("A friend", "Newsletter", "Poster", "Social media", "Local paper", "Radio")
_ACCESS = ("Wheelchair space", "Step-free access", "Hearing loop", "Aisle seat")


@dataclass(frozen=True)
class SeedSummary:
    created: int
    customers: int  # the tenant's demo customers after the run (0: already seeded before)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _phone(rng: random.Random, country: str) -> str:
    if country == "GB":
        return f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    if country == "IE":
        return f"+353 8{rng.randint(5, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    if country == "CZ":
        return f"+420 {rng.randint(601, 799)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    return f"+1 {rng.randint(201, 989)} 555 {rng.randint(1000, 9999)}"


def demo_records(count: int = DEMO_CUSTOMERS, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """The demo customers as import records (docs/import-export.md), the same for a seed."""
    rng = random.Random(seed)  # noqa: S311 (made-up people, not secrets)
    emails: set[str] = {DEMO_EMAIL}
    for _ in range(count):
        firsts, lasts, countries = rng.choice(_PEOPLE)
        first, last, country = rng.choice(firsts), rng.choice(lasts), rng.choice(countries)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email = f"{local}@{rng.choice(_DOMAINS)}"
        number = 2
        while email in emails:
            email = f"{local}{number}@{email.split('@')[1]}"
            number += 1
        emails.add(email)
        town, postcode = rng.choice(_TOWNS[country])
        record: dict[str, Any] = {
            "title": rng.choice(_TITLES),
            "first_name": first,
            "last_name": last,
            "email": email,
            "birth_date": date(rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28))
            .isoformat(),
            "language": "cs" if country == "CZ" and rng.random() < 0.7 else "en",
            "tags": sorted(rng.sample(_INTERESTS, rng.randint(0, 2)))
            + [rng.choice(_SOURCES)]
            + (["Internal/VIP"] if rng.random() < 0.04 else [])
            + (["Internal/Press"] if rng.random() < 0.02 else []),
            "statements": [s for s in _STATEMENTS if rng.random() < (0.7, 0.3, 0.15)[
                _STATEMENTS.index(s)]],
            "attributes": {"Heard About Us": rng.choice(_HEARD)},
        }  # fmt: skip
        if rng.random() < 0.6:
            record["mobile"] = _phone(rng, country)
        if rng.random() < 0.8:
            record["addresses"] = [
                {
                    "line1": f"{rng.randint(1, 180)} {rng.choice(_STREETS)}",
                    "town": town,
                    "postcode": postcode,
                    "country": country,
                }
            ]
        if rng.random() < 0.5:
            record["attributes"]["Favourite Genre"] = rng.choice(_GENRES)
        if rng.random() < 0.06:
            record["attributes"]["Access Requirements"] = rng.choice(_ACCESS)
        if rng.random() < 0.03:
            wedding = date(rng.randint(1975, 2025), rng.randint(1, 12), rng.randint(1, 28))
            record["attributes"]["Wedding Date"] = wedding.isoformat()
        yield record


class _NoRejects(bulk.RejectWriter):
    """The demo's records are all valid: a refused one is a bug, said at once."""

    def __init__(self) -> None:
        super().__init__(None, "jsonl", list)

    def write(self, line: int, original: Any, reason: str) -> None:
        raise InvalidInput("demo customers", f"record {line} refused: {reason}")


async def seed_demo_customers(
    core: Core, tenant_name: str, *, count: int = DEMO_CUSTOMERS, seed: int = SEED
) -> SeedSummary:
    """Seed the demo customers into the tenant, unless it already has the demo account."""
    tenant = await tenant_service.get_tenant(core, tenant_name)
    principal = Principal(tenant_id=tenant.id, actor=ACTOR, full_access=True)
    try:
        await customer_service.find_customer_by_email(core, principal, DEMO_EMAIL)
    except NotFound:
        pass
    else:
        return SeedSummary(created=0, customers=0)
    records = list(demo_records(count, seed))
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    source = bulk.Source(io.BytesIO(data), "jsonl")
    summary = await bulk.import_customers(core, tenant_name, source, _NoRejects(), actor=ACTOR)
    # History and memberships, drawn from a generator of their own (same seed: same people).
    rng = random.Random(seed + 1)  # noqa: S311
    today = datetime.now(UTC).date()
    for record in records:
        draw = rng.random()
        withdraw = record["statements"] and rng.random() < 0.12
        if draw >= 0.25 and not withdraw:
            continue
        view = await customer_service.find_customer_by_email(
            core, principal, record["email"], parts=(customer_service.CONSENTS,)
        )
        if withdraw:  # agreed at sign-up, withdrawn since: the consent's history shows both
            statement = next(
                c.statement_id for c in view.consents if c.text == record["statements"][-1]
            )
            await customer_service.withdraw_statement(
                core, principal, view.id, statement, channel=ACTOR
            )
        if draw < 0.25:
            start = today - timedelta(days=rng.randint(0, 700))
            await customer_service.add_subscription(
                core,
                principal,
                view.id,
                "Patrons" if draw < 0.04 else "Friends",
                start=start,
                expiry=start + timedelta(days=365),
                auto_renew=rng.random() < 0.5,
            )
    account = await customer_service.create_customer(
        core,
        principal,
        NewCustomer(
            title="Dr",
            first_name="Ada",
            last_name="Lovelace",
            email=DEMO_EMAIL,
            password=DEMO_PASSWORD,
            addresses=(
                NewAddress(
                    line1="12 St Martin's Lane", town="London", postcode="WC2N 4AP", country="GB"
                ),
            ),
            attributes={"Favourite Genre": "Opera", "Heard About Us": "A friend"},
        ),
        channel=ACTOR,
    )
    await customer_service.add_subscription(
        core,
        principal,
        account.id,
        "Friends",
        start=today,
        expiry=today + timedelta(days=365),
        auto_renew=True,
    )
    return SeedSummary(created=summary.created + 1, customers=len(records) + 1)

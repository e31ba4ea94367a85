"""Public writes in the core: validated whole before Argon2 runs, in the sign-up lane, behind
one bot check (``services/bots.py``). SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from boxoffice.bootstrap import Core
from boxoffice.domain.commands import NewAddress, NewCustomer
from boxoffice.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    RateLimited,
    Unavailable,
)
from boxoffice.domain.principal import Principal
from boxoffice.security import passwords
from boxoffice.services import accounts, bots, newsletter
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import customers as svc
from boxoffice.services.tenants import get_tenant
from boxoffice.store.models import Customer

PASSWORD = "Correct horse 1"


def new(email: str = "ada@example.org", **kw: object) -> NewCustomer:
    fields: dict[str, object] = {"first_name": "Ada", "last_name": "Lovelace", **kw}
    return NewCustomer(email=email, **fields)  # type: ignore[arg-type]


async def _count(core: Core, tenant_id: int) -> int:
    async with core.uow(tenant_id) as uow:
        return int((await uow.session.execute(select(func.count(Customer.id)))).scalar() or 0)


async def test_a_refused_sign_up_never_hashes(
    core: Core, web: Principal, owner: Principal, hashes: list[str]
) -> None:
    await svc.create_customer(core, owner, new("taken@example.org"))
    async with core.uow(web.tenant_id) as uow:
        internal = next(t.id for t in await uow.catalogue.tags() if t.name == "VIP")
    refused = [
        (AlreadyExists, new("TAKEN@example.org", password=PASSWORD)),
        (InvalidInput, new(password=PASSWORD, tag_ids=(internal,))),  # not web-visible
        (InvalidInput, new(password=PASSWORD, tag_ids=(987654,))),
        (InvalidInput, new(password=PASSWORD, statement_ids=(987654,))),
        (InvalidInput, new(password=PASSWORD, attributes={"No Such Attribute": "x"})),
        (InvalidInput, new(password=PASSWORD, addresses=(NewAddress(postcode="x" * 60),))),
        (InvalidInput, new(password=PASSWORD, addresses=(NewAddress(country="Narnia"),))),
        (InvalidInput, new(password="short")),
        (InvalidInput, new(first_name="", password=PASSWORD)),
    ]
    for error, cmd in refused:
        with pytest.raises(error):
            await svc.create_customer(core, web, cmd, public=True)
    assert hashes == []
    assert await _count(core, web.tenant_id) == 1
    await svc.create_customer(core, web, new(password=PASSWORD), public=True)
    assert hashes == [PASSWORD]


async def test_a_sign_up_is_refused_when_the_lane_is_full(
    core: Core, tenant: tuple[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = passwords.Lane("test", running=1, waiting=0)
    monkeypatch.setattr(passwords, "SIGN_UP_LANE", lane)
    release = threading.Event()
    busy = lane.submit(release.wait, 30)
    view = await get_tenant(core, tenant[0])
    client = accounts.Client(ip="192.0.2.1", base_url="http://testserver")
    try:
        with pytest.raises(Unavailable):
            await accounts.sign_up(
                core, view, client, new(password=PASSWORD), honeypot=None, captcha_token=None
            )
        # Without a password there is nothing to hash: the sign-up goes through.
        await accounts.sign_up(core, view, client, new(), honeypot=None, captcha_token=None)
    finally:
        release.set()
    await busy
    assert await _count(core, tenant[1]) == 1


async def test_one_bot_check_for_every_public_write(core: Core, tenant: tuple[str, int]) -> None:
    await catalogue_service.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"signup_per_ip": "1/minute"}}}
    )
    view = await get_tenant(core, tenant[0])
    with pytest.raises(InvalidInput) as filled:
        await bots.check_public_write(
            core, view, "192.0.2.1", bots.SIGN_UP, bots.BotSignals(honeypot="x")
        )
    assert filled.value.field == "website" and filled.value.reason == bots.HONEYPOT_FILLED
    with pytest.raises(RateLimited):  # the honeypot's attempt counted
        await bots.check_public_write(core, view, "192.0.2.1", bots.SIGN_UP, bots.BotSignals())
    await bots.check_public_write(core, view, "192.0.2.2", bots.SIGN_UP, bots.BotSignals())
    await bots.check_public_write(core, view, "192.0.2.1", bots.NEWSLETTER, bots.BotSignals())


async def test_an_invalid_limit_setting_falls_back_to_the_default(
    core: Core, tenant: tuple[str, int]
) -> None:
    await catalogue_service.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": {"signup_per_ip": "lots"}}}
    )
    view = await get_tenant(core, tenant[0])
    assert bots.limit_rule(view, "signup_per_ip", "10/10 minutes") == "10/10 minutes"
    await bots.check_public_write(core, view, "192.0.2.1", bots.SIGN_UP, bots.BotSignals())


async def test_invalid_account_limit_settings_fall_back_to_the_defaults(
    core: Core, tenant: tuple[str, int]
) -> None:
    """Login, password reset and magic link read their rules through ``bots.limit_rule``
    too: a typo in a catalogue is logged and the default applies (it used to reach the
    limiter, which refuses it: a 500 on every login)."""
    names = ("login_per_ip", "reset_per_ip", "reset_per_account")
    names += ("magic_link_per_ip", "magic_link_per_account")
    await catalogue_service.load_catalogue(
        core, tenant[0], {"settings": {"rate_limits": dict.fromkeys(names, "lots")}}
    )
    view = await get_tenant(core, tenant[0])
    client = accounts.Client(ip="192.0.2.1", base_url="https://tickets.example.org")
    with pytest.raises(NotFound):  # an unknown address, counted under the default rule
        await accounts.authenticate(core, view, client, "nobody@example.org", PASSWORD)
    await accounts.send_magic_link(
        core, view, client, "nobody@example.org", "https://tickets.example.org/m?t={token}"
    )
    with pytest.raises(NotFound):
        await accounts.request_password_reset(core, view, client, "nobody@example.org")


async def test_an_unknown_confirmation_token_is_refused(
    core: Core, tenant: tuple[str, int]
) -> None:
    view = await get_tenant(core, tenant[0])
    for token in ("", "nope", "x" * 500):
        with pytest.raises(InvalidInput) as refused:
            await newsletter.confirm(core, view, token)
        assert refused.value.field == "token"

"""Newsletter sign-ups with double opt-in: nobody's consents change on a stranger's word.

A sign-up names a contact (an email address or a phone number), a customer source, the
statements to agree to and a language. It is a public write (``bots.check_public_write``:
the per-IP limit, honeypot and CAPTCHA), and then:

- when the caller is the contact's own customer (a CareCloud token with that customer logged
  in), the agreements are added at once (signing up never withdraws anything);
- otherwise (an anonymous token, or another customer's), nothing about any customer changes: a
  **pending request** is recorded (``newsletter_requests``) and a confirmation link is mailed
  to the address, whether or not a customer has it (the answer is the same either way). The
  link opens a page (``/{tenant}/website/Secure/ConfirmNewsletter.aspx``) whose button
  confirms: the agreements are then given to the customer who has the address, or a new
  customer is created with the address, the source, the language and the agreements (what an
  unknown contact used to become at once). A request is used once and expires after
  :data:`PENDING_DAYS` days; expired requests are deleted by the next sign-up. Mails to one
  address are limited per hour (``settings.rate_limits.newsletter_per_address``).
- A phone number cannot be confirmed by mail: from anyone but its own logged-in customer it
  is refused (``InvalidInput("contact", NOT_ALLOWED)``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from boxoffice.domain import rules
from boxoffice.domain.commands import ConsentChoice, NewProfile, Profile, SourceLink
from boxoffice.domain.errors import BAD_FORMAT, NOT_ALLOWED, UNKNOWN, AlreadyExists, InvalidInput
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import normalise_email
from boxoffice.domain.views import TenantView
from boxoffice.security import ratelimit
from boxoffice.services import bots, devices, mail, profiles
from boxoffice.services import consents as consent_service
from boxoffice.services.core import Core
from boxoffice.store.models import CustomerSource, Language, NewsletterRequest
from boxoffice.store.repositories import Profiles
from boxoffice.store.uow import UnitOfWork

CHANNEL: Final = "newsletter"
PENDING_DAYS: Final = 7
#: Where the mailed link points, under the instance's public base URL.
CONFIRM_PAGE: Final = "website/Secure/ConfirmNewsletter.aspx"
MAX_TOKEN_LENGTH: Final = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Owner:
    id: int
    first_name: str
    email: str | None


async def _owner(uow: UnitOfWork, email: str | None, phone: str | None) -> _Owner | None:
    """The active customer with the contact, if any."""
    if email is not None:
        row = await uow.customers.by_email_key(normalise_email(email))
    else:
        assert phone is not None
        found = await Profiles(uow.session).by_phone(devices.phone_variants(phone))
        row = found[0] if found else None
    return _Owner(row.id, row.first_name, row.email) if row is not None else None


async def _check_request(
    uow: UnitOfWork, source_id: int, statement_ids: Sequence[int], language: str | None
) -> None:
    if source_id not in {s.id for s in await uow.catalogue.all(CustomerSource)}:
        raise InvalidInput("customer_source_id", UNKNOWN)
    if statement_ids:
        known = {s.id for s in await uow.catalogue.statements()}
        if any(i not in known for i in statement_ids):
            raise InvalidInput("statements", UNKNOWN)
    if language is not None:
        codes = {lang.code.lower() for lang in await uow.catalogue.all(Language)}
        if codes and language.lower() not in codes:
            raise InvalidInput("language", UNKNOWN)


async def _agree(
    uow: UnitOfWork, principal: Principal, customer_id: int, statement_ids: Sequence[int]
) -> list[int]:
    """Agree to the statements still in the catalogue (never withdraws), on the record."""
    wanted = set(statement_ids)
    statements = [s for s in await uow.catalogue.statements() if s.id in wanted]
    current = {c.statement_id for c in await uow.customers.consents(customer_id)}
    agreed = await consent_service.agree(uow, principal, customer_id, statements, CHANNEL, current)
    if agreed:
        uow.customers.record(
            customer_id,
            "consent_changed",
            principal.actor,
            agreed=agreed,
            withdrawn=[],
            channel=CHANNEL,
        )
    return agreed


async def sign_up(
    core: Core,
    tenant: TenantView,
    principal: Principal,
    *,
    client_ip: str,
    base_url: str,
    contact: str,
    source_id: int,
    consents: Sequence[ConsentChoice],
    language: str | None,
    signals: bots.BotSignals,
) -> None:
    """Sign a contact up: at once for the caller's own contact, else a pending request and a
    confirmation mail (links under ``base_url``). See the module's docstring."""
    await bots.check_public_write(core, tenant, client_ip, bots.NEWSLETTER, signals)
    contact = (contact or "").strip()
    email = phone = None
    if "@" in contact:
        email = rules.clean_email(contact)
    elif devices.phone_variants(contact):
        phone = contact
    else:
        raise InvalidInput("contact", BAD_FORMAT)
    language = rules.clean_text("language", language) or None
    statement_ids = list(dict.fromkeys(c.statement_id for c in consents if c.agreed))
    async with core.uow(tenant.id) as uow:
        await _check_request(uow, source_id, statement_ids, language)
        owner = await _owner(uow, email, phone)
    if owner is not None and principal.customer_id == owner.id:
        async with core.uow(tenant.id, write=True) as uow:
            await _agree(uow, principal, owner.id, statement_ids)
            await uow.commit()
        return
    if email is None:
        raise InvalidInput("contact", NOT_ALLOWED)
    if owner is not None and owner.email:
        email = owner.email  # the address as the customer's record has it
    key = normalise_email(email)
    await core.limiter.hit(
        bots.limit_rule(tenant, "newsletter_per_address", ratelimit.NEWSLETTER_PER_ADDRESS),
        "newsletter-address",
        tenant.name,
        key,
    )
    token = secrets.token_urlsafe(32)
    now = _now()
    async with core.uow(tenant.id, write=True) as uow:
        await uow.session.execute(
            delete(NewsletterRequest).where(NewsletterRequest.expires_at <= now)
        )
        uow.session.add(
            NewsletterRequest(
                token_hash=_hash(token),
                email=email,
                email_key=key,
                customer_id=owner.id if owner is not None else None,
                source_id=source_id,
                statement_ids=statement_ids,
                language=language,
                requested_by=principal.actor,
                created_at=now,
                expires_at=now + timedelta(days=PENDING_DAYS),
            )
        )
        await uow.commit()
    link = f"{base_url.rstrip('/')}/{tenant.name}/{CONFIRM_PAGE}?token={token}"
    await mail.deliver(
        core.mailer,
        tenant,
        email,
        "newsletter_confirmation",
        {
            "tenant_name": tenant.display_name,
            "customer_first_name": owner.first_name if owner is not None else "",
            "link": link,
            "expires_days": PENDING_DAYS,
        },
    )


async def confirm(core: Core, tenant: TenantView, token: str) -> int:
    """Apply a pending sign-up whose mailed token this is (once); returns the customer's id.
    An unknown, used, expired or foreign token is ``InvalidInput("token", ...)`` alike."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidInput("token", "invalid or expired")
    # The address's owner confirms, on the hosted page: the consent history says so.
    principal = Principal(tenant_id=tenant.id, actor="web", full_access=False)
    async with core.uow(tenant.id, write=True) as uow:
        stmt = select(NewsletterRequest).where(NewsletterRequest.token_hash == _hash(token))
        row = (await uow.session.execute(stmt.with_for_update())).scalar_one_or_none()
        if row is None or row.expires_at <= _now():
            raise InvalidInput("token", "invalid or expired")
        email, statement_ids = row.email, list(row.statement_ids)
        await uow.session.delete(row)
        owner = await uow.customers.by_email_key(row.email_key)
        if owner is not None:
            customer_id = owner.id
            await _agree(uow, principal, customer_id, statement_ids)
        else:
            cmd = NewProfile(
                profile=Profile(email=email, language=row.language),
                source=SourceLink(source_id=row.source_id),
                consents=tuple(ConsentChoice(statement_id=i, agreed=True) for i in statement_ids),
            )
            try:
                customer_id = await profiles.create_profile_in(uow, principal, cmd, channel=CHANNEL)
            except InvalidInput as exc:  # the catalogue changed since (a language gone)
                raise InvalidInput("token", "invalid or expired") from exc
        try:
            await uow.commit()
        except IntegrityError as exc:  # the address was registered meanwhile: try again
            if "email_key" in str(exc.orig):
                raise AlreadyExists("Customer", email) from exc
            raise
    return customer_id

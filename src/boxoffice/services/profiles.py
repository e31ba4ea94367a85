"""Customer profiles for the app-facing API (CareCloud): registration with a store, a source,
consents and property values in one transaction; replacing the whole record; listings; the
checks an app makes before it registers someone.

A profile is the same customer every dialect sees: the same row, tags, attribute values and
agreed statements. Consents are three-state here: agreed, withdrawn (a withdrawal is on record)
or not set (nothing on record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from boxoffice.domain import rules
from boxoffice.domain.commands import (
    ADDRESS_PARTS,
    ConsentChoice,
    CustomerFilter,
    NewAddress,
    NewProfile,
    Profile,
)
from boxoffice.domain.errors import (
    BAD_FORMAT,
    NOT_ALLOWED,
    TAKEN,
    UNKNOWN,
    AlreadyExists,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from boxoffice.domain.ids import new_customer_key, new_row_key
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import normalise_email
from boxoffice.domain.views import ConsentStateView, DeviceTokenView, ProfileView, TenantView
from boxoffice.security.passwords import hash_password_async
from boxoffice.services import attributes as attribute_service
from boxoffice.services import bots, credentials, devices, localised, records
from boxoffice.services import consents as consent_service
from boxoffice.services import customers as customer_service
from boxoffice.services.addresses import check_address, new_address_row, unset_other_flags
from boxoffice.services.core import Core
from boxoffice.store.models import (
    ConsentChange,
    Customer,
    Language,
    Statement,
    Store,
)
from boxoffice.store.repositories import Profiles
from boxoffice.store.uow import ReadUnitOfWork, UnitOfWork

AGREED, WITHDRAWN, UNSET = "agreed", "withdrawn", "unset"


def _now() -> datetime:
    return datetime.now(UTC)


# --- rules --------------------------------------------------------------------------------------


class _Clean:
    """A profile's values, checked by the core's own rules."""

    def __init__(self, profile: Profile) -> None:
        self.first_name = rules.clean_text("first_name", profile.first_name) or ""
        self.last_name = rules.clean_text("last_name", profile.last_name) or ""
        self.title = rules.clean_text("title", profile.title) or ""
        self.post_nominals = rules.clean_text("post_nominals", profile.post_nominals)
        self.email = rules.clean_email(profile.email) if profile.email is not None else None
        self.mobile = rules.clean_phone(profile.mobile, "mobile")
        if self.email is None and self.mobile is None:
            raise InvalidInput("email", "required")
        self.birth_date = rules.clean_birth_date(profile.birth_date, _now().date())
        self.gender = rules.clean_text("gender", profile.gender) or None
        self.language = rules.clean_text("language", profile.language) or None
        self.store_id = profile.store_id
        if profile.address is not None:
            check_address(profile.address)
        self.address = profile.address


async def _check_catalogue(uow: UnitOfWork, clean: _Clean) -> None:
    """The store and the language must be the tenant's (any language when it lists none)."""
    if clean.store_id is not None and clean.store_id not in {
        s.id for s in await uow.catalogue.all(Store)
    }:
        raise InvalidInput("store_id", UNKNOWN)
    languages = {lang.code.lower() for lang in await uow.catalogue.all(Language)}
    if clean.language is not None and languages and clean.language.lower() not in languages:
        raise InvalidInput("language", UNKNOWN)


async def _check_unique(
    uow: UnitOfWork, clean: _Clean, customer_id: int | None = None, *, email: bool = True
) -> None:
    """The email (unless ``email`` is false: a new customer's insert finds a taken one by the
    unique index) and the phone number are no other customer's."""
    if email and clean.email is not None:
        other = await uow.customers.by_email_key(normalise_email(clean.email))
        if other is not None and other.id != customer_id:
            raise AlreadyExists("Customer", clean.email)
    if clean.mobile is not None:
        found = await Profiles(uow.session).by_phone(devices.phone_variants(clean.mobile))
        if any(c.id != customer_id for c in found):
            raise InvalidInput("mobile", TAKEN)


# --- consents -----------------------------------------------------------------------------------


async def consent_states(uow: UnitOfWork, customer_id: int) -> tuple[ConsentStateView, ...]:
    return _consent_states(
        await uow.customers.consents(customer_id),
        await uow.customers.consent_history(customer_id),
        await uow.catalogue.statements(),
    )


def _consent_states(
    consents: Iterable[Any], changes: Iterable[Any], statements: Iterable[Any]
) -> tuple[ConsentStateView, ...]:
    """Each statement's state from the customer's agreements and consent history (ORM objects
    or ``store/lookups.py`` rows, which have the same names)."""
    agreed = {c.statement_id: c.agreed_at for c in consents}
    last: dict[int, Any] = {}
    for change in changes:
        last[change.statement_id] = change
    out: list[ConsentStateView] = []
    for statement in statements:
        if statement.id in agreed:
            out.append(ConsentStateView(statement.id, statement.code, AGREED, agreed[statement.id]))
        elif statement.id in last:
            change = last[statement.id]
            out.append(
                ConsentStateView(statement.id, statement.code, WITHDRAWN, change.occurred_at)
            )
        else:
            out.append(ConsentStateView(statement.id, statement.code, UNSET, None))
    return tuple(out)


async def _check_consents(
    uow: UnitOfWork, choices: Sequence[ConsentChoice]
) -> dict[int, Statement]:
    """The tenant's statements by id, when every choice names one of them."""
    statements = {s.id: s for s in await uow.catalogue.statements()}
    for choice in choices:
        if choice.statement_id not in statements:
            raise InvalidInput("statements", UNKNOWN)
    return statements


async def _apply_consents(
    uow: UnitOfWork,
    principal: Principal,
    customer_id: int,
    choices: Sequence[ConsentChoice],
    channel: str,
) -> tuple[list[int], list[int]]:
    """Agree or withdraw; a withdrawal of something never agreed is put on record too."""
    if not choices:
        return [], []
    statements = await _check_consents(uow, choices)
    consents = {c.statement_id: c for c in await uow.customers.consents(customer_id)}
    history = {c.statement_id for c in await uow.customers.consent_history(customer_id)}
    wanted: dict[int, bool] = {c.statement_id: c.agreed for c in choices}
    agree: list[Statement] = [statements[i] for i, ok in wanted.items() if ok]
    added = await consent_service.agree(uow, principal, customer_id, agree, channel, set(consents))
    withdrawn: list[int] = []
    for statement_id, ok in wanted.items():
        if ok:
            continue
        statement = statements[statement_id]
        consent = consents.get(statement_id)
        if consent is not None:
            await consent_service.withdraw(
                uow, principal, customer_id, consent, statement.text, channel
            )
            withdrawn.append(statement_id)
        elif statement_id not in history:
            uow.customers.add(
                ConsentChange(
                    id=new_row_key(),
                    customer_id=customer_id,
                    statement_id=statement_id,
                    agreed=False,
                    statement_text=statement.text,
                    actor=principal.actor,
                    channel=channel,
                    occurred_at=_now(),
                )
            )
            withdrawn.append(statement_id)
    return added, withdrawn


# --- reading ------------------------------------------------------------------------------------


async def _profile(uow: UnitOfWork, principal: Principal, row: Customer) -> ProfileView:
    return ProfileView(
        customer=await customer_service.customer_view(uow, principal, row),
        gender=row.gender,
        language=row.language,
        store_id=row.store_id,
        post_nominals=row.post_nominals,
        consents=await consent_states(uow, row.id),
    )


async def get_profile(
    core: Core, principal: Principal, customer_id: int, preferences: Sequence[str] = ()
) -> tuple[ProfileView, str, str]:
    """A profile, the language to answer in and the tenant's default
    (``localised.chosen_and_default_language``), all in one key lookup
    (``lookups.profile_by_id``) in a read-only unit of work (decision 0085)."""
    async with core.read(principal.tenant_id) as uow:
        return await _profile_read(uow, principal, customer_id, preferences)


async def get_token_profile(
    core: Core,
    tenant_id: int,
    token: str,
    user_name: str | None,
    choose: Callable[[DeviceTokenView], tuple[int, Sequence[str]]],
) -> tuple[DeviceTokenView, tuple[ProfileView, str, str]]:
    """``devices.authenticate_token`` and :func:`get_profile` in one read-only unit of work:
    ``choose`` (the dialect's checks of the accepted token, which may raise) names the
    customer and the language preferences."""

    async def then(device: DeviceTokenView, uow: ReadUnitOfWork) -> tuple[ProfileView, str, str]:
        customer_id, preferences = choose(device)
        principal = devices.token_principal(tenant_id, device)
        return await _profile_read(uow, principal, customer_id, preferences)

    return await devices.authenticated_read(core, tenant_id, token, user_name, then)


async def _profile_read(
    uow: ReadUnitOfWork, principal: Principal, customer_id: int, preferences: Sequence[str]
) -> tuple[ProfileView, str, str]:
    customer_service.check_reach(principal, customer_id)
    found = await uow.lookups.profile_by_id(customer_id)
    if found is None:
        raise NotFound("Customer", customer_id)
    row = found.record.customer
    profile = ProfileView(
        customer=customer_service.record_view(principal, found.record),
        gender=row.gender,
        language=row.language,
        store_id=row.store_id,
        post_nominals=row.post_nominals,
        consents=_consent_states(found.consents, found.changes, found.statements),
    )
    chosen = localised.choose_language(found.languages, preferences)
    return profile, chosen, localised.choose_language(found.languages, ())


SORTABLE = ("customer_id", "last_change")


async def list_profiles(
    core: Core,
    principal: Principal,
    filters: CustomerFilter,
    *,
    offset: int,
    count: int,
    order: str = "customer_id",
    descending: bool = False,
) -> tuple[int, tuple[ProfileView, ...]]:
    """A page of customers and how many match. A customer's own principal sees only them."""
    if principal.customer_id is None and not principal.full_access:
        raise PermissionDenied("a customer must be logged in")
    if order not in SORTABLE:
        raise InvalidInput("sort_field", NOT_ALLOWED)
    emails = {normalise_email(e) for e in filters.emails}
    if filters.email is not None:
        wanted = normalise_email(filters.email)
        if emails and wanted not in emails:
            return 0, ()
        emails = {wanted}
    phones = devices.phone_variants(filters.phone) if filters.phone is not None else []
    if filters.phone is not None and not phones:
        return 0, ()
    async with core.uow(principal.tenant_id) as uow:
        total, rows = await Profiles(uow.session).search(
            only_id=principal.customer_id,
            email_keys=sorted(emails),
            phones=phones,
            first_name=filters.first_name,
            last_name=filters.last_name,
            birth_date=filters.birth_date,
            source_id=filters.source_id,
            customer_ids=filters.customer_ids,
            order=order,
            descending=descending,
            offset=offset,
            limit=count,
        )
        return total, tuple([await _profile(uow, principal, row) for row in rows])


# --- writing ------------------------------------------------------------------------------------


async def _check_profile(
    uow: UnitOfWork, clean: _Clean, cmd: NewProfile, *, email: bool = True
) -> dict[int, tuple[Any, str | None]]:
    """The store, language and properties exist, the email (unless not ``email``) and phone
    number are free; returns the resolved properties."""
    await _check_catalogue(uow, clean)
    properties = await records.resolve_properties(uow, cmd.properties) if cmd.properties else {}
    await _check_unique(uow, clean, email=email)
    return properties


async def _check_new_profile(uow: UnitOfWork, clean: _Clean, cmd: NewProfile) -> None:
    """All a registration's transaction will check (:func:`_check_profile`, the source, the
    consents), before its password is hashed."""
    await _check_profile(uow, clean, cmd)
    if cmd.source is not None:
        await records.check_source_link(uow, cmd.source)
    if cmd.consents:
        await _check_consents(uow, cmd.consents)


async def register_customer(
    core: Core,
    principal: Principal,
    cmd: NewProfile,
    *,
    log_in_token: str | None = None,
    channel: str = "app",
    public: bool = False,
) -> int:
    """Create a customer with store, source, consents and property values, all or nothing;
    with ``log_in_token``, the new customer is logged in on that device token.

    With a password, the whole registration is checked first (a read) and only then hashed,
    outside the write transaction; ``public``: in the bounded sign-up lane
    (``hash_password_async``). The unique indexes stay the final guard."""
    clean = _Clean(cmd.profile)
    if log_in_token is not None and not cmd.password:
        raise InvalidInput("password", "required")
    password_hash = None
    if cmd.password:
        password = rules.check_password(cmd.password)
        async with core.uow(principal.tenant_id) as uow:
            await _check_new_profile(uow, clean, cmd)
        password_hash = await hash_password_async(password, public=public)
    async with core.uow(principal.tenant_id, write=True) as uow:
        customer_id = await create_profile_in(
            uow, principal, cmd, password_hash=password_hash, channel=channel
        )
        if log_in_token is not None:
            await devices.bind_customer(uow, log_in_token, customer_id)
            uow.customers.record(customer_id, "logged_in", "customer", method="app-sign-up")
        try:
            await uow.commit()
        except IntegrityError as exc:
            if "email_key" in str(exc.orig):
                raise AlreadyExists("Customer", clean.email) from exc
            raise
        return customer_id


async def sign_up_customer(
    core: Core,
    tenant: TenantView,
    client_ip: str,
    principal: Principal,
    cmd: NewProfile,
    signals: bots.BotSignals,
    *,
    log_in_token: str | None = None,
) -> int:
    """A registration from an app: a public write (a device token costs nothing, so whether
    a customer is logged in on it or not), so ``bots.check_public_write`` first, then
    :func:`register_customer` with the password in the bounded sign-up lane."""
    await bots.check_public_write(core, tenant, client_ip, bots.SIGN_UP, signals)
    return await register_customer(core, principal, cmd, log_in_token=log_in_token, public=True)


async def create_profile_in(
    uow: UnitOfWork,
    principal: Principal,
    cmd: NewProfile,
    *,
    password_hash: str | None = None,
    channel: str = "app",
) -> int:
    """Create a customer with store, source, consents and property values inside the
    caller's transaction (which commits); ``cmd.password`` is not read: pass its hash. A taken
    email is found by its unique index as the customer is written: ``AlreadyExists``.

    Written by ``customers.insert_customer`` (one ``INSERT`` per table); a new customer has
    no consents nor history yet, so agreeing and withdrawing read nothing but the statements."""
    clean = _Clean(cmd.profile)
    properties = await _check_profile(uow, clean, cmd, email=False)
    sources: list[tuple[int, str | None]] = []
    if cmd.source is not None:
        external_id = await records.check_source_link(uow, cmd.source)
        sources.append((cmd.source.source_id, external_id))
    agreed: list[Statement] = []
    withdrawn: list[Statement] = []
    if cmd.consents:
        statements = await _check_consents(uow, cmd.consents)
        wanted = {c.statement_id: c.agreed for c in cmd.consents}
        agreed = [statements[i] for i, ok in wanted.items() if ok]
        withdrawn = [statements[i] for i, ok in wanted.items() if not ok]
    row = customer_service.new_customer_row(
        new_customer_key(),
        _now(),
        email=clean.email,
        title=clean.title,
        first_name=clean.first_name,
        last_name=clean.last_name,
        mobile=clean.mobile,
        birth_date=clean.birth_date,
        gender=clean.gender,
        language=clean.language,
        store_id=clean.store_id,
        post_nominals=clean.post_nominals,
        password_hash=password_hash,
    )
    created = {
        "channel": channel,
        "store": clean.store_id,
        "source": cmd.source.source_id if cmd.source else None,
        "statements": [s.id for s in agreed],
        "withdrawn": [s.id for s in withdrawn],
    }
    written = await customer_service.insert_customer(
        uow,
        principal.actor,
        row,
        customer_service.NewCustomerParts(
            addresses=(clean.address,) if clean.address is not None else (),
            attributes={key: value for key, (_attr, value) in properties.items()},
            agreed=agreed,
            withdrawn=withdrawn,
            consent_channel=channel,
            sources=sources,
            timeline=(("created", created),),
        ),
        conflicts={"email_key": AlreadyExists("Customer", clean.email)},
    )
    return written.id


def _address_values(address: NewAddress) -> dict[str, Any]:
    row = new_address_row(0, address, first=True)
    return {name: getattr(row, name) for name in ADDRESS_PARTS}


async def _replace_main_address(
    uow: UnitOfWork, principal: Principal, customer_id: int, address: NewAddress | None
) -> bool:
    addresses = list(await uow.customers.addresses(customer_id))
    main = next((a for a in addresses if a.is_billing), None)
    if address is None:
        if main is None:
            return False
        if main.is_delivery:
            main.is_billing = False  # it stays, as the delivery address
        else:
            await uow.customers.delete(main)
        uow.customers.record(customer_id, "address_removed", principal.actor, address=main.id)
        return True
    if main is None:
        row = new_address_row(customer_id, address, first=not addresses)
        row.is_billing = True
        uow.customers.add(row)
        await unset_other_flags(uow, customer_id, row)
        uow.customers.record(customer_id, "address_added", principal.actor, address=row.id)
        return True
    changed = False
    for name, value in _address_values(address).items():
        if getattr(main, name) != value:
            setattr(main, name, value)
            changed = True
    if changed:
        uow.customers.record(customer_id, "address_changed", principal.actor, address=main.id)
    return changed


async def replace_profile(
    core: Core,
    principal: Principal,
    customer_id: int,
    cmd: NewProfile,
    *,
    channel: str = "app",
    device_token: str | None = None,
) -> None:
    """Put a whole profile in place: personal data not given is cleared, except the store
    (kept when not given). A password, consents and property values change only when given.

    A new password from the customer needs their current one (``cmd.current_password``); it
    ends every other credential of the customer (``credentials.write_password``), all but the
    caller's own ``device_token``."""
    clean = _Clean(cmd.profile)
    password_hash = current = None
    if cmd.password:
        password = rules.check_password(cmd.password)
        customer_service.check_reach(principal, customer_id)
        if not principal.full_access:
            current = await credentials.check_current_password(
                core, principal.tenant_id, customer_id, cmd.current_password
            )
        password_hash = await hash_password_async(password)
    async with core.uow(principal.tenant_id, write=True) as uow:
        row = await customer_service.reachable_customer(
            uow, principal, customer_id, for_update=True
        )
        await _check_catalogue(uow, clean)
        properties = await records.resolve_properties(uow, cmd.properties)
        await _check_unique(uow, clean, customer_id)
        changes: dict[str, Any] = {}
        values: dict[str, Any] = {
            "first_name": clean.first_name,
            "last_name": clean.last_name,
            "title": clean.title,
            "post_nominals": clean.post_nominals,
            "email": clean.email,
            "mobile": clean.mobile,
            "birth_date": clean.birth_date,
            "gender": clean.gender,
            "language": clean.language,
        }
        if clean.store_id is not None:
            values["store_id"] = clean.store_id
        for name, value in values.items():
            old = getattr(row, name)
            if old != value:
                changes[name] = [_jsonable(old), _jsonable(value)]
                setattr(row, name, value)
        row.email_key = normalise_email(row.email) if row.email is not None else None
        if password_hash is not None:
            await credentials.write_password(
                uow,
                row,
                password_hash,
                kind="password_changed",
                actor=principal.actor,
                current=current,
                keep_device_token=devices.token_hash(device_token) if device_token else None,
            )
        if await _replace_main_address(uow, principal, customer_id, clean.address):
            changes["address"] = "changed"
        changes.update(await attribute_service.set_values(uow, customer_id, properties))
        agreed, withdrawn = await _apply_consents(
            uow, principal, customer_id, cmd.consents, channel
        )
        if agreed or withdrawn:
            uow.customers.record(
                customer_id,
                "consent_changed",
                principal.actor,
                agreed=agreed,
                withdrawn=withdrawn,
                channel=channel,
            )
        if changes:
            row.updated_at = _now()
            uow.customers.record(
                customer_id,
                "changed",
                principal.actor,
                changes=changes,
            )
        try:
            await uow.commit()
        except IntegrityError as exc:
            if "email_key" in str(exc.orig):
                raise AlreadyExists("Customer", clean.email) from exc
            raise
    if password_hash is not None:
        await credentials.end_sessions_elsewhere(core, principal.tenant_id, customer_id)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- what an app checks before it registers someone -------------------------------------------


async def can_register(core: Core, principal: Principal, kind: str, value: str) -> bool:
    """Whether nobody has this email address (``email``) or phone number (``phone``) yet."""
    async with core.uow(principal.tenant_id) as uow:
        if kind == "email":
            return await uow.customers.by_email_key(normalise_email(value)) is None
        if kind == "phone":
            variants = devices.phone_variants(value)
            if not variants:
                raise InvalidInput("value", BAD_FORMAT)
            return not await Profiles(uow.session).by_phone(variants)
    raise InvalidInput("type", NOT_ALLOWED)

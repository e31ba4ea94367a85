"""Catalogue reads in the caller's language: stores, interests, customer properties, customer
sources, statements, rewards, languages.

The caller passes its language preferences, best first (a dialect reads them from
``Accept-Language``, then from the app's own setting). The first one the tenant offers wins,
where ``en-gb`` also matches ``en``; without a match, the tenant's default language. An item that
has no text in the chosen language shows its own text (the one in its catalogue columns, written
in the tenant's default language).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boxoffice.domain.errors import NotFound
from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    CustomerPropertyView,
    CustomerSourceView,
    InterestView,
    LanguageView,
    RewardView,
    StatementTextView,
    StoreView,
)
from boxoffice.services import customers
from boxoffice.services.core import Core
from boxoffice.store.models import (
    CustomerProperty,
    CustomerSource,
    Interest,
    Language,
    Reward,
    Store,
)
from boxoffice.store.repositories import Translations
from boxoffice.store.uow import UnitOfWork

STORE, INTEREST, PROPERTY, SOURCE, REWARD, STATEMENT = (
    "store",
    "interest",
    "customer_property",
    "customer_source",
    "reward",
    "statement",
)


def _candidates(preferences: Sequence[str]) -> list[str]:
    """``["en-gb", "cs"]`` -> ``["en-gb", "en", "cs"]``: each tag, then its primary language."""
    out: list[str] = []
    for tag in preferences:
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate not in out:
                out.append(candidate)
    return out


async def _language(uow: UnitOfWork, preferences: Sequence[str]) -> str:
    """The tenant language to answer in ("" when the tenant lists no languages)."""
    return choose_language(await uow.catalogue.all(Language), preferences)


def choose_language(languages: Sequence[Any], preferences: Sequence[str]) -> str:
    """The first preferred language the tenant offers (``languages``: rows or objects with
    ``code`` and ``is_default``), else its default, else its first ("" when none)."""
    codes: dict[str, str] = {lang.code.lower(): lang.code.lower() for lang in languages}
    for candidate in _candidates(preferences):
        if candidate in codes:
            return codes[candidate]
    default: str | None = next((lang.code.lower() for lang in languages if lang.is_default), None)
    if default is None and languages:
        default = languages[0].code.lower()
    return default or ""


class _Texts:
    """Texts of one kind of item in one language: ``text(item_id, field, fallback)``."""

    def __init__(self, rows: dict[tuple[int, str], str]) -> None:
        self.rows = rows

    def text(self, item_id: int, field: str, fallback: str) -> str:
        return self.rows.get((item_id, field), fallback)


async def _texts(uow: UnitOfWork, kind: str, language: str) -> _Texts:
    if not language:
        return _Texts({})
    rows = await Translations(uow.session).of_kind(kind)
    return _Texts({(t.item_id, t.field): t.text for t in rows if t.language == language})


def _data_text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _store(row: Store, texts: _Texts) -> StoreView:
    data = dict(row.data)
    return StoreView(
        row.id,
        row.code,
        texts.text(row.id, "name", row.name),
        texts.text(row.id, "short_description", _data_text(data, "short_description")),
        texts.text(row.id, "description", _data_text(data, "description")),
        data,
    )


def _find(rows: Sequence[Any], item_id: int, kind: str) -> Any:
    for row in rows:
        if row.id == item_id:
            return row
    raise NotFound(kind, item_id)


async def list_languages(core: Core, principal: Principal) -> tuple[LanguageView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        rows = await uow.catalogue.all(Language)
    return tuple(LanguageView(r.code, r.name, r.is_default) for r in rows)


async def chosen_language(core: Core, principal: Principal, preferences: Sequence[str]) -> str:
    async with core.uow(principal.tenant_id) as uow:
        return await _language(uow, preferences)


async def chosen_and_default_language(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[str, str]:
    """The language to answer in and the tenant's default, from one read of the languages
    (a key lookup in a read-only unit of work: decision 0085)."""
    async with core.read(principal.tenant_id) as uow:
        languages = await uow.lookups.languages()
    return choose_language(languages, preferences), choose_language(languages, ())


async def list_stores(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[StoreView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        texts = await _texts(uow, STORE, await _language(uow, preferences))
        return tuple(_store(row, texts) for row in await uow.catalogue.all(Store))


async def get_store(
    core: Core, principal: Principal, store_id: int, preferences: Sequence[str]
) -> StoreView:
    for store in await list_stores(core, principal, preferences):
        if store.id == store_id:
            return store
    raise NotFound("Store", store_id)


async def list_interests(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[InterestView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        texts = await _texts(uow, INTEREST, await _language(uow, preferences))
        return tuple(
            InterestView(row.id, texts.text(row.id, "name", row.name), row.tag_id)
            for row in await uow.catalogue.all(Interest)
        )


async def get_interest(
    core: Core, principal: Principal, interest_id: int, preferences: Sequence[str]
) -> InterestView:
    found: InterestView = _find(
        await list_interests(core, principal, preferences), interest_id, "Interest"
    )
    return found


def property_view(
    row: CustomerProperty, attribute_type: str, texts: _Texts
) -> CustomerPropertyView:
    return CustomerPropertyView(
        row.id,
        row.code,
        texts.text(row.id, "name", row.name),
        texts.text(row.id, "description", ""),
        attribute_type,
    )


async def read_properties(uow: UnitOfWork, language: str) -> tuple[CustomerPropertyView, ...]:
    texts = await _texts(uow, PROPERTY, language)
    types = {a.id: a.type for a in await uow.catalogue.attributes()}
    return tuple(
        property_view(row, types.get(row.attribute_id, row.type), texts)
        for row in await uow.catalogue.all(CustomerProperty)
    )


async def read_language(uow: UnitOfWork, preferences: Sequence[str]) -> str:
    return await _language(uow, preferences)


async def list_customer_properties(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[CustomerPropertyView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        return await read_properties(uow, await _language(uow, preferences))


async def get_customer_property(
    core: Core, principal: Principal, code: str, preferences: Sequence[str]
) -> CustomerPropertyView:
    for prop in await list_customer_properties(core, principal, preferences):
        if prop.code == code:
            return prop
    raise NotFound("CustomerProperty", code)


async def list_customer_sources(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[CustomerSourceView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        texts = await _texts(uow, SOURCE, await _language(uow, preferences))
        return tuple(
            CustomerSourceView(row.id, row.code, texts.text(row.id, "name", row.name))
            for row in await uow.catalogue.all(CustomerSource)
        )


async def get_customer_source(
    core: Core, principal: Principal, source_id: int, preferences: Sequence[str]
) -> CustomerSourceView:
    found: CustomerSourceView = _find(
        await list_customer_sources(core, principal, preferences), source_id, "CustomerSource"
    )
    return found


async def list_statements(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[StatementTextView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        texts = await _texts(uow, STATEMENT, await _language(uow, preferences))
        return tuple(
            StatementTextView(
                row.id,
                row.code,
                texts.text(row.id, "text", row.text),
                texts.text(row.id, "description", row.description),
            )
            for row in await uow.catalogue.statements()
        )


async def get_statement(
    core: Core, principal: Principal, statement_id: int, preferences: Sequence[str]
) -> StatementTextView:
    found: StatementTextView = _find(
        await list_statements(core, principal, preferences), statement_id, "Statement"
    )
    return found


def _reward_stores(data: dict[str, Any], stores: Sequence[StoreView]) -> tuple[StoreView, ...]:
    """``data.stores``: store codes or names; none listed means every store."""
    wanted = data.get("stores")
    if not isinstance(wanted, list):
        return ()
    names = {str(w) for w in wanted}
    return tuple(s for s in stores if s.code in names or s.name in names)


async def list_rewards(
    core: Core, principal: Principal, preferences: Sequence[str]
) -> tuple[RewardView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        language = await _language(uow, preferences)
        texts = await _texts(uow, REWARD, language)
        store_texts = await _texts(uow, STORE, language)
        stores = tuple(_store(row, store_texts) for row in await uow.catalogue.all(Store))
        return tuple(
            RewardView(
                row.id,
                row.code,
                texts.text(row.id, "name", row.name),
                texts.text(row.id, "description", row.description),
                dict(row.data),
                _reward_stores(dict(row.data), stores),
            )
            for row in await uow.catalogue.all(Reward)
        )


async def get_reward(
    core: Core, principal: Principal, reward_id: int, preferences: Sequence[str]
) -> RewardView:
    found: RewardView = _find(await list_rewards(core, principal, preferences), reward_id, "Reward")
    return found


async def list_customer_rewards(
    core: Core, principal: Principal, customer_id: int, preferences: Sequence[str]
) -> tuple[RewardView, ...]:
    """The rewards a customer can use: every reward (there is no points balance to limit them)."""
    async with core.uow(principal.tenant_id) as uow:
        await customers.reachable_customer(uow, principal, customer_id)
    return await list_rewards(core, principal, preferences)

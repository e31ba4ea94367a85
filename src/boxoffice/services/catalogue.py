"""A tenant's catalogue: loaded from and dumped to YAML by operators, read by every dialect.

``load_catalogue`` adds and updates by natural key (names, codes); it never deletes, so that
re-loading a file is idempotent and never drops customer data attached to an item.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from boxoffice.domain.errors import InvalidInput
from boxoffice.domain.principal import Principal
from boxoffice.domain.rules import attribute_lookup_key
from boxoffice.domain.views import (
    AttributeDefinitionView,
    CatalogueView,
    CountryView,
    MembershipView,
    StatementView,
    TagGroupView,
    TagView,
)
from boxoffice.security.captcha import CaptchaConfig
from boxoffice.services.catalogue_sales import (
    SalesDoc,
    dump_sales,
    load_sales,
    minor_units,
    time_zone,
)
from boxoffice.services.catalogue_sales import (
    plain_money as _plain_money,
)
from boxoffice.services.core import Core
from boxoffice.services.tenants import forget_tenant, get_tenant, normalise_origin
from boxoffice.store.models import (
    AttributeDefinition,
    Brand,
    CatalogueTranslation,
    ChannelType,
    Country,
    CustomerProperty,
    CustomerSource,
    Interest,
    Language,
    Membership,
    Reward,
    Statement,
    Store,
    Tag,
    TagGroup,
    Tenant,
    TenantOrigin,
)
from boxoffice.store.repositories import Translations
from boxoffice.store.uow import UnitOfWork

AttributeType = Literal["text", "date", "number", "boolean"]


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Shown by ``dump``; ids are the tenant's own, so ``load`` matches by name or code instead.
    id: int | None = Field(default=None, ge=1)


#: Texts of an item in other languages: ``{language: {field: text}}`` (see TRANSLATABLE).
TextsByLanguage = dict[str, dict[str, str]]
#: The catalogue sections whose items have texts in several languages, and those texts.
TRANSLATABLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "statements": ("statement", ("text", "description")),
    "stores": ("store", ("name", "short_description", "description")),
    "interests": ("interest", ("name",)),
    "customer_properties": ("customer_property", ("name", "description")),
    "rewards": ("reward", ("name", "description")),
    "customer_sources": ("customer_source", ("name",)),
}


class TagGroupDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    web_visible: bool = True
    tags: list[str] = []


class StatementDoc(_Item):
    text: str = Field(min_length=1)
    description: str = ""
    code: str | None = None
    translations: TextsByLanguage | None = None


class MembershipDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    html_description: str = ""
    image_url: str = ""
    thumbnail_url: str = ""
    #: What it costs (none: not for sale), for ``duration_months``.
    price: Decimal | None = None
    renewal_price: Decimal | None = None
    duration_months: int = Field(default=12, ge=1, le=1200)
    auto_renew_available: bool = True


class AttributeDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    type: AttributeType = "text"
    web_visible: bool = True


class StoreDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    code: str = ""
    data: dict[str, Any] = {}
    translations: TextsByLanguage | None = None


class InterestDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    #: ``Group/Tag``: the tag this interest answers to.
    tag: str | None = None
    translations: TextsByLanguage | None = None


class PropertyDoc(_Item):
    code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    type: AttributeType = "text"
    #: The attribute holding the values; created (not web-visible) when missing.
    attribute: str | None = None
    translations: TextsByLanguage | None = None


class RewardDoc(_Item):
    code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    data: dict[str, Any] = {}
    translations: TextsByLanguage | None = None


class CodeNameDoc(_Item):
    code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    translations: TextsByLanguage | None = None


class BrandDoc(_Item):
    name: str = Field(min_length=1, max_length=200)
    crm_url: str | None = None
    search_by_channels: bool = False


class CountryDoc(_Item):
    iso_code: str = Field(pattern=r"^[A-Za-z]{2}$")
    name: str
    postcode_required: bool = False
    display_priority: int = 0


class LanguageDoc(_Item):
    code: str = Field(min_length=2, max_length=16)
    name: str
    default: bool = False


class CatalogueDoc(_Item, SalesDoc):
    """The whole file: these sections, and what a venue sells (``catalogue_sales.SalesDoc``)."""

    model_config = ConfigDict(extra="forbid")
    display_name: str | None = None
    origins: list[str] = []
    settings: dict[str, Any] = {}
    tag_groups: list[TagGroupDoc] = []
    statements: list[StatementDoc] = []
    memberships: list[MembershipDoc] = []
    attributes: list[AttributeDoc] = []
    stores: list[StoreDoc] = []
    interests: list[InterestDoc] = []
    customer_properties: list[PropertyDoc] = []
    rewards: list[RewardDoc] = []
    customer_sources: list[CodeNameDoc] = []
    brands: list[BrandDoc] = []
    channel_types: list[CodeNameDoc] = []
    countries: list[CountryDoc] = []
    languages: list[LanguageDoc] = []


def parse_catalogue(data: object) -> CatalogueDoc:
    try:
        return CatalogueDoc.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(field or "catalogue", first["msg"]) from exc


def _protect_settings(
    core: Core, current: dict[str, Any], incoming: dict[str, Any]
) -> dict[str, Any]:
    """Secrets in settings (the CAPTCHA secret) are stored encrypted, never in clear."""
    settings = dict(incoming)
    captcha = settings.get("captcha")
    if isinstance(captcha, dict):
        captcha = {k: v for k, v in captcha.items() if k != "secret_set"}
        secret = captcha.pop("secret", None)
        if isinstance(secret, str) and secret:
            blob = core.secret_box.encrypt(secret)
            captcha["secret_encrypted"] = base64.b64encode(blob).decode()
        else:
            old = current.get("captcha")
            if isinstance(old, dict) and "secret_encrypted" in old:
                captcha["secret_encrypted"] = old["secret_encrypted"]
        if "secret_encrypted" not in captcha:
            raise InvalidInput("settings.captcha.secret", "required")
        try:  # refuse a bad configuration now, not at the first sign-up
            CaptchaConfig.from_mapping(
                {**{k: v for k, v in captcha.items() if k != "secret_encrypted"}, "secret": "x"}
            )
        except ValueError as exc:
            raise InvalidInput("settings.captcha", str(exc)) from exc
        settings["captcha"] = captcha
    return settings


def _public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    captcha = out.get("captcha")
    if isinstance(captcha, dict):
        out["captcha"] = {
            **{k: v for k, v in captcha.items() if k != "secret_encrypted"},
            "secret_set": "secret_encrypted" in captcha,
        }
    return out


async def load_catalogue(core: Core, tenant_name: str, data: object) -> None:
    doc = parse_catalogue(data)
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id, write=True) as uow:
        cat = uow.catalogue
        # Loads of one tenant take turns (PostgreSQL: the tenant's row is locked first, FOR NO
        # KEY UPDATE so that inserts referring to the tenant do not wait; SQLite: one writer),
        # so a second load reads the first's rows and keys (``next_id`` is ``max + 1``) rather
        # than picking the same ones.
        row = await uow.session.get(Tenant, tenant.id, with_for_update={"key_share": True})
        assert row is not None
        if doc.display_name is not None:
            row.display_name = doc.display_name
        if doc.settings:
            row.settings = {**row.settings, **_protect_settings(core, row.settings, doc.settings)}
        if doc.time_zone is not None:
            time_zone(doc.time_zone)  # refused when unknown
            row.time_zone = doc.time_zone
        known_origins = set(tenant.origins)
        for origin in doc.origins:
            clean = normalise_origin(origin)
            if clean not in known_origins:
                cat.add(TenantOrigin(origin=clean))
                known_origins.add(clean)

        groups = {g.name: g for g in await cat.tag_groups()}
        tags = {(t.group_id, t.name): t for t in await cat.tags()}
        tag_by_path: dict[str, Tag] = {}
        for gpos, g in enumerate(doc.tag_groups):
            group = await uow.catalogue.upsert(
                TagGroup,
                groups,
                g.name,
                {
                    "name": g.name,
                    "description": g.description,
                    "web_visible": g.web_visible,
                    "position": gpos,
                },
            )
            for tpos, tag_name in enumerate(g.tags):
                tag = await uow.catalogue.upsert(
                    Tag,
                    tags,
                    (group.id, tag_name),
                    {"group_id": group.id, "name": tag_name, "position": tpos},
                )
                tag_by_path[f"{g.name}/{tag_name}"] = tag
        for t in tags.values():
            for gname, group in groups.items():
                if group.id == t.group_id:
                    tag_by_path.setdefault(f"{gname}/{t.name}", t)

        statements = {s.text: s for s in await cat.statements()}
        for pos, s in enumerate(doc.statements):
            await uow.catalogue.upsert(
                Statement,
                statements,
                s.text,
                {"text": s.text, "description": s.description, "code": s.code, "position": pos},
            )
        memberships = {m.name: m for m in await cat.memberships()}
        for m in doc.memberships:
            values = m.model_dump(exclude={"id", "price", "renewal_price"})
            for name in ("price", "renewal_price"):
                amount = getattr(m, name)
                values[f"{name}_minor"] = (
                    None if amount is None else minor_units(amount, f"memberships.{name}")
                )
            await uow.catalogue.upsert(Membership, memberships, m.name, values)
        attributes = {a.lookup_key: a for a in await cat.attributes()}
        for pos, a in enumerate(doc.attributes):
            key = attribute_lookup_key(a.name)
            if not key:
                raise InvalidInput("attributes.name", f"no letters or digits in {a.name!r}")
            await uow.catalogue.upsert(
                AttributeDefinition,
                attributes,
                key,
                {
                    "name": a.name,
                    "lookup_key": key,
                    "type": a.type,
                    "web_visible": a.web_visible,
                    "position": pos,
                },
            )
        stores = {s.name: s for s in await cat.all(Store)}
        for st in doc.stores:
            await uow.catalogue.upsert(
                Store, stores, st.name, st.model_dump(exclude={"id", "translations"})
            )
        interests = {i.name: i for i in await cat.all(Interest)}
        for i in doc.interests:
            tag_id = None
            if i.tag is not None:
                if i.tag not in tag_by_path:
                    raise InvalidInput("interests.tag", f"unknown tag {i.tag!r} (use Group/Tag)")
                tag_id = tag_by_path[i.tag].id
            await uow.catalogue.upsert(
                Interest, interests, i.name, {"name": i.name, "tag_id": tag_id}
            )
        properties = {p.code: p for p in await cat.all(CustomerProperty)}
        for p in doc.customer_properties:
            attr_name = p.attribute or p.name
            key = attribute_lookup_key(attr_name)
            attr = attributes.get(key)
            if attr is None:
                attr = await uow.catalogue.upsert(
                    AttributeDefinition,
                    attributes,
                    key,
                    {
                        "name": attr_name,
                        "lookup_key": key,
                        "type": p.type,
                        "web_visible": False,
                        "position": len(attributes),
                    },
                )
            await uow.catalogue.upsert(
                CustomerProperty,
                properties,
                p.code,
                {"code": p.code, "name": p.name, "type": p.type, "attribute_id": attr.id},
            )
        rewards = {r.code: r for r in await cat.all(Reward)}
        for r in doc.rewards:
            await uow.catalogue.upsert(
                Reward, rewards, r.code, r.model_dump(exclude={"id", "translations"})
            )
        sources = {s.code: s for s in await cat.all(CustomerSource)}
        for cs in doc.customer_sources:
            await uow.catalogue.upsert(
                CustomerSource,
                sources,
                cs.code,
                cs.model_dump(exclude={"id", "translations"}),
            )
        channel_types = {c.code: c for c in await cat.all(ChannelType)}
        for c in doc.channel_types:
            await uow.catalogue.upsert(
                ChannelType,
                channel_types,
                c.code,
                c.model_dump(exclude={"id", "translations"}),
            )
        brands = {b.id: b for b in await cat.all(Brand)}
        brands_by_name = {b.name: b for b in brands.values()}
        for b in doc.brands:
            values = b.model_dump(exclude={"id"})
            brand = brands.get(b.id) if b.id is not None else brands_by_name.get(b.name)
            if brand is None:
                brand = Brand(id=b.id or await cat.next_id(Brand), **values)
                cat.add(brand)
                await uow.flush()
                brands[brand.id] = brand
            else:
                for name, value in values.items():
                    setattr(brand, name, value)
        countries = {c.iso_code: c for c in await cat.all(Country)}
        for co in doc.countries:
            values = co.model_dump(exclude={"id"})
            values["iso_code"] = co.iso_code.upper()
            row_c = countries.get(values["iso_code"])
            if row_c is None:
                cat.add(Country(**values))
            else:
                for name, value in values.items():
                    setattr(row_c, name, value)
        languages = {lang.code: lang for lang in await cat.all(Language)}
        for lang in doc.languages:
            row_l = languages.get(lang.code)
            if row_l is None:
                cat.add(Language(code=lang.code, name=lang.name, is_default=lang.default))
            else:
                row_l.name, row_l.is_default = lang.name, lang.default
        await load_sales(uow, doc, row.time_zone, datetime.now(UTC))
        await _load_translations(
            uow,
            doc,
            {
                "statements": statements,
                "stores": stores,
                "interests": interests,
                "customer_properties": properties,
                "rewards": rewards,
                "customer_sources": sources,
            },
        )
        await uow.commit()
    forget_tenant(core, tenant_name)


async def dump_catalogue(core: Core, tenant_name: str) -> dict[str, Any]:
    tenant = await get_tenant(core, tenant_name)
    async with core.uow(tenant.id) as uow:
        cat = uow.catalogue
        groups = await cat.tag_groups()
        tags = await cat.tags()
        group_names = {g.id: g.name for g in groups}
        tag_paths = {t.id: f"{group_names[t.group_id]}/{t.name}" for t in tags}
        attributes = {a.id: a.name for a in await cat.attributes()}
        out: dict[str, Any] = {
            "display_name": tenant.display_name,
            "origins": list(tenant.origins),
            "settings": _public_settings(tenant.settings),
            "tag_groups": [
                {
                    "id": g.id,
                    "name": g.name,
                    "description": g.description,
                    "web_visible": g.web_visible,
                    "tags": [t.name for t in tags if t.group_id == g.id],
                }
                for g in groups
            ],
            "statements": [
                {"id": s.id, "text": s.text, "description": s.description, "code": s.code}
                for s in await cat.statements()
            ],
            "memberships": [
                {
                    "id": m.id,
                    "name": m.name,
                    "description": m.description,
                    "html_description": m.html_description,
                    "image_url": m.image_url,
                    "thumbnail_url": m.thumbnail_url,
                    "price": _plain_money(m.price_minor),
                    "renewal_price": _plain_money(m.renewal_price_minor),
                    "duration_months": m.duration_months,
                    "auto_renew_available": m.auto_renew_available,
                }
                for m in await cat.memberships()
            ],
            "attributes": [
                {"id": a.id, "name": a.name, "type": a.type, "web_visible": a.web_visible}
                for a in await cat.attributes()
            ],
            "stores": [
                {"id": s.id, "name": s.name, "code": s.code, "data": s.data}
                for s in await cat.all(Store)
            ],
            "interests": [
                {"id": i.id, "name": i.name, "tag": tag_paths.get(i.tag_id) if i.tag_id else None}
                for i in await cat.all(Interest)
            ],
            "customer_properties": [
                {
                    "id": p.id,
                    "code": p.code,
                    "name": p.name,
                    "type": p.type,
                    "attribute": attributes.get(p.attribute_id),
                }
                for p in await cat.all(CustomerProperty)
            ],
            "rewards": [
                {
                    "id": r.id,
                    "code": r.code,
                    "name": r.name,
                    "description": r.description,
                    "data": r.data,
                }
                for r in await cat.all(Reward)
            ],
            "customer_sources": [
                {"id": c.id, "code": c.code, "name": c.name} for c in await cat.all(CustomerSource)
            ],
            "brands": [
                {
                    "id": b.id,
                    "name": b.name,
                    "crm_url": b.crm_url,
                    "search_by_channels": b.search_by_channels,
                }
                for b in await cat.all(Brand)
            ],
            "channel_types": [
                {"id": c.id, "code": c.code, "name": c.name} for c in await cat.all(ChannelType)
            ],
            "countries": [
                {
                    "iso_code": c.iso_code,
                    "name": c.name,
                    "postcode_required": c.postcode_required,
                    "display_priority": c.display_priority,
                }
                for c in await cat.all(Country)
            ],
            "languages": [
                {"code": lang.code, "name": lang.name, "default": lang.is_default}
                for lang in await cat.all(Language)
            ],
        }
        zone = await uow.session.get(Tenant, tenant.id)
        assert zone is not None
        out.update(await dump_sales(uow, zone.time_zone))
        await _dump_translations(uow, out)
        return out


async def _load_translations(
    uow: UnitOfWork, doc: CatalogueDoc, rows: dict[str, dict[Any, Any]]
) -> None:
    """Items that list ``translations`` get exactly those; items that do not keep theirs."""
    translations = Translations(uow.session)
    current = {(t.kind, t.item_id, t.language, t.field): t for t in await translations.all()}
    for section, (kind, fields) in TRANSLATABLE.items():
        for item in getattr(doc, section):
            if item.translations is None:
                continue
            key = item.text if section == "statements" else item.name
            if section in ("customer_properties", "rewards", "customer_sources"):
                key = item.code
            row = rows[section][key]
            wanted: dict[tuple[str, int, str, str], str] = {}
            for language, texts in item.translations.items():
                if not 2 <= len(language) <= 16:
                    raise InvalidInput(f"{section}.translations", f"bad language {language!r}")
                for field, text in texts.items():
                    if field not in fields:
                        raise InvalidInput(
                            f"{section}.translations.{language}",
                            f"unknown field {field!r} (one of {', '.join(fields)})",
                        )
                    wanted[(kind, row.id, language.lower(), field)] = text
            for existing_key, existing in list(current.items()):
                if existing_key[:2] == (kind, row.id) and existing_key not in wanted:
                    await uow.session.delete(existing)
                    del current[existing_key]
            for wanted_key, text in wanted.items():
                found = current.get(wanted_key)
                if found is None:
                    found = CatalogueTranslation(
                        kind=kind,
                        item_id=row.id,
                        language=wanted_key[2],
                        field=wanted_key[3],
                        text=text,
                    )
                    uow.session.add(found)
                    current[wanted_key] = found
                else:
                    found.text = text


async def _dump_translations(uow: UnitOfWork, out: dict[str, Any]) -> None:
    by_item: dict[tuple[str, int], dict[str, dict[str, str]]] = {}
    for t in await Translations(uow.session).all():
        by_item.setdefault((t.kind, t.item_id), {}).setdefault(t.language, {})[t.field] = t.text
    for section, (kind, _fields) in TRANSLATABLE.items():
        for item in out[section]:
            found = by_item.get((kind, item["id"]))
            if found:
                item["translations"] = found


async def read_catalogue(uow: UnitOfWork, principal: Principal) -> CatalogueView:
    """The catalogue as ``principal`` may see it (web mode: web-visible items only)."""
    cat = uow.catalogue
    tags = await cat.tags()
    groups = tuple(
        TagGroupView(
            g.id,
            g.name,
            g.description,
            g.web_visible,
            tuple(TagView(t.id, t.name, g.id) for t in tags if t.group_id == g.id),
        )
        for g in await cat.tag_groups()
        if principal.full_access or g.web_visible
    )
    return CatalogueView(
        tag_groups=groups,
        statements=tuple(
            StatementView(s.id, s.text, s.description) for s in await cat.statements()
        ),
        memberships=tuple(
            MembershipView(
                m.id, m.name, m.description, m.html_description, m.image_url, m.thumbnail_url
            )
            for m in await cat.memberships()
        ),
        attributes=tuple(
            AttributeDefinitionView(a.id, a.name, a.type, a.web_visible)
            for a in await cat.attributes()
            if principal.full_access or a.web_visible
        ),
    )


async def get_catalogue(core: Core, principal: Principal) -> CatalogueView:
    async with core.uow(principal.tenant_id) as uow:
        return await read_catalogue(uow, principal)


async def get_countries(core: Core, principal: Principal) -> tuple[CountryView, ...]:
    async with core.uow(principal.tenant_id) as uow:
        rows = await uow.catalogue.all(Country)
    ordered = sorted(rows, key=lambda c: (-c.display_priority if c.display_priority else 0, c.name))
    return tuple(
        CountryView(c.iso_code, c.name, c.postcode_required, c.display_priority) for c in ordered
    )

"""Catalogue translations: loaded, dumped, re-loaded, and read in the caller's language."""

from __future__ import annotations

from boxoffice.bootstrap import Core
from boxoffice.domain.principal import Principal
from boxoffice.services import catalogue as catalogue_service
from boxoffice.services import localised


async def test_translations_round_trip(core: Core, tenant: tuple[str, int], web: Principal) -> None:
    dumped = await catalogue_service.dump_catalogue(core, tenant[0])
    drama = next(i for i in dumped["interests"] if i["name"] == "Drama")
    assert drama["translations"] == {"cs": {"name": "Činohra"}}
    assert "translations" not in next(i for i in dumped["attributes"])
    await catalogue_service.load_catalogue(core, tenant[0], dumped)  # idempotent
    assert await catalogue_service.dump_catalogue(core, tenant[0]) == dumped

    # Listing translations replaces the item's; leaving them out keeps them.
    await catalogue_service.load_catalogue(
        core,
        tenant[0],
        {
            "interests": [
                {
                    "name": "Drama",
                    "tag": "Interests/Drama",
                    "translations": {"de": {"name": "Schauspiel"}},
                }
            ]
        },
    )
    await catalogue_service.load_catalogue(
        core, tenant[0], {"interests": [{"name": "Drama", "tag": "Interests/Drama"}]}
    )
    names = {i.name for i in await localised.list_interests(core, web, ["cs"])}
    assert names == {"Drama", "Hudba"}  # no Czech text for Drama any more: its own name
    await catalogue_service.load_catalogue(
        core, tenant[0], {"languages": [{"code": "de", "name": "Deutsch"}]}
    )
    names = {i.name for i in await localised.list_interests(core, web, ["de-AT"])}
    assert names == {"Schauspiel", "Music"}


async def test_bad_translations_are_refused(core: Core, tenant: tuple[str, int]) -> None:
    import pytest

    from boxoffice.domain.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        await catalogue_service.load_catalogue(
            core,
            tenant[0],
            {"stores": [{"name": "Main Box Office", "translations": {"cs": {"colour": "x"}}}]},
        )
    assert "colour" in caught.value.reason


async def test_language_choice(core: Core, tenant: tuple[str, int], web: Principal) -> None:
    assert await localised.chosen_language(core, web, []) == "en"
    assert await localised.chosen_language(core, web, ["fr", "cs-cz"]) == "cs"
    assert await localised.chosen_language(core, web, ["*"]) == "en"
    both = localised.chosen_and_default_language
    assert await both(core, web, ["fr", "cs-cz"]) == ("cs", "en")
    assert await both(core, web, []) == ("en", "en")
    stores = {s.name for s in await localised.list_stores(core, web, ["cs"])}
    assert stores == {"Hlavní pokladna", "Internetový obchod"}

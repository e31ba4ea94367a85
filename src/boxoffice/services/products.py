"""Products: funds, stock items, memberships for sale, gift voucher types, offers."""

from __future__ import annotations

from boxoffice.domain.principal import Principal
from boxoffice.domain.views import (
    FundView,
    GiftVoucherTypeView,
    MembershipForSaleView,
    OfferView,
    StockItemView,
)
from boxoffice.services.core import Core


async def list_funds(core: Core, principal: Principal) -> tuple[FundView, ...]:
    raise NotImplementedError


async def list_stock_items(core: Core, principal: Principal) -> tuple[StockItemView, ...]:
    raise NotImplementedError


async def list_memberships_for_sale(
    core: Core, principal: Principal
) -> tuple[MembershipForSaleView, ...]:
    raise NotImplementedError


async def get_membership_for_sale(
    core: Core, principal: Principal, membership_id: int
) -> MembershipForSaleView:
    raise NotImplementedError


async def list_gift_voucher_types(
    core: Core, principal: Principal
) -> tuple[GiftVoucherTypeView, ...]:
    raise NotImplementedError


async def list_offers(core: Core, principal: Principal) -> tuple[OfferView, ...]:
    raise NotImplementedError

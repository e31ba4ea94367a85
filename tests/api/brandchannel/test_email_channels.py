"""Email channels are one channel when they are one mailbox (``rules.normalise_email``): ``ß``
and ``ss`` are two (issue 15, finding 2)."""

from __future__ import annotations

from tests.api.brandchannel.support import Api, channels_of, unique


async def test_sharp_s_and_ss_are_two_email_channels(api: Api) -> None:
    local = unique("dora").lower()
    sharp, double = f"{local}@großbank.example", f"{local}@grossbank.example"
    customer_id = await api.create(
        brand_id=2, search_customer_channel_value=sharp, extra_email=double
    )
    customer = await api.customer(customer_id)
    assert channels_of(customer) == {("email", sharp), ("email", double)}


async def test_one_mailbox_in_two_spellings_is_one_channel(api: Api) -> None:
    local = unique("dora").lower()
    customer_id = await api.create(
        brand_id=2,
        search_customer_channel_value=f"{local.upper()}@GROSSBANK.EXAMPLE",
        extra_email=f"{local}@grossbank.example",
    )
    customer = await api.customer(customer_id)
    assert channels_of(customer) == {("email", f"{local}@grossbank.example")}

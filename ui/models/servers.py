"""The team's servers on Models: one card each, with the server's status (up, or why not), then its models."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.models.choice import ProviderSection
from ui.format import when
from ui.models.listing import NAMED_NEW, codes
from ui.models.table import model_table

INTRO = "Run by your admin for everyone here: their models need no key of your own."


def server_status(section: ProviderSection) -> None:
    """Whether the server answered its last listing, and what that says about its models."""
    listing, label = section.listing, section.spec.label
    if listing is None:
        return
    if section.listing_not_offered:
        st.caption(f"{label} does not list its models: the ones your admin configured are shown.")
    elif section.listing_failed:
        shown = "The models your admin configured for it are shown below." if section.models else ""
        waiting = "" if section.models else "Its models appear here once it answers."
        st.warning(
            f":material/cloud_off: {listing.error} (checked {when(listing.checked_at)}; **Refresh** asks again.) "
            f"{shown}{waiting}"
        )
    elif listing.refreshed_at is not None:
        served = len(listing.models)
        st.caption(
            f":material/check_circle: Up: it listed {served} model{'s' if served != 1 else ''} "
            f"{when(listing.refreshed_at)}."
        )
    if section.new_ids:
        more = len(section.new_ids) - NAMED_NEW
        tail = f" and {more} more (marked *new*)" if more > 0 else ""
        st.caption(f"New on {label} since the previous check: {codes(section.new_ids[:NAMED_NEW])}{tail}")
    if section.not_offered:
        st.caption(
            f"{label} did not list {codes(m.shown_id for m in section.not_offered)} at its last check: they are "
            "kept at the end of the list, but will probably fail in Chat. Your admin can fix the registry."
        )
    if section.dropped:
        st.caption(f"No longer listed by {label}: " + codes(section.dropped))


def server_card(section: ProviderSection) -> None:
    st.subheader(section.spec.label)
    server_status(section)
    if section.models:
        model_table(section)
    elif not section.listing_failed:
        st.info(f"{section.spec.label} has no chat models to offer right now.")


def team_servers(sections: Sequence[ProviderSection]) -> None:
    """The group of the team's servers, after the providers; nothing when the admin registered none."""
    if not sections:
        return
    st.header("Your team's servers")
    st.caption(INTRO)
    for section in sections:
        with st.container(border=True):
            server_card(section)

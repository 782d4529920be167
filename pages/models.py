"""Models: what each saved provider key unlocks, listed live by the provider; pick one and chat with it.

Each provider's models are one `st.dataframe` with single-row selection and one "Chat with …" button under it:
one element however many models a key unlocks (a button per row would be hundreds of widgets), sortable, and the
catalog comes from session state, so a rerun neither decrypts a key nor calls a provider.
"""

import re
from collections.abc import Iterable

import pandas as pd
import streamlit as st

from core.chat.export import DASH
from core.errors import AppError
from core.local.access import check_user_access
from core.models.catalog import NOT_OFFERED_TAG, ModelChoice, ProviderSection, search_models
from core.providers.hub import HubError
from ui.chat_state import open_chat_with
from ui.format import when
from ui.signin import require_user
from ui.state import get_services, user_catalog

SEARCH_ABOVE = 12  # a provider listing more models than this gets a search box
# A model's name comes from the provider; a button label is Markdown, so its syntax characters are escaped.
MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]()<>#|~:$!])")
PRICE_HELP = "USD per 1M {} tokens, from litellm's price list (— where it has none)"
NAMED_NEW = 10  # new models named after a refresh; more are counted
COLUMNS = {
    "Model": st.column_config.TextColumn(help="The model's name and the ID Chat calls it by"),
    "Context": st.column_config.NumberColumn(help="Input context window in tokens (— where unknown)", format="compact"),
    "Input $/1M": st.column_config.NumberColumn(help=PRICE_HELP.format("input"), format="$%g"),
    "Output $/1M": st.column_config.NumberColumn(help=PRICE_HELP.format("output"), format="$%g"),
}

user = require_user()
services = get_services()


def plain(text: str) -> str:
    return MARKDOWN_SYNTAX.sub(r"\\\1", text)


def table_key(provider_id: str) -> str:
    return f"models_table:{provider_id}"


def clear_selection(provider_id: str) -> None:
    """A changed filter or list moves the rows: a kept selection would point at another model."""
    st.session_state[table_key(provider_id)] = {"selection": {"rows": [], "columns": []}}


title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title("Models")
refreshing = refresh.button(
    "Refresh", key="models_refresh", icon=":material/refresh:", help="Ask every provider for its current models"
)
with st.spinner("Asking your providers which models your keys can use…"):
    sections = user_catalog(services, user, refresh=refreshing)
if refreshing:
    for section in sections:
        clear_selection(section.spec.id)

if not any(section.ready for section in sections):
    st.info("No provider key is saved yet. Add one in Profile → Provider Keys and its models appear here.")


def listing_status(section: ProviderSection) -> None:
    listing, label = section.listing, section.spec.label
    if listing is None:
        return
    if section.listing_failed:
        st.warning(
            f"Could not list the models your {label} key can use ({when(listing.checked_at)}): {listing.error} "
            "Showing the default models instead; **Refresh** asks again."
        )
    elif section.listing_not_offered:
        st.caption(f"Your {label} resource does not list its deployments: the ones you added in Profile are shown.")
    elif listing.refreshed_at is not None:
        st.caption(f"Listed by {label} {when(listing.refreshed_at)}")
    if section.new_ids:
        more = len(section.new_ids) - NAMED_NEW
        st.caption(
            "New since the previous refresh: "
            + codes(section.new_ids[:NAMED_NEW])
            + (f" and {more} more (marked *new*)" if more > 0 else "")
        )
    if section.not_offered:
        st.caption(
            f"{label} did not list {codes(m.shown_id for m in section.not_offered)} for your key at the last "
            "refresh: they are kept at the end of the list, but will probably fail in Chat."
        )
    if section.dropped:
        st.caption(f"No longer listed by {label}: " + codes(section.dropped))


def codes(model_ids: Iterable[str]) -> str:
    """Model IDs as inline code (a provider's IDs never hold a backtick: see core.registry.MODEL_ID)."""
    return ", ".join(f"`{model_id}`" for model_id in model_ids)


def source(model: ModelChoice) -> str:
    kind = "new" if model.new else model.source.value
    return kind if model.offered else f"{kind} · {NOT_OFFERED_TAG}"


def rows(models: tuple[ModelChoice, ...]) -> pd.DataFrame:
    """The table's data; unknown numbers stay missing (drawn as "—", see `model_table`), so columns sort as numbers."""
    return pd.DataFrame(
        {
            "Model": [model.name for model in models],
            "Source": [source(model) for model in models],
            "Context": pd.array([model.context_window for model in models], dtype="Int64"),
            "Input $/1M": pd.array([model.input_price for model in models], dtype="Float64"),
            "Output $/1M": pd.array([model.output_price for model in models], dtype="Float64"),
        }
    )


def model_table(section: ProviderSection) -> None:
    spec, models = section.spec, section.models
    if len(models) > SEARCH_ABOVE:
        query = st.text_input(
            f"Search {spec.label} models",
            key=f"models_search:{spec.id}",
            placeholder="Filter by name or ID",
            on_change=clear_selection,
            args=(spec.id,),
        )
        models = search_models(models, query)
        if query:
            st.caption(f"{len(models)} of {len(section.models)} models")
    event = st.dataframe(
        rows(models),
        key=table_key(spec.id),
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        column_config=COLUMNS,
        placeholder=DASH,  # what a missing cell shows (Streamlit's default is the word "None")
    )
    selected = [models[row] for row in event.selection.rows if row < len(models)]
    picked = selected[0] if selected else None
    if st.button(
        f"Chat with {plain(picked.label)}" if picked else "Chat with the selected model",
        key=f"models_chat:{spec.id}",
        icon=":material/chat:",
        type="primary" if picked else "secondary",
        disabled=picked is None,
        help=None if picked else "Select a model's row first",
    ):
        open_chat_with(user, picked.ref)


def hub_check() -> None:
    with st.form("hub_access", border=False):
        repo_id = st.text_input(
            "Check that your token can download a model",
            key="hub_repo_id",
            placeholder="meta-llama/Meta-Llama-3-8B-Instruct",
        )
        checked = st.form_submit_button("Check access", key="hub_check")
    if checked:
        try:
            with st.spinner("Asking Hugging Face…"):
                access = check_user_access(services.credentials, services.settings, user.id, repo_id)
        except HubError as error:
            st.error(str(error))
            if error.page_url:
                st.link_button(
                    f"Open {plain(repo_id.strip())} on Hugging Face",
                    error.page_url,
                    icon=":material/open_in_new:",
                )
        except AppError as error:
            st.error(str(error))
        else:
            gated = " It is gated, and your account has been granted access." if access.gated else ""
            st.success(f"Your token can download [{access.repo_id}]({access.page_url}).{gated}")


for section in sections:
    spec = section.spec
    with st.container(border=True):
        st.subheader(spec.label)
        if section.credential is not None and not section.credential.readable:
            st.warning(f"The saved {spec.label} credential needs re-entry.")
            st.page_link("pages/profile.py", label=f"Re-enter it in Profile → {spec.label}", icon=":material/key:")
        elif section.credential is None:
            st.caption(f"No {spec.label} credential saved.")
            st.page_link("pages/profile.py", label=f"Add one in Profile → {spec.label}", icon=":material/key:")
        elif spec.chat_capable:
            listing_status(section)
            if section.models:
                model_table(section)
            elif spec.deployments:
                st.info(f"No deployments yet: add your deployment names in Profile → {spec.label}.")
            if spec.deployments:
                link = f"Add or remove deployments in Profile → {spec.label}"
                st.page_link("pages/profile.py", label=link, icon=":material/add:")
        if spec.model_hub and section.ready:
            hub_check()
        if spec.note:
            st.caption(spec.note)

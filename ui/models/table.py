"""A provider's models as one `st.dataframe` with single-row selection and one "Chat with …" button under it.

One element however many models a key unlocks (a button per row would be hundreds of widgets), sortable.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.chat.export import DASH
from core.models.catalog import search_models
from core.models.choice import ModelChoice, ProviderSection
from ui.chat.address import open_chat_with
from ui.format import plain  # a model's name comes from the provider; a button label is Markdown

SEARCH_ABOVE = 12  # a provider listing more models than this gets a search box
PRICE_HELP = "USD per 1M {} tokens, from litellm's price list (— where it has none)"
COLUMNS = {
    "Model": st.column_config.TextColumn(help="The model's name and the ID Chat calls it by"),
    "Context": st.column_config.NumberColumn(help="Input context window in tokens (— where unknown)", format="compact"),
    "Input $/1M": st.column_config.NumberColumn(help=PRICE_HELP.format("input"), format="$%g"),
    "Output $/1M": st.column_config.NumberColumn(help=PRICE_HELP.format("output"), format="$%g"),
}


def table_key(provider_id: str) -> str:
    return f"models_table:{provider_id}"


def clear_selection(provider_id: str) -> None:
    """A changed filter or list moves the rows: a kept selection would point at another model."""
    st.session_state[table_key(provider_id)] = {"selection": {"rows": [], "columns": []}}


def source(model: ModelChoice) -> str:
    kind = "new" if model.new else model.source.value
    return kind if model.offered else f"{kind} · {model.not_offered_tag}"


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


def _searched(section: ProviderSection) -> tuple[ModelChoice, ...]:
    """The section's models, filtered by its search box when it has one (a long list)."""
    spec, models = section.spec, section.models
    if len(models) <= SEARCH_ABOVE:
        return models
    query = st.text_input(
        f"Search {spec.label} models",
        key=f"models_search:{spec.id}",
        placeholder="Filter by name or ID",
        on_change=clear_selection,
        args=(spec.id,),
    )
    found = search_models(models, query)
    if query:
        st.caption(f"{len(found)} of {len(models)} models")
    return found


def model_table(section: ProviderSection) -> None:
    spec = section.spec
    models = _searched(section)
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
    if (
        st.button(
            f"Chat with {plain(picked.label)}" if picked else "Chat with the selected model",
            key=f"models_chat:{spec.id}",
            icon=":material/chat:",
            type="primary" if picked else "secondary",
            disabled=picked is None,
            help=None if picked else "Select a model's row first",
        )
        and picked is not None
    ):
        open_chat_with(picked.ref)

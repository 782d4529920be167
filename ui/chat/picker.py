"""Chat's model picker: the user's models (by provider, those not offered to the key last), or an ID as typed."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from core.errors import AppError
from core.models.catalog import available_models, find_model
from core.models.choice import ModelChoice, ProviderSection
from core.models.target import resolve_model
from core.providers.registry import PROVIDERS
from ui.chat.session import ChatSession

KEY = "chat_model"


class Picker:
    """The models one run offers, and the choice the user made (remembered in their `ChatSession`).

    Made before anything is drawn: it takes the model another page asked for, and drops a choice that is gone
    from the catalog, so that `chosen()` can start a reply first.
    """

    def __init__(self, session: ChatSession, sections: Sequence[ProviderSection]) -> None:
        self._session = session
        self._providers = tuple(section.spec for section in sections)  # the providers and team servers in effect
        self.models = available_models(list(sections))
        self.choices: dict[str, ModelChoice] = {model.ref: model for model in self.models}
        self.labels = {ref: model.option_label for ref, model in self.choices.items()}
        if requested := session.take_requested_model():
            self._remember(requested)
        typed = session.typed_model
        self.options = [*self.choices, *([typed] if typed and typed not in self.choices else [])]
        if st.session_state.get(KEY) not in (None, *self.options):  # a model gone from the catalog
            del st.session_state[KEY]

    def label(self, ref: str) -> str:
        return self.labels.get(ref, ref)

    def as_choice(self, text: str) -> str:
        """A picked, typed or requested model as the picker's value: the catalog's ref for it, else the text."""
        found = find_model(self.models, text)
        return found.ref if found else (text or "").strip()

    def _remember(self, value: str) -> str:
        value = self.as_choice(value)
        self._session.model = value
        if value and value not in self.choices:
            self._session.typed_model = value
        return value

    def _on_pick(self) -> None:
        """The picker's callback: a typed ID that names one of the user's models selects that model."""
        st.session_state[KEY] = self._remember(st.session_state.get(KEY) or "")

    def _remembered(self) -> str | None:
        """The choice when the picker is drawn afresh: the one remembered for the user (found again if the catalog
        now calls it by another ID), else the first."""
        model = self.as_choice(self._session.model or "")
        if model in self.options:
            return model
        return self.options[0] if self.options else None

    def chosen(self) -> str:
        """The model the picker shows, read before it is drawn (so that a reply can start first)."""
        return st.session_state.get(KEY) or self._remembered() or ""

    def warn_if_not_offered(self, ref: str) -> None:
        if (model := self.choices.get(ref)) is not None and not model.offered:
            st.caption(f":material/warning: {model.not_offered_note()}")

    def draw(self) -> None:
        remembered = self._remembered()
        choice = st.selectbox(
            "Model",
            self.options,
            index=self.options.index(remembered) if remembered is not None else None,
            format_func=self.label,
            key=KEY,
            on_change=self._on_pick,
            accept_new_options=True,
            filter_mode="contains",
            placeholder="Type a model's name or ID, e.g. gpt-4o-mini or azure/<deployment-name>",
            help="Type to find a model by its name or ID. An ID that is none of these is used as typed: "
            "provider/model, e.g. openai/gpt-4o or azure/my-gpt4o-deployment.",
        )
        if choice in self.choices:
            self.warn_if_not_offered(choice)
        elif choice:
            try:
                target = resolve_model(choice, self._providers or PROVIDERS)
            except AppError as error:
                st.error(str(error))
            else:
                st.caption(f"`{target.ref}` is not among your models: it is sent to {target.spec.label} as typed.")
        if not self.models:
            st.info("No models yet: add a provider key in Profile → Provider Keys, or type a model ID above.")

"""Each user's defaults for a new chat (system prompt, temperature, max output tokens), set on Profile; a chat
starts with them and its own settings then override them. Validated as a chat's settings are (`clean_settings`)."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import col, select

from core.chat.conversations import DEFAULT_SETTINGS, GenerationSettings, clean_settings
from core.db.engine import insert_or_update, session
from core.db.tables import ChatDefaults, utcnow


class ChatDefaultsStore:
    """Every method takes the signed-in user's id and reads or writes only that user's defaults."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, user_id: int) -> GenerationSettings:
        """The user's defaults; the app's own (no system prompt, provider's temperature, model's limit) if unset."""
        with session(self._engine) as db:
            row = db.exec(select(ChatDefaults).where(col(ChatDefaults.user_id) == user_id)).first()
        if row is None:
            return DEFAULT_SETTINGS
        return GenerationSettings(row.system_prompt, row.temperature, row.max_tokens)

    def save(
        self, user_id: int, system_prompt: str | None, temperature: float | None, max_tokens: int | None
    ) -> GenerationSettings:
        """Validate (InvalidInput names the field, as for a chat's settings) and keep the user's defaults."""
        settings = clean_settings(system_prompt, temperature, max_tokens)
        values = {
            "system_prompt": settings.system_prompt,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "updated_at": utcnow(),
        }
        with session(self._engine) as db:
            db.exec(
                insert_or_update(self._engine, ChatDefaults)
                .values(user_id=user_id, **values)
                .on_conflict_do_update(index_elements=["user_id"], set_=values)
            )
            db.commit()
        return settings

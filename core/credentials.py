"""The credential store: per-user provider credentials, encrypted at rest, only ever shown masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import delete, select

from core.crypto import KeyRing
from core.db import session
from core.endpoints import validate_endpoint
from core.errors import CredentialUnreadable, InvalidInput, MissingCredential
from core.providers import ProviderSpec, get_provider
from core.schema import Credential, utcnow
from core.validation import clean_api_version, clean_secret, clean_text

MASK_CHARS = 4


def mask(secret: str) -> str:
    """The last four characters only (`…a1b2`): prefixes like `sk-` are the same for everyone."""
    return "…" + secret[-MASK_CHARS:] if len(secret) > MASK_CHARS * 2 else "…"


@dataclass(frozen=True)
class CredentialPublic:
    """What a page may see of a saved credential: never the secret."""

    provider: str
    masked: str
    details: Mapping[str, str]
    saved_at: datetime
    updated_at: datetime
    readable: bool = True


def _context(user_id: int, provider: str) -> bytes:
    """Associated data binding a ciphertext to its owner and provider."""
    return f"credential/v1/user={user_id}/provider={provider}".encode()


def clean_values(spec: ProviderSpec, raw: Mapping[str, str | None], allowed_origins: tuple[str, ...]) -> dict[str, str]:
    """Validate every field of a provider card; InvalidInput names the first field that is wrong."""
    values: dict[str, str] = {}
    for field in spec.fields:
        value = raw.get(field.name)
        if field.is_endpoint:
            values[field.name] = validate_endpoint(
                clean_text(value, field.label, field.name), allowed_origins, field.name
            )
        elif field.secret:
            values[field.name] = clean_secret(value, field.label, field.name)
        elif field.name == "api_version":
            values[field.name] = clean_api_version(value or field.default, field.label, field.name)
        else:
            values[field.name] = clean_text(value or field.default, field.label, field.name)
    unknown = set(raw) - {field.name for field in spec.fields}
    if unknown:
        raise InvalidInput(f"{spec.label} has no field named {sorted(unknown)[0]!r}.")
    return values


class CredentialStore:
    """Every method takes the signed-in user's id and touches only that user's rows."""

    def __init__(self, engine: Engine, key_ring: KeyRing, allowed_origins: tuple[str, ...] = ()) -> None:
        self._engine = engine
        self._key_ring = key_ring
        self._allowed_origins = allowed_origins

    def save(self, user_id: int, provider_id: str, raw: Mapping[str, str | None]) -> CredentialPublic:
        """Validate and store (or replace) a credential in one transaction; a refused value changes nothing."""
        spec = get_provider(provider_id)
        values = clean_values(spec, raw, self._allowed_origins)
        ciphertext = self._key_ring.encrypt(json.dumps(values).encode(), _context(user_id, provider_id))
        try:
            row = self._upsert(user_id, provider_id, ciphertext)
        except IntegrityError:  # another session inserted the same (user, provider) first: update it
            row = self._upsert(user_id, provider_id, ciphertext)
        return self._public(spec, row, values)

    def _upsert(self, user_id: int, provider_id: str, ciphertext: str) -> Credential:
        with session(self._engine) as db:
            row = db.exec(
                select(Credential).where(Credential.user_id == user_id, Credential.provider == provider_id)
            ).first()
            if row is None:
                row = Credential(user_id=user_id, provider=provider_id, ciphertext=ciphertext, key_id="")
            row.ciphertext = ciphertext
            row.key_id = self._key_ring.current_kid
            row.updated_at = utcnow()
            db.add(row)
            db.commit()
            return row

    def delete(self, user_id: int, provider_id: str) -> bool:
        """Remove the row itself; True when there was one."""
        with session(self._engine) as db:
            result = db.exec(
                delete(Credential).where(Credential.user_id == user_id, Credential.provider == provider_id)
            )
            db.commit()
            return bool(result.rowcount)

    def list(self, user_id: int) -> dict[str, CredentialPublic]:
        """Public views of the user's credentials by provider id; unreadable ones are marked, not hidden."""
        with session(self._engine) as db:
            rows = db.exec(select(Credential).where(Credential.user_id == user_id)).all()
        views = {}
        for row in rows:
            spec = get_provider(row.provider)
            try:
                values = self._decrypt(row)
            except CredentialUnreadable:
                values = None
            views[row.provider] = self._public(spec, row, values)
        return views

    def secrets(self, user_id: int, provider_id: str) -> dict[str, str]:
        """The plaintext field values, for the one call that uses them."""
        spec = get_provider(provider_id)
        with session(self._engine) as db:
            row = db.exec(
                select(Credential).where(Credential.user_id == user_id, Credential.provider == provider_id)
            ).first()
        if row is None:
            raise MissingCredential(spec.label)
        try:
            return self._decrypt(row)
        except CredentialUnreadable:
            raise CredentialUnreadable(spec.label) from None

    def _decrypt(self, row: Credential) -> dict[str, str]:
        plaintext = self._key_ring.decrypt(row.ciphertext, _context(row.user_id, row.provider))
        try:
            values = json.loads(plaintext)
        except ValueError:
            raise CredentialUnreadable() from None
        if not isinstance(values, dict):
            raise CredentialUnreadable()
        return values

    @staticmethod
    def _public(spec: ProviderSpec, row: Credential, values: Mapping[str, str] | None) -> CredentialPublic:
        if values is None:
            return CredentialPublic(spec.id, "", {}, row.created_at, row.updated_at, readable=False)
        details = {f.label: values.get(f.name, "") for f in spec.fields if not f.secret}
        return CredentialPublic(
            spec.id, mask(values.get(spec.mask_field.name, "")), details, row.created_at, row.updated_at
        )

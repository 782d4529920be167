"""The credential store: per-user provider credentials, encrypted at rest, only ever shown masked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Row, case
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from core.db.engine import insert_or_update, once_more_on_conflict, session
from core.db.tables import Credential, CredentialStatus, User, utcnow
from core.errors import AccountInactive, CredentialUnreadable, InvalidInput, MissingCredential, ProviderErrorKind
from core.providers.endpoints import validate_endpoint
from core.providers.fields import clean_api_version, clean_secret, clean_text
from core.providers.registry import ProviderSpec, get_provider
from core.security.crypto import KeyRing

MASK_CHARS = 4
VALID = "valid"  # core.health's KeyTestResult takes its values from these (it imports this module)
# The verdict a chat leaves when the provider refuses the key (an auth error), until a chat works again.
REJECTED_AT_CHAT = "rejected_at_chat"
WORKED_AGAIN = "A chat worked with this key again."


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
    status: KeyStatus | None = None


@dataclass(frozen=True)
class KeyStatus:
    """What the app last learned about a key: its verdict (a key test, or a chat the provider refused it for) and
    its last use in a chat, with the error that chat got, if it failed."""

    tested_at: datetime | None = None
    test_result: str | None = None
    test_detail: str | None = None
    used_at: datetime | None = None
    error_at: datetime | None = None
    error: str | None = None

    @property
    def rejected_at_chat(self) -> bool:
        """The provider refused the key for a chat since its last test, and no chat has worked since."""
        return self.test_result == REJECTED_AT_CHAT


def credential_context(user_id: int, provider: str) -> bytes:
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
        ciphertext = self._key_ring.encrypt(json.dumps(values).encode(), credential_context(user_id, provider_id))
        row = once_more_on_conflict(lambda: self._upsert(user_id, provider_id, ciphertext))
        return self._public(spec, row, values)

    def _upsert(self, user_id: int, provider_id: str, ciphertext: str) -> Credential:
        with session(self._engine) as db:
            row = self._row(db, user_id, provider_id)
            if row is None:
                row = Credential(user_id=user_id, provider=provider_id, ciphertext=ciphertext, key_id="")
            else:  # what was learned about the old key says nothing about the new one
                db.exec(delete(CredentialStatus).where(col(CredentialStatus.credential_id) == row.id))
            row.ciphertext = ciphertext
            row.key_id = self._key_ring.current_kid
            row.updated_at = utcnow()
            db.add(row)
            db.commit()
            return row

    def record_test(self, user_id: int, provider_id: str, result: str, detail: str) -> None:
        """Remember the outcome of a key test (a result name and a user-safe detail)."""
        self._update_status(
            user_id, provider_id, {"tested_at": utcnow(), "test_result": result, "test_detail": detail[:500]}
        )

    def record_use(self, user_id: int, provider_id: str, error: str | None = None, *, kind: str | None = None) -> None:
        """Remember that a chat used the key, and the user-safe error it got, if any (`kind`: a ProviderErrorKind).

        The provider refusing the key (`rejected_key`) becomes the key's verdict, "rejected at chat"; the next chat
        that works clears the error and turns that verdict back to valid.
        """
        now = utcnow()
        if error:
            changes: dict[str, object] = {"used_at": now, "error_at": now, "error": error[:500]}
            if kind == ProviderErrorKind.REJECTED_KEY:
                changes |= {"tested_at": now, "test_result": REJECTED_AT_CHAT, "test_detail": error[:500]}
            self._update_status(user_id, provider_id, changes)
            return
        refused = col(CredentialStatus.test_result) == REJECTED_AT_CHAT
        self._update_status(
            user_id,
            provider_id,
            {"used_at": now, "error_at": None, "error": None},
            updates={  # only a verdict a chat left is taken back by a chat
                "tested_at": case((refused, now), else_=col(CredentialStatus.tested_at)),
                "test_result": case((refused, VALID), else_=col(CredentialStatus.test_result)),
                "test_detail": case((refused, WORKED_AGAIN), else_=col(CredentialStatus.test_detail)),
            },
        )

    def _update_status(
        self, user_id: int, provider_id: str, changes: Mapping[str, object], updates: Mapping[str, object] | None = None
    ) -> None:
        # A credential deleted meanwhile fails the foreign key: once more finds nothing, or its successor.
        once_more_on_conflict(lambda: self._write_status(user_id, provider_id, changes, updates or {}))

    def _write_status(
        self, user_id: int, provider_id: str, changes: Mapping[str, object], updates: Mapping[str, object]
    ) -> None:
        """One atomic insert-or-update, so sessions writing the same key's status at once never collide.

        `changes` are written either way; `updates` are SQL expressions over the row already there, if there is one.
        """
        with session(self._engine) as db:
            row = self._row(db, user_id, provider_id)
            if row is None:
                return
            db.exec(
                insert_or_update(self._engine, CredentialStatus)
                .values(credential_id=row.id, **changes)
                .on_conflict_do_update(index_elements=["credential_id"], set_={**changes, **updates})
            )
            db.commit()

    @staticmethod
    def _row(db: Session, user_id: int, provider_id: str) -> Credential | None:
        return db.exec(
            select(Credential).where(col(Credential.user_id) == user_id, col(Credential.provider) == provider_id)
        ).first()

    def delete(self, user_id: int, provider_id: str) -> bool:
        """Remove the row itself; True when there was one."""
        with session(self._engine) as db:
            result = db.exec(
                delete(Credential).where(col(Credential.user_id) == user_id, col(Credential.provider) == provider_id)
            )
            db.commit()
            return bool(result.rowcount)

    def list(self, user_id: int) -> dict[str, CredentialPublic]:
        """Public views of the user's credentials by provider id; unreadable ones are marked, not hidden."""
        with session(self._engine) as db:
            rows = db.exec(
                select(Credential, CredentialStatus)
                .join(CredentialStatus, col(CredentialStatus.credential_id) == col(Credential.id), isouter=True)
                .where(col(Credential.user_id) == user_id)
            ).all()
        views = {}
        for row, status in rows:
            spec = get_provider(row.provider)
            try:
                values = self._decrypt(row)
            except CredentialUnreadable:
                values = None
            views[row.provider] = self._public(spec, row, values, status)
        return views

    def secrets(self, user_id: int, provider_id: str) -> dict[str, str]:
        """The plaintext field values, for the one call that uses them (read with one plain SELECT: it is on the
        way to every chat reply's first token)."""
        spec = get_provider(provider_id)
        query = (
            sa_select(
                col(Credential.user_id), col(Credential.provider), col(Credential.ciphertext), col(User.disabled_at)
            )
            .join(User, col(User.id) == col(Credential.user_id))
            .where(col(Credential.user_id) == user_id, col(Credential.provider) == provider_id)
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            raise MissingCredential(spec.label)
        if row.disabled_at is not None:
            raise AccountInactive()
        try:
            return self._decrypt(row)
        except CredentialUnreadable:
            raise CredentialUnreadable(spec.label) from None

    def has_any(self, user_id: int) -> bool:
        """Whether the user saved any credential (one plain SELECT, nothing decrypted)."""
        query = sa_select(col(Credential.id)).where(col(Credential.user_id) == user_id).limit(1)
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def account_active(self, user_id: int) -> bool:
        """Whether the user's keys may be used now: the account exists and is not disabled (one plain SELECT)."""
        query = sa_select(col(User.id)).where(col(User.id) == user_id, col(User.disabled_at).is_(None))
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def _decrypt(self, row: Credential | Row) -> dict[str, str]:
        plaintext = self._key_ring.decrypt(row.ciphertext, credential_context(row.user_id, row.provider))
        try:
            values = json.loads(plaintext)
        except ValueError:
            raise CredentialUnreadable() from None
        if not isinstance(values, dict):
            raise CredentialUnreadable()
        return values

    @staticmethod
    def _public(
        spec: ProviderSpec, row: Credential, values: Mapping[str, str] | None, status: CredentialStatus | None = None
    ) -> CredentialPublic:
        health = None
        if status is not None:
            health = KeyStatus(
                tested_at=status.tested_at,
                test_result=status.test_result,
                test_detail=status.test_detail,
                used_at=status.used_at,
                error_at=status.error_at,
                error=status.error,
            )
        masked, details = "", {}
        if values is not None:
            masked = mask(values.get(spec.mask_field.name, ""))
            details = {f.label: values.get(f.name, "") for f in spec.fields if not f.secret}
        return CredentialPublic(
            provider=spec.id,
            masked=masked,
            details=details,
            saved_at=row.created_at,
            updated_at=row.updated_at,
            readable=values is not None,
            status=health,
        )

"""Master key changes: re-encrypt every credential under the newest key, and notice at start when rows can't be read.

The database keeps the id of the master key its rows were written with (a non-secret HMAC fingerprint), so a
deployment started with a different key is reported on start, never "fixed" by deleting anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func
from sqlmodel import col, select

from core.credentials.store import credential_context
from core.db.engine import session
from core.db.tables import Credential, Setting
from core.errors import CredentialUnreadable
from core.security.crypto import KeyRing

log = logging.getLogger(__name__)

KEY_ID_SETTING = "master_key_id"


@dataclass(frozen=True)
class RotationReport:
    rotated: int
    already_current: int
    unreadable: int

    def summary(self, kid: str) -> str:
        text = f"Re-encrypted {self.rotated} credential(s) under master key {kid}; {self.already_current} already were."
        if self.unreadable:
            text += (
                f" {self.unreadable} could not be read with any configured key and were left untouched: "
                "add the key they were written with to APP_MASTER_KEY (after the newest) and run this again."
            )
        return text


def _rotate_one(engine: Engine, key_ring: KeyRing, credential_id: int) -> str:
    """Re-encrypt one row in its own transaction; "rotated", "current" or "unreadable"."""
    with session(engine) as db:
        row = db.get(Credential, credential_id)
        if row is None or row.key_id == key_ring.current_kid:
            return "current"
        context = credential_context(row.user_id, row.provider)
        try:
            plaintext = key_ring.decrypt(row.ciphertext, context)
        except CredentialUnreadable:
            return "unreadable"
        row.ciphertext = key_ring.encrypt(plaintext, context)
        row.key_id = key_ring.current_kid
        db.add(row)
        db.commit()
        return "rotated"


def rotate_keys(
    engine: Engine, key_ring: KeyRing, progress: Callable[[int, int], None] | None = None
) -> RotationReport:
    """Re-encrypt every row not under the newest key, one row per transaction, so a crash loses nothing.

    Running it again resumes: rows already under the newest key are skipped.
    """
    with session(engine) as db:
        total = db.exec(select(func.count()).select_from(Credential)).one()
        pending = db.exec(
            select(col(Credential.id))
            .where(col(Credential.key_id) != key_ring.current_kid)
            .order_by(col(Credential.id))
        ).all()
    counts = {"rotated": 0, "current": total - len(pending), "unreadable": 0}
    for done, credential_id in enumerate(pending, start=1):
        assert credential_id is not None  # a primary key read from the table
        counts[_rotate_one(engine, key_ring, credential_id)] += 1
        if progress is not None:
            progress(done, len(pending))
    if not counts["unreadable"]:
        _store_key_id(engine, key_ring.current_kid)
    return RotationReport(counts["rotated"], counts["current"], counts["unreadable"])


def _store_key_id(engine: Engine, kid: str) -> None:
    with session(engine) as db:
        setting = db.get(Setting, KEY_ID_SETTING) or Setting(name=KEY_ID_SETTING, value=kid)
        setting.value = kid
        db.add(setting)
        db.commit()


def check_master_key(engine: Engine, key_ring: KeyRing) -> list[str]:
    """Warnings about rows the configured keys cannot read (nothing is changed but the first fingerprint)."""
    warnings = []
    with session(engine) as db:
        stored = db.get(Setting, KEY_ID_SETTING)
        foreign = db.exec(
            select(func.count()).select_from(Credential).where(col(Credential.key_id).not_in(key_ring.kids))
        ).one()
    if stored is None:
        _store_key_id(engine, key_ring.current_kid)
    elif stored.value not in key_ring.kids:
        warnings.append(
            f"The master key changed: the stored credentials were written with key {stored.value}, which is not "
            "in APP_MASTER_KEY. If this was not intended, restore the previous key (newest first)."
        )
    elif stored.value != key_ring.current_kid:
        warnings.append(
            f"A new master key {key_ring.current_kid} is configured; credentials still use {stored.value}. "
            "Run: python -m core.cli rotate-keys"
        )
    if foreign:
        warnings.append(
            f"{foreign} saved credential(s) were encrypted with a master key that is not configured; their owners "
            "see them as 'needs re-entry'. Nothing was deleted: add the old key to APP_MASTER_KEY to read them again."
        )
    return warnings

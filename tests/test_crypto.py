"""AES-GCM key ring: round trip, fresh nonces, tamper and swap detection, fail-closed parsing."""

from __future__ import annotations

import base64

import pytest

from core.crypto import KeyRing, MasterKey, generate_master_key, parse_master_keys
from core.errors import CredentialUnreadable, StartupError

CONTEXT = b"credential/v1/user=1/provider=openai"


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(parse_master_keys(generate_master_key()))


def test_round_trip_and_fresh_nonce(ring: KeyRing) -> None:
    first, second = ring.encrypt(b"sk-sentinel", CONTEXT), ring.encrypt(b"sk-sentinel", CONTEXT)
    assert first != second
    assert ring.decrypt(first, CONTEXT) == ring.decrypt(second, CONTEXT) == b"sk-sentinel"
    assert b"sk-sentinel" not in first.encode()


def test_every_flipped_byte_fails_closed(ring: KeyRing) -> None:
    token = ring.encrypt(b"sk-sentinel-value", CONTEXT)
    version, kid, body = token.split(".")
    blob = base64.urlsafe_b64decode(body)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        forged = f"{version}.{kid}.{base64.urlsafe_b64encode(bytes(tampered)).decode()}"
        with pytest.raises(CredentialUnreadable):
            ring.decrypt(forged, CONTEXT)


@pytest.mark.parametrize(
    "other_context",
    [b"credential/v1/user=2/provider=openai", b"credential/v1/user=1/provider=anthropic", b""],
)
def test_ciphertext_is_bound_to_its_owner_and_provider(ring: KeyRing, other_context: bytes) -> None:
    token = ring.encrypt(b"sk-sentinel", CONTEXT)
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(token, other_context)


@pytest.mark.parametrize(
    "garbage", ["", "v1", "v1..", "v2.abc.def", "not base64 at all", "v1.0000.%%%%", "sk-plaintext"]
)
def test_garbage_fails_closed(ring: KeyRing, garbage: str) -> None:
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(garbage, CONTEXT)


def test_older_key_still_decrypts_newest_encrypts() -> None:
    old, new = generate_master_key(), generate_master_key()
    token = KeyRing(parse_master_keys(old)).encrypt(b"value", CONTEXT)
    both = KeyRing(parse_master_keys(f"{new},{old}"))
    assert both.decrypt(token, CONTEXT) == b"value"
    assert both.key_id_of(both.encrypt(b"value", CONTEXT)) == MasterKey(base64.urlsafe_b64decode(new)).kid
    with pytest.raises(CredentialUnreadable):
        KeyRing(parse_master_keys(new)).decrypt(token, CONTEXT)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not-base64!!",
        base64.urlsafe_b64encode(b"short").decode(),
        base64.urlsafe_b64encode(bytes(32)).decode(),
        "q1Wc0mLbZk6bX9nQzV1R3uT8yP2aE5sH7jK4dF0gB6c=",
        "changeme",
    ],
    ids=["empty", "malformed", "too-short", "all-zero", "readme-sample", "changeme"],
)
def test_bad_master_keys_refuse_to_start(value: str) -> None:
    with pytest.raises(StartupError) as caught:
        parse_master_keys(value)
    assert "new-master-key" in str(caught.value)

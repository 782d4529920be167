"""AES-GCM key ring: round trip, fresh nonces, tamper and swap detection, rotation, fail-closed parsing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core.accounts.users import UserPublic
from core.db.engine import session
from core.db.tables import Credential
from core.errors import CredentialUnreadable, StartupError
from core.security.crypto import NONCE_BYTES, KeyRing, MasterKey, generate_master_key, parse_master_keys
from core.services import Services

CONTEXT = b"credential/v1/user=1/provider=openai"
RING = KeyRing(parse_master_keys(generate_master_key()))
VALUES = {
    "openai": {"api_key": "sk-SENTINEL-openai-000000000001"},
    "anthropic": {"api_key": "sk-ant-SENTINEL-anthropic-0002"},
    "gemini": {"api_key": "AIza-SENTINEL-gemini-000000003"},
    "xai": {"api_key": "xai-SENTINEL-xai-00000000000004"},
    "azure": {"endpoint": "https://sentinel.openai.azure.com", "api_key": "SENTINEL-azure-05", "api_version": ""},
}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(parse_master_keys(generate_master_key()))


def split(token: str) -> tuple[str, str, bytes]:
    """A stored token's version, key id and decoded nonce + ciphertext + tag."""
    version, kid, body = token.split(".")
    return version, kid, base64.urlsafe_b64decode(body)


def join(version: str, kid: str, blob: bytes) -> str:
    return f"{version}.{kid}.{base64.urlsafe_b64encode(blob).decode()}"


def context(user_id: int, provider: str) -> bytes:
    """The associated data the store binds each credential with (format `credential/v1/...`)."""
    return f"credential/v1/user={user_id}/provider={provider}".encode()


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"sk-sentinel", json.dumps(VALUES["azure"]).encode(), "ключ-🔑".encode(), bytes(range(256)), b"x" * 4096],
    ids=["empty", "key", "json-blob", "unicode", "all-bytes", "4-KiB"],
)
def test_round_trip(ring: KeyRing, plaintext: bytes) -> None:
    token = ring.encrypt(plaintext, CONTEXT)
    assert ring.decrypt(token, CONTEXT) == plaintext
    assert ring.key_id_of(token) == ring.current_kid
    if len(plaintext) >= 4:
        assert plaintext not in token.encode() and base64.urlsafe_b64encode(plaintext)[:-4] not in token.encode()


def test_same_value_never_reuses_a_nonce(ring: KeyRing) -> None:
    tokens = [ring.encrypt(b"sk-sentinel", CONTEXT) for _ in range(1000)]
    nonces = {split(token)[2][:NONCE_BYTES] for token in tokens}
    assert len(nonces) == len(set(tokens)) == 1000
    assert {ring.decrypt(token, CONTEXT) for token in tokens} == {b"sk-sentinel"}


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_every_tampered_byte_fails_closed(ring: KeyRing, mask: int) -> None:
    version, kid, blob = split(ring.encrypt(b"sk-sentinel-value", CONTEXT))
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= mask
        with pytest.raises(CredentialUnreadable):
            ring.decrypt(join(version, kid, bytes(tampered)), CONTEXT)


def test_truncated_or_extended_ciphertexts_fail_closed(ring: KeyRing) -> None:
    version, kid, blob = split(ring.encrypt(b"sk-sentinel-value", CONTEXT))
    forged = [blob[:length] for length in range(len(blob))] + [blob + b"\x00", b"\x00" + blob, blob + blob]
    for candidate in forged:
        with pytest.raises(CredentialUnreadable):
            ring.decrypt(join(version, kid, candidate), CONTEXT)


@pytest.mark.parametrize(
    "forge",
    [
        lambda v, k, b: f"v2.{k}.{b}",
        lambda v, k, b: f"V1.{k}.{b}",
        lambda v, k, b: f"{v}.{k[::-1]}.{b}",
        lambda v, k, b: f"{v}..{b}",
        lambda v, k, b: f"{v}.{k}.{b}.extra",
        lambda v, k, b: f"{v}.{k}",
        lambda v, k, b: f"{v}.{k}.{b.rstrip('=')}x",
        lambda v, k, b: f" {v}.{k}.{b}",
        lambda v, k, b: f"{v}.{k}.{base64.urlsafe_b64encode(b'').decode()}",
    ],
    ids=[
        "version",
        "version-case",
        "unknown-kid",
        "no-kid",
        "extra-part",
        "no-body",
        "bad-padding",
        "leading-space",
        "empty-body",
    ],
)
def test_tampered_token_parts_fail_closed(ring: KeyRing, forge: Callable[[str, str, str], str]) -> None:
    version, kid, body = ring.encrypt(b"sk-sentinel", CONTEXT).split(".")
    forged = forge(version, kid, body)
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(forged, CONTEXT)


@pytest.mark.parametrize(
    "other_context",
    [
        b"credential/v1/user=2/provider=openai",
        b"credential/v1/user=11/provider=openai",
        b"credential/v1/user=1/provider=anthropic",
        b"credential/v1/user=1/provider=openai/",
        b"credential/v2/user=1/provider=openai",
        b"CREDENTIAL/V1/USER=1/PROVIDER=OPENAI",
        b"",
    ],
)
def test_ciphertext_is_bound_to_its_owner_and_provider(ring: KeyRing, other_context: bytes) -> None:
    token = ring.encrypt(b"sk-sentinel", CONTEXT)
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(token, other_context)


def test_a_stored_credential_is_one_blob_bound_to_user_and_provider(services: Services, alice: UserPublic) -> None:
    """Every field of a credential (Azure: endpoint, key, API version) is sealed in one JSON blob.

    The associated data names the user and the provider, so the blob only opens in its own row; no field is stored
    or encrypted on its own, so a field cannot be moved between credentials except by moving a whole blob, which
    the swap tests show fails. That is how each value is bound to its (user, provider, field).
    """
    services.credentials.save(alice.id, "azure", VALUES["azure"])
    with session(services.engine) as db:
        row = db.exec(select(Credential).where(Credential.user_id == alice.id)).one()
    stored = json.loads(services.key_ring.decrypt(row.ciphertext, context(alice.id, "azure")))
    assert stored == VALUES["azure"] | {"api_version": "2024-10-21"}
    assert row.key_id == services.key_ring.current_kid == services.key_ring.key_id_of(row.ciphertext)
    for other in (context(alice.id + 1, "azure"), context(alice.id, "openai")):
        with pytest.raises(CredentialUnreadable):
            services.key_ring.decrypt(row.ciphertext, other)


def copy_ciphertext(services: Services, source: tuple[int, str], target: tuple[int, str]) -> None:
    """Overwrite the target row's ciphertext with the source row's, as someone with database access could."""
    with session(services.engine) as db:
        rows = {(row.user_id, row.provider): row for row in db.exec(select(Credential)).all()}
        rows[target].ciphertext = rows[source].ciphertext
        db.add(rows[target])
        db.commit()


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (("alice", "openai"), ("bob", "openai")),
        (("alice", "openai"), ("alice", "xai")),
        (("alice", "anthropic"), ("bob", "gemini")),
        (("alice", "azure"), ("bob", "azure")),
        (("bob", "gemini"), ("alice", "openai")),
    ],
)
def test_a_ciphertext_moved_to_another_row_fails_closed(
    services: Services, alice: UserPublic, bob: UserPublic, source: tuple[str, str], target: tuple[str, str]
) -> None:
    users = {"alice": alice.id, "bob": bob.id}
    for user_id in users.values():
        for provider, values in VALUES.items():
            services.credentials.save(user_id, provider, values)
    copy_ciphertext(services, (users[source[0]], source[1]), (users[target[0]], target[1]))
    with pytest.raises(CredentialUnreadable):
        services.credentials.secrets(users[target[0]], target[1])
    views = services.credentials.list(users[target[0]])
    assert {provider for provider, view in views.items() if not view.readable} == {target[1]}
    assert services.credentials.secrets(users[source[0]], source[1])["api_key"] == VALUES[source[1]]["api_key"]


def test_a_tampered_stored_row_needs_re_entry(services: Services, alice: UserPublic) -> None:
    for provider, values in VALUES.items():
        services.credentials.save(alice.id, provider, values)
    with session(services.engine) as db:
        row = db.exec(select(Credential).where(Credential.user_id == alice.id, Credential.provider == "xai")).one()
        version, kid, blob = split(row.ciphertext)
        row.ciphertext = join(version, kid, blob[:-1] + bytes([blob[-1] ^ 1]))
        db.add(row)
        db.commit()
    views = services.credentials.list(alice.id)
    assert views["xai"].readable is False and views["xai"].masked == ""
    assert all(view.readable for provider, view in views.items() if provider != "xai")
    with pytest.raises(CredentialUnreadable):
        services.credentials.secrets(alice.id, "xai")


def test_a_binary_value_in_the_ciphertext_column_needs_re_entry(services: Services, alice: UserPublic) -> None:
    services.credentials.save(alice.id, "openai", VALUES["openai"])
    with session(services.engine) as db:
        row = db.exec(select(Credential).where(Credential.user_id == alice.id)).one()
        row.ciphertext = row.ciphertext.encode()  # type: ignore[assignment]
        db.add(row)
        db.commit()
    assert services.credentials.list(alice.id)["openai"].readable is False


@pytest.mark.parametrize("older", [1, 2, 3])
def test_rotation_old_keys_decrypt_newest_encrypts(older: int) -> None:
    """A ring lists keys newest first: rows under any listed key open; new rows name the newest key."""
    texts = [generate_master_key() for _ in range(older + 1)]
    tokens = [KeyRing(parse_master_keys(text)).encrypt(f"value-{n}".encode(), CONTEXT) for n, text in enumerate(texts)]
    ring = KeyRing(parse_master_keys(",".join(texts)))
    assert [ring.decrypt(token, CONTEXT) for token in tokens] == [f"value-{n}".encode() for n in range(len(texts))]
    newest = MasterKey(base64.urlsafe_b64decode(texts[0])).kid
    assert ring.current_kid == newest == ring.kids[0] and len(set(ring.kids)) == len(texts)
    assert ring.key_id_of(ring.encrypt(b"new", CONTEXT)) == newest
    dropped = KeyRing(parse_master_keys(",".join(texts[:-1])))
    with pytest.raises(CredentialUnreadable):
        dropped.decrypt(tokens[-1], CONTEXT)


def test_a_token_relabelled_with_another_key_id_fails_closed() -> None:
    old, new = generate_master_key(), generate_master_key()
    ring = KeyRing(parse_master_keys(f"{new},{old}"))
    version, _, blob = split(KeyRing(parse_master_keys(old)).encrypt(b"value", CONTEXT))
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(join(version, ring.current_kid, blob), CONTEXT)


def test_key_ids_are_fingerprints_not_key_material() -> None:
    texts = [generate_master_key() for _ in range(20)]
    kids = [MasterKey(base64.urlsafe_b64decode(text)).kid for text in texts]
    assert len(set(kids)) == 20
    assert kids == [MasterKey(base64.urlsafe_b64decode(text)).kid for text in texts]
    assert all(
        kid not in text and kid not in base64.urlsafe_b64decode(text).hex()
        for kid, text in zip(kids, texts, strict=True)
    )


@pytest.mark.parametrize(
    "garbage",
    ["", "v1", "v1..", "v2.abc.def", "not base64 at all", "v1.0000.%%%%", "sk-plaintext", "v1.x.y.z", "..", None, 42],
)
def test_garbage_fails_closed(ring: KeyRing, garbage: str) -> None:
    with pytest.raises(CredentialUnreadable):
        ring.decrypt(garbage, CONTEXT)


@given(st.text())
def test_arbitrary_text_never_decrypts(text: str) -> None:
    with pytest.raises(CredentialUnreadable):
        RING.decrypt(text, CONTEXT)


@settings(max_examples=300)
@given(st.binary(max_size=200), st.sampled_from([RING.current_kid, "", "0" * 16]), st.sampled_from(["v1", "v2"]))
def test_well_formed_forgeries_never_decrypt(blob: bytes, kid: str, version: str) -> None:
    with pytest.raises(CredentialUnreadable):
        RING.decrypt(join(version, kid, blob), CONTEXT)


@given(st.binary())
def test_arbitrary_bytes_never_decrypt(data: bytes) -> None:
    with pytest.raises(CredentialUnreadable):
        RING.decrypt(data, CONTEXT)  # type: ignore[arg-type]


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

"""Planning a local model's download and per-account access, with each user's own token, against the fake Hub."""

from __future__ import annotations

import re

import pytest

from core.accounts.users import UserPublic
from core.errors import ProviderErrorKind
from core.local.access import AccessChecks
from core.local.errors import GATED_ANONYMOUS, LocalModelError
from core.local.files import choose_files, quantization_of
from core.local.library import LocalLibrary
from core.local.plan import plan_download
from core.providers.hub import HubError
from core.services import Services
from tests.fakes.hub import GATED_REPO, GGUF_REPO, LLAMA_REPO, OPEN_REPO, FakeHub
from tests.helpers import Clock

pytestmark = pytest.mark.both_backends

GUIDE = (
    "This model is gated on Hugging Face. Please request access and accept the license terms on the model page, "
    "then try again."
)
EXPIRED = (
    "Hugging Face rejected your saved token: it is invalid or has expired. Save a new Read token in "
    "Profile → Provider Keys → Hugging Face."
)
GRANTED, READER = "hf_test_granted_token", "hf_test_reader_token"
PLENTY = 10**12


def save_token(services: Services, user: UserPublic, token: str) -> None:
    services.credentials.save(user.id, "huggingface", {"token": token})


def plan(services: Services, repo_id: str, token: str | None, quantization: str | None = None, free: int = PLENTY):
    return plan_download(repo_id, token, services.settings, quantization, free_bytes=lambda _: free)


def access_checks(services: Services, clock: Clock) -> AccessChecks:
    return AccessChecks(services.credentials, services.settings, services.engine, now=clock)


@pytest.mark.parametrize(
    ("repo_id", "token", "message", "kind"),
    [
        (GATED_REPO, None, GATED_ANONYMOUS, ProviderErrorKind.GATED),
        (GATED_REPO, READER, GUIDE, ProviderErrorKind.GATED),
        (OPEN_REPO, "hf_revoked_token_123456", EXPIRED, ProviderErrorKind.REJECTED_KEY),
        (
            "nobody/nothing",
            READER,
            "There is no model nobody/nothing on Hugging Face, or it is private to other accounts. Check the ID.",
            ProviderErrorKind.NOT_FOUND,
        ),
        (
            "nobody/nothing",
            None,
            "There is no model nobody/nothing on Hugging Face, or it is private to other accounts. Check the ID.",
            ProviderErrorKind.NOT_FOUND,
        ),
    ],
)
def test_every_refusal_has_its_own_message_and_the_model_page(
    services: Services, hub: FakeHub, repo_id: str, token: str | None, message: str, kind: ProviderErrorKind
) -> None:
    with pytest.raises(HubError) as caught:
        plan(services, repo_id, token)
    assert (str(caught.value), caught.value.kind) == (message, kind)
    assert caught.value.page_url == f"{hub.url}/{repo_id}"
    assert {r.token for r in hub.requests} == {token}  # the user's own token, or none at all
    assert "auth-check" in hub.requests[0].path  # access is tested first


def test_the_plan_lists_exactly_the_files_that_will_come_never_original(services: Services, hub: FakeHub) -> None:
    result = plan(services, LLAMA_REPO, GRANTED)
    expected = {
        "config.json",
        "generation_config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    }
    sizes = {path: f.size for path, f in hub.repos[LLAMA_REPO].files.items()}
    assert dict(result.files) == {name: sizes[name] for name in expected}
    assert result.total_bytes == result.to_download_bytes == sum(sizes[name] for name in expected)
    assert (result.runtime, result.gated, result.quantizations) == ("transformers", True, ())
    assert result.folder == services.settings.models_folder / "meta-llama" / "Llama-layout-tiny"
    assert not any(r.path.startswith(f"/{LLAMA_REPO}/resolve/main/original") for r in hub.requests)
    assert [path for path in result.folder.rglob("*") if path.is_file() and ".cache" not in path.parts] == []


def test_a_gguf_repo_gets_q4_k_m_or_the_chosen_quantization(services: Services) -> None:
    default = plan(services, GGUF_REPO, None)
    assert (default.runtime, default.quantization, default.quantizations) == ("llama.cpp", "Q4_K_M", ("Q4_K_M", "Q8_0"))
    assert [name for name, _ in default.files] == ["tiny-model-Q4_K_M.gguf"]
    chosen = plan(services, GGUF_REPO, None, "q8_0")
    assert ([name for name, _ in chosen.files], chosen.quantization) == (["tiny-model-Q8_0.gguf"], "Q8_0")
    with pytest.raises(LocalModelError, match=re.escape("Q2_K is not one of this repo's quantizations: Q4_K_M, Q8_0.")):
        plan(services, GGUF_REPO, None, "Q2_K")


def test_without_q4_k_m_a_sensible_default_is_picked_and_said(services: Services, hub: FakeHub) -> None:
    hub.add_repo("tiny/other-GGUF", {"m-f16.gguf": bytes(300), "m-Q8_0.gguf": bytes(200), "m-Q2_K.gguf": bytes(90)})
    result = plan(services, "tiny/other-GGUF", None)
    assert (result.quantization, result.files) == ("Q8_0", (("m-Q8_0.gguf", 200),))
    assert result.quantizations == ("F16", "Q2_K", "Q8_0")
    assert "no Q4_K_M file, so Q8_0 is chosen" in result.note


def test_not_enough_disk_says_how_much_is_needed_and_free(services: Services) -> None:
    with pytest.raises(LocalModelError) as caught:
        plan(services, OPEN_REPO, None, free=100 * 1024**2)
    assert str(caught.value).startswith(f"Not enough disk space for {OPEN_REPO}: it needs 0 MB (plus 0.5 GB kept ")
    assert "and 100 MB is free in" in str(caught.value)
    assert caught.value.page_url and caught.value.page_url.endswith(OPEN_REPO)


def test_a_repo_with_nothing_this_app_can_run(services: Services, hub: FakeHub) -> None:
    hub.add_repo("old/pytorch-only", {"config.json": b"{}", "pytorch_model.bin": bytes(64), "README.md": b"#"})
    with pytest.raises(LocalModelError) as caught:
        plan(services, "old/pytorch-only", None)
    assert str(caught.value) == (
        "old/pytorch-only has no files this app can run: it needs GGUF files (run with llama.cpp) or safetensors "
        "weights with a config.json (run with transformers), and this repo has 1 .md, 1 .json, 1 .bin. "
        "Pick another model, for example its GGUF version."
    )


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("smollm2-360m-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("qwen2.5-0.5b-instruct-fp16.gguf", "F16"),
        ("Llama-3.2-1B-Instruct-Q8_0.gguf", "Q8_0"),
        ("Q4_K_M/model-IQ4_XS-00001-of-00002.gguf", "IQ4_XS"),
        ("model.gguf", None),
    ],
)
def test_quantization_tags_are_read_from_file_names(name: str, tag: str | None) -> None:
    assert quantization_of(name) == tag


def test_split_gguf_files_come_together_and_projectors_never() -> None:
    files = [("m-Q4_K_M-00001-of-00002.gguf", 5), ("m-Q4_K_M-00002-of-00002.gguf", 5), ("mmproj-m-f16.gguf", 3)]
    assert choose_files("a/b", files).files == tuple(files[:2])


def test_access_is_per_account_even_for_a_model_another_user_downloaded(
    services: Services, alice: UserPublic, bob: UserPublic
) -> None:
    save_token(services, alice, GRANTED)
    save_token(services, bob, READER)
    LocalLibrary(services.engine, services.settings).record(GATED_REPO, "transformers", 10, alice.id, gated=True)
    checks = access_checks(services, Clock())
    checks.may_chat(alice.id, GATED_REPO)
    with pytest.raises(HubError, match=re.escape("This model is gated on Hugging Face. Please request access")):
        checks.may_chat(bob.id, GATED_REPO)
    assert (checks.may_use(alice.id, GATED_REPO), checks.may_use(bob.id, GATED_REPO)) == (True, False)


def test_no_token_passes_public_models_and_asks_for_one_on_gated(services: Services, alice: UserPublic) -> None:
    checks = access_checks(services, Clock())
    assert checks.check(alice.id, OPEN_REPO).gated is False
    with pytest.raises(HubError) as caught:
        checks.check(alice.id, GATED_REPO)
    assert str(caught.value) == GATED_ANONYMOUS and "Profile → Provider Keys → Hugging Face" in str(caught.value)


def test_answers_are_remembered_for_ten_minutes_and_a_new_token_is_asked_at_once(
    services: Services, hub: FakeHub, alice: UserPublic
) -> None:
    save_token(services, alice, READER)
    clock = Clock()
    checks = access_checks(services, clock)
    for _ in range(2):
        with pytest.raises(HubError, match=r"^This model is gated"):
            checks.check(alice.id, GATED_REPO)
    assert len([r for r in hub.requests if "auth-check" in r.path]) == 1
    clock.advance(11 * 60)
    with pytest.raises(HubError, match=r"^This model is gated"):
        checks.check(alice.id, GATED_REPO)
    assert len([r for r in hub.requests if "auth-check" in r.path]) == 2
    save_token(services, alice, GRANTED)  # the grant the user asked for came through: no waiting ten minutes
    assert checks.check(alice.id, GATED_REPO).gated is True
    assert hub.requests[-2].token == GRANTED


def test_a_grant_holds_for_24_hours_while_the_hub_is_down(services: Services, hub: FakeHub, alice: UserPublic) -> None:
    save_token(services, alice, GRANTED)
    clock = Clock()
    checks = access_checks(services, clock)
    checks.may_chat(alice.id, GATED_REPO)
    hub.fail("server_error", times=50)
    clock.advance(23 * 3600)
    checks.may_chat(alice.id, GATED_REPO)
    clock.advance(2 * 3600)
    with pytest.raises(LocalModelError) as caught:
        checks.may_chat(alice.id, GATED_REPO)
    assert str(caught.value).startswith("Hugging Face is having problems (HTTP 500). Try again in a moment.")
    assert "was not verified in the last 24 hours" in str(caught.value)


def test_a_public_model_still_runs_while_the_hub_is_down(services: Services, hub: FakeHub, bob: UserPublic) -> None:
    LocalLibrary(services.engine, services.settings).record(OPEN_REPO, "transformers", 10, None)
    hub.fail("server_error", times=50)
    access_checks(services, Clock()).may_chat(bob.id, OPEN_REPO)


def test_a_refusal_is_never_served_by_the_offline_grace(services: Services, hub: FakeHub, bob: UserPublic) -> None:
    save_token(services, bob, READER)
    clock = Clock()
    checks = access_checks(services, clock)
    assert not checks.may_use(bob.id, GATED_REPO)
    hub.fail("server_error", times=50)
    clock.advance(11 * 60)
    assert not checks.may_use(bob.id, GATED_REPO)

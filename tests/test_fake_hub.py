"""The Hub fake speaks the real Hub's protocol well enough for the real huggingface_hub client.

No mocks: every call goes through huggingface_hub 2.x over loopback HTTP, pointed at the fake with the per-call
``endpoint=`` argument (``HfApi(endpoint=...)``, ``hf_hub_download(..., endpoint=...)``), so ``HF_ENDPOINT`` is
never needed. Every call passes ``token=`` explicitly and every download gets its own ``cache_dir``, so nothing
reads or writes the developer's ``~/.cache/huggingface``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"  # read once, at import (conftest sets it too)

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.fakes.hub import GATED_REPO, OPEN_REPO, REDIRECT_STATUS, RETRY_AFTER_SECONDS, FakeHub, Recorded

READER = "hf_test_reader_token"
GRANTED = "hf_test_granted_token"
BAD_TOKEN = "hf_not_a_real_token"


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(hub: FakeHub) -> None:
    hub.reset()


@pytest.fixture
def api(hub: FakeHub) -> HfApi:
    return HfApi(endpoint=hub.url)


def calls(hub: FakeHub) -> list[tuple[str, str, int]]:
    return [(request.method, request.path, request.status) for request in hub.requests]


def file_requests(hub: FakeHub, method: str) -> list[Recorded]:
    return [request for request in hub.requests if request.method == method and "/resolve/" in request.path]


def test_whoami_with_a_valid_token_returns_the_user(hub: FakeHub, api: HfApi) -> None:
    info = api.whoami(token=READER)

    assert info["name"] == "reader"
    assert info["type"] == "user"
    assert info["auth"]["type"] == "access_token"
    assert info["auth"]["accessToken"]["role"] == "read"
    assert calls(hub) == [("GET", "/api/whoami-v2", 200)]
    assert hub.requests[0].token == READER
    assert hub.requests[0].headers["authorization"] == f"Bearer {READER}"


def test_whoami_with_a_bad_token_raises_a_plain_hub_http_error(hub: FakeHub, api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        api.whoami(token=BAD_TOKEN)

    assert type(caught.value) is HfHubHTTPError
    assert isinstance(caught.value, OSError)
    assert caught.value.response.status_code == 401
    assert str(caught.value) == "Invalid user token."
    assert calls(hub) == [("GET", "/api/whoami-v2", 401)]


def test_a_token_added_at_runtime_is_accepted(hub: FakeHub, api: HfApi) -> None:
    hub.tokens["hf_new_token"] = "newcomer"

    assert api.whoami(token="hf_new_token")["name"] == "newcomer"


def test_auth_check_on_the_gated_repo_raises_for_a_user_without_access(hub: FakeHub, api: HfApi) -> None:
    with pytest.raises(GatedRepoError) as caught:
        api.auth_check(GATED_REPO, token=READER)

    assert caught.value.response.status_code == 403
    assert "you are not in the authorized list" in str(caught.value)
    assert caught.value.repo_id == GATED_REPO
    assert calls(hub) == [("GET", f"/api/models/{GATED_REPO}/auth-check", 403)]


def test_auth_check_on_the_gated_repo_passes_for_the_granted_user(hub: FakeHub, api: HfApi) -> None:
    assert api.auth_check(GATED_REPO, token=GRANTED) is None
    assert api.auth_check(OPEN_REPO, token=READER) is None
    assert [request.status for request in hub.requests] == [200, 200]


def test_auth_check_on_the_gated_repo_without_a_token_is_a_401_gated_error(api: HfApi) -> None:
    with pytest.raises(GatedRepoError) as caught:
        api.auth_check(GATED_REPO, token=False)

    assert caught.value.response.status_code == 401
    assert "Please log in" in str(caught.value)


def test_unknown_repo_raises_repository_not_found(hub: FakeHub, api: HfApi) -> None:
    with pytest.raises(RepositoryNotFoundError) as caught:
        api.auth_check("nobody/missing-model", token=READER)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/missing-model", token=READER)

    assert not isinstance(caught.value, GatedRepoError)
    assert caught.value.response.status_code == 404
    assert caught.value.response.headers["X-Error-Code"] == "RepoNotFound"
    assert calls(hub)[0] == ("GET", "/api/models/nobody/missing-model/auth-check", 404)


def test_model_info_reports_gated_sha_and_siblings(hub: FakeHub, api: HfApi) -> None:
    open_repo = hub.repos[OPEN_REPO]

    info = api.model_info(OPEN_REPO, token=READER)
    detailed = api.model_info(OPEN_REPO, token=READER, revision=open_repo.sha, files_metadata=True)
    gated = api.model_info(GATED_REPO, token=READER)  # metadata stays public, as on the Hub

    assert (info.id, info.sha, info.gated) == (OPEN_REPO, open_repo.sha, False)
    assert sorted(s.rfilename for s in info.siblings or []) == ["config.json", "model.safetensors"]
    sizes = {s.rfilename: s.size for s in detailed.siblings or []}
    assert sizes == {path: hub_file.size for path, hub_file in open_repo.files.items()}
    weights = next(s for s in detailed.siblings or [] if s.rfilename == "model.safetensors")
    assert weights.lfs is not None
    assert weights.lfs.sha256 == open_repo.files["model.safetensors"].sha256
    assert gated.gated == "manual"
    assert calls(hub) == [
        ("GET", f"/api/models/{OPEN_REPO}", 200),
        ("GET", f"/api/models/{OPEN_REPO}/revision/{open_repo.sha}", 200),
        ("GET", f"/api/models/{GATED_REPO}", 200),
    ]
    assert hub.requests[1].query == {"blobs": "true"}


def test_unknown_revision_raises_revision_not_found(api: HfApi) -> None:
    with pytest.raises(RevisionNotFoundError):
        api.model_info(OPEN_REPO, revision="v9.9", token=READER)


def test_hf_hub_download_gives_the_exact_bytes(hub: FakeHub, tmp_path: Path) -> None:
    open_repo = hub.repos[OPEN_REPO]

    for filename, hub_file in open_repo.files.items():
        path = hf_hub_download(OPEN_REPO, filename, token=READER, cache_dir=tmp_path, endpoint=hub.url)
        assert Path(path).read_bytes() == hub_file.data
        assert Path(path) == tmp_path / "models--tiny--open-model" / "snapshots" / open_repo.sha / filename
        assert (tmp_path / "models--tiny--open-model" / "blobs" / hub_file.etag).is_file()

    assert calls(hub) == [
        ("HEAD", f"/{OPEN_REPO}/resolve/main/config.json", 200),
        ("GET", f"/{OPEN_REPO}/resolve/main/config.json", 200),
        ("HEAD", f"/{OPEN_REPO}/resolve/main/model.safetensors", 200),
        ("GET", f"/{OPEN_REPO}/resolve/main/model.safetensors", 200),
    ]
    assert all(request.token == READER for request in hub.requests)
    assert hub.requests[0].headers["accept-encoding"] == "identity"


def test_hf_hub_download_from_the_gated_repo(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(GatedRepoError) as caught:
        hf_hub_download(GATED_REPO, "config.json", token=READER, cache_dir=tmp_path / "reader", endpoint=hub.url)
    path = hf_hub_download(GATED_REPO, "config.json", token=GRANTED, cache_dir=tmp_path / "granted", endpoint=hub.url)

    assert caught.value.response.status_code == 403
    assert Path(path).read_bytes() == hub.repos[GATED_REPO].files["config.json"].data
    assert calls(hub) == [
        ("HEAD", f"/{GATED_REPO}/resolve/main/config.json", 403),
        ("HEAD", f"/{GATED_REPO}/resolve/main/config.json", 200),
        ("GET", f"/{GATED_REPO}/resolve/main/config.json", 200),
    ]


def test_hf_hub_download_of_a_missing_file_raises_entry_not_found(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(OPEN_REPO, "nope.bin", token=READER, cache_dir=tmp_path, endpoint=hub.url)


def test_hf_hub_download_with_a_bad_token_is_a_401_not_repo_not_found(hub: FakeHub, tmp_path: Path) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        hf_hub_download(OPEN_REPO, "config.json", token=BAD_TOKEN, cache_dir=tmp_path, endpoint=hub.url)

    assert type(caught.value) is HfHubHTTPError
    assert caught.value.response.status_code == 401
    assert "Invalid credentials in Authorization header" in str(caught.value)


def test_snapshot_download_gets_every_file(hub: FakeHub, tmp_path: Path) -> None:
    open_repo = hub.repos[OPEN_REPO]
    local_dir = tmp_path / "model"

    result = snapshot_download(
        OPEN_REPO, token=READER, local_dir=local_dir, cache_dir=tmp_path / "cache", endpoint=hub.url
    )

    assert Path(result) == local_dir.resolve()
    for filename, hub_file in open_repo.files.items():
        assert (local_dir / filename).read_bytes() == hub_file.data
    assert calls(hub)[:2] == [
        ("GET", f"/api/models/{OPEN_REPO}/revision/main", 200),
        ("GET", f"/api/models/{OPEN_REPO}/tree/{open_repo.sha}", 200),
    ]
    assert hub.requests[1].query == {"recursive": "true", "expand": "false"}
    downloaded = {request.path.rsplit("/", 1)[-1] for request in file_requests(hub, "GET")}
    assert downloaded == set(open_repo.files)
    assert all(f"/resolve/{open_repo.sha}/" in request.path for request in file_requests(hub, "HEAD"))


def test_snapshot_download_of_a_folder_tree(hub: FakeHub, tmp_path: Path) -> None:
    files = {"config.json": b"{}", "tokenizer/vocab.txt": b"a\nb\n", "tokenizer/sub/merges.txt": b"a b\n"}
    hub.add_repo("tiny/nested", files)

    snapshot = snapshot_download("tiny/nested", token=READER, cache_dir=tmp_path, endpoint=hub.url)

    for filename, data in files.items():
        assert (Path(snapshot) / filename).read_bytes() == data


def test_range_request_gets_206_with_the_tail(hub: FakeHub) -> None:
    weights = hub.repos[OPEN_REPO].files["model.safetensors"]
    url = f"{hub.url}/{OPEN_REPO}/resolve/main/model.safetensors"
    auth = {"Authorization": f"Bearer {READER}"}

    tail = httpx.get(url, headers=auth | {"Range": "bytes=10-"})
    middle = httpx.get(url, headers=auth | {"Range": "bytes=2-5"})
    beyond = httpx.get(url, headers=auth | {"Range": f"bytes={weights.size}-"})

    assert tail.status_code == 206
    assert tail.content == weights.data[10:]
    assert tail.headers["Content-Range"] == f"bytes 10-{weights.size - 1}/{weights.size}"
    assert tail.headers["Accept-Ranges"] == "bytes"
    assert tail.headers["ETag"] == f'"{weights.sha256}"'
    assert tail.headers["X-Linked-Size"] == str(weights.size)
    assert (middle.status_code, middle.content) == (206, weights.data[2:6])
    assert (beyond.status_code, beyond.headers["Content-Range"]) == (416, f"bytes */{weights.size}")


def test_an_interrupted_download_resumes_with_a_range_request(hub: FakeHub, tmp_path: Path) -> None:
    """http_get buffers DOWNLOAD_CHUNK_SIZE (10 MiB) before writing, so the cut must come after the first chunk."""
    data = hashlib.sha256(b"weights").digest() * (12 * 1024 * 1024 // 32)
    hub.add_repo("tiny/big-model", {"model.safetensors": data})
    hub.cut_download(after_bytes=constants.DOWNLOAD_CHUNK_SIZE + 4096)

    path = hf_hub_download("tiny/big-model", "model.safetensors", token=READER, cache_dir=tmp_path, endpoint=hub.url)

    assert Path(path).read_bytes() == data
    gets = file_requests(hub, "GET")
    assert [(request.status, request.headers.get("range")) for request in gets] == [
        (200, None),
        (206, f"bytes={constants.DOWNLOAD_CHUNK_SIZE}-"),
    ]


def test_no_telemetry_reaches_the_hub(hub: FakeHub, api: HfApi, tmp_path: Path) -> None:
    api.whoami(token=READER)
    hf_hub_download(OPEN_REPO, "config.json", token=READER, cache_dir=tmp_path, endpoint=hub.url)

    assert constants.HF_HUB_DISABLE_TELEMETRY
    assert not [request for request in hub.requests if request.path.startswith(("/api/telemetry", "/api/agent"))]
    assert "torch/" not in hub.requests[0].headers["user-agent"]


def whoami(hub: FakeHub, token: str = READER, timeout: float = 5) -> httpx.Response:
    """The Hub's whoami, asked over plain HTTP (what any client sees, whatever it makes of it)."""
    return httpx.get(f"{hub.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def test_injected_refusals_come_in_the_hubs_error_shape(hub: FakeHub, api: HfApi) -> None:
    hub.fail("forbidden")
    hub.fail("rate_limit")
    hub.fail("server_error")

    forbidden, limited, down = whoami(hub), whoami(hub), whoami(hub)

    assert (forbidden.status_code, limited.status_code, down.status_code) == (403, 429, 500)
    assert "X-Error-Code" not in forbidden.headers and forbidden.json()["error"]
    assert limited.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert whoami(hub).status_code == 200, "each failure applies once"
    hub.fail("server_error")
    with pytest.raises(HfHubHTTPError) as caught:
        api.model_info(OPEN_REPO, token=READER)
    assert caught.value.response.status_code == 500


def test_injected_failures_wait_for_the_token_check_and_skip_telemetry(hub: FakeHub) -> None:
    hub.fail("server_error")

    assert whoami(hub, BAD_TOKEN).status_code == 401
    assert httpx.head(f"{hub.url}/api/telemetry/test", timeout=5).status_code == 200
    assert whoami(hub).status_code == 500


def test_an_injected_redirect_points_elsewhere_on_the_fake(hub: FakeHub) -> None:
    hub.fail("redirect")

    moved = whoami(hub)

    assert moved.status_code == REDIRECT_STATUS
    assert moved.headers["Location"] == f"{hub.url}/elsewhere/api/whoami-v2"
    assert calls(hub) == [("GET", "/api/whoami-v2", REDIRECT_STATUS)]


def test_an_injected_cut_sends_half_the_answer_then_hangs_up(hub: FakeHub) -> None:
    hub.fail("cut")

    with pytest.raises(httpx.RemoteProtocolError):
        whoami(hub)
    assert whoami(hub).json()["name"] == "reader"


def test_an_injected_hang_answers_nothing(hub: FakeHub) -> None:
    hub.fail("hang")

    with pytest.raises(httpx.ReadTimeout):
        whoami(hub, timeout=0.3)
    assert [r.status for r in hub.requests] == [0], "recorded, with no status: nothing was answered"


def test_unknown_injected_failures_are_refused(hub: FakeHub) -> None:
    with pytest.raises(ValueError):
        hub.fail("teapot")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        hub.fail("hang", times=0)

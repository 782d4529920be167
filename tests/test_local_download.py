"""Downloads of local models in a child process: progress from the bytes on disk, cancel, a killed download cleaned
up and restarted, one job per repo, worded failures, and delete freeing the disk. Against the throttled fake Hub."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.accounts.users import UserPublic
from core.local.download import STOPPED, DownloadJob, Downloads, clean_orphans, partial_files
from core.local.library import LocalLibrary
from core.local.plan import DownloadPlan, plan_download
from core.providers.hub import HubError
from core.services import Services
from tests.fakes.hub import FakeHub
from tests.helpers import wait_for

BIG = 24 * 1024 * 1024  # huggingface_hub writes in 10 MiB chunks: a file this size shows progress on disk
RATE = 8 * 1024 * 1024
REPO = "tiny/big-model"
TOKEN = "hf_test_reader_token"


@pytest.fixture
def library(services: Services) -> LocalLibrary:
    return LocalLibrary(services.engine, services.settings)


@pytest.fixture
def downloads(services: Services, library: LocalLibrary) -> Iterator[Downloads]:
    manager = Downloads(services.settings, library)
    yield manager
    for job in manager.jobs():
        manager.cancel(job.repo_id)  # no child outlives its test


@pytest.fixture
def big_repo(hub: FakeHub) -> bytes:
    weights = os.urandom(BIG)
    hub.add_repo(REPO, {"config.json": b'{"model_type": "llama"}', "model.safetensors": weights})
    return weights


def plan(services: Services, repo_id: str = REPO) -> DownloadPlan:
    return plan_download(repo_id, TOKEN, services.settings)


def started(downloads: Downloads, services: Services, user: UserPublic) -> DownloadJob:
    return downloads.start(user.id, plan(services), TOKEN)


def writing(job: DownloadJob) -> bool:
    return bool(partial_files(job.plan.folder)) and 0 < job.progress().done_bytes < job.progress().total_bytes


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_download_reports_rising_progress_up_to_100_percent_and_is_recorded(
    services: Services, hub: FakeHub, downloads: Downloads, library: LocalLibrary, alice: UserPublic, big_repo: bytes
) -> None:
    hub.throttle(RATE)
    job = started(downloads, services, alice)
    seen = []
    while job.running:
        seen.append(job.progress())
        job.finished.wait(0.1)
    final = job.progress()
    assert (final.state, final.done_bytes, final.total_bytes) == ("done", BIG + 23, BIG + 23)
    partway = [p for p in seen if 0 < p.done_bytes < p.total_bytes]
    assert partway and any(p.speed > 0 and p.eta_seconds is not None for p in partway)
    assert [p.done_bytes for p in seen] == sorted(p.done_bytes for p in seen)
    assert (job.plan.folder / "model.safetensors").read_bytes() == big_repo
    record = library.get(REPO)
    assert record is not None
    assert (record.runtime, record.size_bytes, record.downloaded_by) == ("transformers", BIG + 23, alice.id)
    assert {r.token for r in hub.requests if "/resolve/" in r.path} == {TOKEN}


def test_the_token_goes_over_stdin_never_argv_or_the_environment(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic, big_repo: bytes
) -> None:
    hub.throttle(RATE // 4)
    job = started(downloads, services, alice)
    assert job.pid is not None
    wait_for(lambda: writing(job))
    for part in ("cmdline", "environ"):
        assert TOKEN.encode() not in Path(f"/proc/{job.pid}/{part}").read_bytes()


def test_cancel_ends_the_child_and_deletes_its_partial_files(
    services: Services, hub: FakeHub, downloads: Downloads, library: LocalLibrary, alice: UserPublic, big_repo: bytes
) -> None:
    hub.throttle(RATE // 4)
    job = started(downloads, services, alice)
    wait_for(lambda: writing(job))
    pid = job.pid
    assert pid is not None
    downloads.cancel(REPO)
    assert job.progress().state == "cancelled" and not job.running
    assert gone(pid)
    assert partial_files(job.plan.folder) == []
    assert (job.plan.folder / "config.json").is_file()  # finished files are kept for the next try
    assert library.get(REPO) is None
    downloads.cancel(REPO)  # an ended job is dismissed
    assert downloads.jobs() == []


def test_a_replica_starting_keeps_the_partial_files_of_a_download_running_elsewhere(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic, big_repo: bytes
) -> None:
    """Replicas share one models folder: the start-up clean-up of one leaves another's running download alone."""
    hub.throttle(RATE // 4)
    job = started(downloads, services, alice)
    wait_for(lambda: writing(job))
    partial = partial_files(job.plan.folder)
    assert partial != []
    assert clean_orphans(services.settings.models_folder) == 0  # what a replica starting now does
    assert all(path.exists() for path in partial) or job.finished.is_set()
    hub.throttle(None)
    assert job.finished.wait(60)
    assert job.progress().state == "done"


def test_a_killed_download_leaves_an_orphan_that_is_cleaned_and_a_restart_completes(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic, big_repo: bytes
) -> None:
    hub.throttle(RATE // 4)
    job = started(downloads, services, alice)
    wait_for(lambda: writing(job))
    assert job.pid is not None
    os.kill(job.pid, signal.SIGKILL)
    assert job.finished.wait(20)
    assert (job.progress().state, job.progress().message) == ("failed", STOPPED)
    assert partial_files(job.plan.folder) != []
    assert clean_orphans(services.settings.models_folder) >= 1
    assert partial_files(job.plan.folder) == []
    hub.throttle(None)
    retry = started(downloads, services, alice)
    assert retry is not job and retry.plan.to_download_bytes == BIG  # config.json finished and is skipped
    assert retry.finished.wait(60)
    assert retry.progress().state == "done"
    assert (retry.plan.folder / "model.safetensors").read_bytes() == big_repo


def test_two_users_asking_for_the_same_repo_share_one_job(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic, bob: UserPublic, big_repo: bytes
) -> None:
    hub.throttle(RATE // 4)
    first = started(downloads, services, alice)
    second = started(downloads, services, bob)
    assert second is first and first.user_ids == [alice.id, bob.id]
    assert downloads.jobs() == [first] and downloads.job(REPO) is first


def download_children() -> set[int]:
    """This process's download children that are still running (not yet reaped, not zombies)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"core.local.download_worker" in cmdline:
            found.add(int(stat.parent.name))
    return found


def test_a_prepared_process_takes_the_download_and_a_refused_plan_ends_it(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic, big_repo: bytes
) -> None:
    before = download_children()
    downloads.prepare()
    (prepared,) = download_children() - before
    downloads.prepare()  # one is enough
    assert download_children() - before == {prepared}
    job = started(downloads, services, alice)
    assert job.pid == prepared
    assert job.finished.wait(60) and job.progress().state == "done"

    services.credentials.save(alice.id, "huggingface", {"token": TOKEN})
    with pytest.raises(HubError):
        services.local.download(alice.id, "tiny/no-such-model")
    wait_for(lambda: download_children() == before)
    assert services.local.jobs(alice.id) == []


def test_a_dropped_connection_fails_with_a_worded_message(
    services: Services, hub: FakeHub, downloads: Downloads, alice: UserPublic
) -> None:
    hub.add_repo("tiny/cut-model", {"config.json": b"{}", "model.safetensors": os.urandom(300_000)})
    hub.cut_download(times=100)
    job = downloads.start(alice.id, plan(services, "tiny/cut-model"), TOKEN)
    assert job.finished.wait(60)
    assert (job.progress().state, job.progress().message) == (
        "failed",
        "The download from Hugging Face was cut off. Finished files are kept: start it again to fetch the rest.",
    )
    assert partial_files(job.plan.folder) == []


def test_delete_frees_the_disk(
    services: Services, downloads: Downloads, library: LocalLibrary, alice: UserPublic, big_repo: bytes
) -> None:
    job = started(downloads, services, alice)
    assert job.finished.wait(60) and job.progress().state == "done"
    assert library.disk_used() >= BIG
    library.add_user(alice.id, REPO)
    assert [r.repo_id for r in library.for_user(alice.id)] == [REPO]
    assert library.remove_user(alice.id, REPO) == 0
    library.delete(REPO)
    assert library.get(REPO) is None and library.list() == []
    assert not job.plan.folder.exists() and library.disk_used() == 0


def test_a_file_name_that_would_leave_the_models_folder_is_never_chosen() -> None:
    from core.local.files import choose_files

    listing = [("../evil-Q4_K_M.gguf", 10), ("/etc/x-Q4_K_M.gguf", 10), ("good-Q4_K_M.gguf", 10)]
    assert [name for name, _ in choose_files("a/b", listing).files] == ["good-Q4_K_M.gguf"]

"""Models → Local models: the user's downloaded models, downloads in progress (drawn from a fragment that
refreshes itself), and getting a model: a suggestion or any `owner/name`, checked with the user's own token and
planned (exact files and sizes) before anything is downloaded."""

from __future__ import annotations

import streamlit as st

from core.accounts.users import UserPublic
from core.errors import AppError
from core.local.curated import SuggestedModel
from core.local.plan import DownloadPlan
from core.providers.hub import HubError
from ui.chat.address import open_chat_with
from ui.format import size, when
from ui.models.table import plain
from ui.state import get_services, mark_catalog_stale

PLAN_KEY = "local_plan:{}"
PROGRESS_EVERY = 1.0  # seconds between redraws of a download's progress
PROFILE_KINDS = {"rejected_key", "gated_no_token"}


def local_models(user: UserPublic) -> None:
    """The whole Local models card."""
    services = get_services()
    local = services.local
    st.caption(
        "Models downloaded from Hugging Face run on this server: no provider key, and replies cost nothing. "
        f"{size(local.disk_used())} of disk in use for local models."
    )
    your_models(user)
    downloads(user)
    get_a_model(user)


def your_models(user: UserPublic) -> None:
    local = get_services().local
    records = local.mine(user.id)
    if not records:
        st.info("No local model yet: pick one below, check it and download it.")
        return
    for record in records:
        name, facts, chat, remove = st.columns([4, 4, 2, 2], vertical_alignment="center")
        name.markdown(f"**{plain(record.repo_id)}**")
        facts.caption(f"{record.runtime} · {size(record.size_bytes)} · downloaded {when(record.downloaded_at)}")
        if chat.button("Chat", key=f"local_chat:{record.repo_id}", icon=":material/chat:"):
            open_chat_with(f"local/{record.repo_id}")
        remove.button(
            "Remove",
            key=f"local_remove:{record.repo_id}",
            icon=":material/delete:",
            on_click=_remove,
            args=(user, record.repo_id),
            help="Take it off your list; the files are deleted once no one on this server uses it",
        )


def _remove(user: UserPublic, repo_id: str) -> None:
    get_services().local.remove(user.id, repo_id)
    mark_catalog_stale(user)
    st.toast(f"Removed {repo_id}.")


@st.fragment(run_every=PROGRESS_EVERY)
def downloads(user: UserPublic) -> None:
    """Every download of the user's, redrawn each second from the job's own record (it runs on the server, so
    it survives page switches, reruns and other users' sessions)."""
    local = get_services().local
    for job in local.jobs(user.id):
        progress = job.progress()
        if progress.state == "done":
            if st.session_state.pop(f"local_watching:{job.repo_id}", False):
                mark_catalog_stale(user)
                st.rerun(scope="app")  # the finished model joins the list above and Chat's picker
            continue
        st.session_state[f"local_watching:{job.repo_id}"] = True
        if progress.state in ("failed", "cancelled"):
            st.warning(f"{plain(job.repo_id)}: {progress.message}")
            continue
        fraction = progress.done_bytes / progress.total_bytes if progress.total_bytes else 0.0
        eta = f" · about {_duration(progress.eta_seconds)} left" if progress.eta_seconds is not None else ""
        label = (
            f"Downloading {plain(job.repo_id)}: {size(progress.done_bytes)} of {size(progress.total_bytes)}"
            f" · {size(progress.speed)}/s{eta}"
        )
        bar, cancel = st.columns([5, 1], vertical_alignment="bottom")
        bar.progress(min(1.0, fraction), text=label)
        if cancel.button("Cancel", key=f"local_cancel:{job.repo_id}", icon=":material/close:"):
            local.cancel(user.id, job.repo_id)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def get_a_model(user: UserPublic) -> None:
    st.markdown("**Get a model**")
    suggestions = get_services().local.suggestions()
    st.dataframe(
        [_suggestion_row(model) for model in suggestions], hide_index=True, width="stretch", key="local_suggested"
    )
    with st.form("local_check", border=False):
        options = [model.repo_id for model in suggestions]
        typed = st.session_state.get("local_repo")
        if typed and typed not in options:  # a typed ID stays on offer across reruns
            options.append(typed)
        choice = st.selectbox(
            "Model", options, key="local_repo", accept_new_options=True, help="A suggestion, or type any owner/name"
        )
        checked = st.form_submit_button("Check", key="local_check_button", icon=":material/fact_check:")
    if checked:
        _check(user, choice or "", None)
    plan: DownloadPlan | None = st.session_state.get(PLAN_KEY.format(user.id))
    if plan is not None:
        _show_plan(user, plan)


def _suggestion_row(model: SuggestedModel) -> dict[str, object]:
    return {
        "Model": model.repo_id,
        "Runs with": model.runtime,
        "Download": size(model.disk_bytes),
        "Memory": size(model.memory_bytes),
        "Gated": "yes" if model.gated else "",
        "Note": model.note,
    }


def _check(user: UserPublic, repo_id: str, quantization: str | None) -> None:
    key = PLAN_KEY.format(user.id)
    st.session_state.pop(key, None)
    try:
        with st.spinner("Asking Hugging Face which files this model needs…"):
            st.session_state[key] = get_services().local.plan(user.id, repo_id, quantization)
    except HubError as error:
        _explain(error, repo_id)
    except AppError as error:
        st.error(str(error))


def _explain(error: HubError, repo_id: str) -> None:
    st.error(str(error))
    if error.page_url:
        st.link_button(f"Open {plain(repo_id.strip())} on Hugging Face", error.page_url, icon=":material/open_in_new:")
    if error.kind.value in PROFILE_KINDS or "Profile" in str(error):
        st.page_link("pages/profile.py", label="Profile → Hugging Face", icon=":material/key:")


def _show_plan(user: UserPublic, plan: DownloadPlan) -> None:
    with st.container(border=True):
        gated = " It is gated, and your account has been granted access." if plan.gated else ""
        st.success(f"You may download [{plain(plan.repo_id)}]({plan.page_url}).{gated}")
        st.caption(
            f"Runs with {plan.runtime} · {len(plan.files)} files · {size(plan.total_bytes)} "
            f"({size(plan.to_download_bytes)} to download)"
        )
        st.table({"File": [name for name, _ in plan.files], "Size": [size(n) for _, n in plan.files]})
        if len(plan.quantizations) > 1:
            picked = st.selectbox(
                "Quantization",
                plan.quantizations,
                index=plan.quantizations.index(plan.quantization) if plan.quantization in plan.quantizations else 0,
                key=f"local_quant:{plan.repo_id}",
                help="Smaller is faster and lighter; Q4_K_M is the usual balance",
            )
            if picked != plan.quantization:
                _check(user, plan.repo_id, picked)
                st.rerun()
        if st.button(f"Download {size(plan.to_download_bytes)}", key="local_download", type="primary"):
            _start(user, plan)


def _start(user: UserPublic, plan: DownloadPlan) -> None:
    try:
        get_services().local.download(user.id, plan.repo_id, plan.quantization)
    except HubError as error:
        _explain(error, plan.repo_id)
        return
    except AppError as error:
        st.error(str(error))
        return
    st.session_state.pop(PLAN_KEY.format(user.id), None)
    st.rerun()

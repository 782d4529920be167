"""What a provider card says about its saved key: the title's verdict, and the one line on its health and use."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.credentials.key_test import RESULT_LABELS, KeyTestResult
from core.credentials.store import CredentialPublic, KeyStatus
from core.providers.registry import ProviderSpec
from ui.format import when, when_exact

RESULT_COLORS = {
    KeyTestResult.VALID: "green",
    KeyTestResult.NO_ACCESS: "orange",
    KeyTestResult.UNREACHABLE: "orange",
    KeyTestResult.REJECTED: "red",
    KeyTestResult.REJECTED_AT_CHAT: "red",
}


def card_title(spec: ProviderSpec, credential: CredentialPublic | None) -> str:
    """The card's state at a glance, also when it is closed: not set, or the key's verdict and its last four."""
    if credential is None:
        return f"{spec.label} · not set"
    if not credential.readable:
        return f"{spec.label} · :orange[needs re-entry]"
    status = credential.status
    if status is None or status.test_result not in RESULT_LABELS:
        return f"{spec.label} · :green[saved] {credential.masked}"
    result = KeyTestResult(status.test_result)
    return f"{spec.label} · :{RESULT_COLORS[result]}[{RESULT_LABELS[result]}] {credential.masked}"


def verdict_sentence(status: KeyStatus | None) -> str:
    """What the last test (or a chat the provider refused the key for) found, and when."""
    if status is None or status.tested_at is None:
        return "Not tested yet."
    said = f"{'Refused for a chat' if status.rejected_at_chat else 'Tested'} {when(status.tested_at)}"
    return f"{said}: {status.test_detail}" if status.test_detail else f"{said}."


def chat_sentence(status: KeyStatus | None) -> str:
    if status is not None and status.error and status.error_at:
        return f"The last chat, {when(status.error_at)}, failed: {status.error}"
    if status is not None and status.used_at:
        return f"Last used for a chat {when(status.used_at)}."
    return "Not used for a chat yet."


def exact_times(spec: ProviderSpec, credential: CredentialPublic) -> str:
    """Every time the status line gives, in full, for its tooltip."""
    status = credential.status or KeyStatus()
    times: list[tuple[str, datetime | None]] = [("Saved", credential.updated_at)]
    times.append(("Refused for a chat" if status.rejected_at_chat else "Tested", status.tested_at))
    if spec.chat_capable and not status.rejected_at_chat:  # as the line: a refusal is said once
        times += [("Last used for a chat", status.used_at), ("Last chat error", status.error_at)]
    return "  \n".join(f"{label}: {when_exact(moment)}" for label, moment in times if moment is not None)


def status_line(spec: ProviderSpec, credential: CredentialPublic) -> None:
    """The card's one line of news: the key's verdict and when, and (chat providers) its last use in a chat."""
    sentences = [verdict_sentence(credential.status)]
    if spec.chat_capable and not (credential.status and credential.status.rejected_at_chat):
        sentences.append(chat_sentence(credential.status))  # a refusal is the verdict already: said once
    st.markdown(" ".join(sentences), help=exact_times(spec, credential))
    if credential.details:
        st.caption(" · ".join(f"{label}: `{value}`" for label, value in credential.details.items()))

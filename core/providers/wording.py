"""How each kind of provider failure is told: `MESSAGES`, one wording per kind, with the variants a call needs.
core/providers/failures.py picks the variant and fills it in; no other module words a provider's failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from core.errors import ProviderErrorKind

Kind = ProviderErrorKind


@dataclass(frozen=True)
class Wording:
    """How one kind of failure is told: `text`, or the first variant (in field order) that the call needs."""

    text: str
    tested: str | None = None  # a key being tested (on save or Test again), not the saved one a chat uses
    deployment: str | None = None  # the model asked for is one of the user's deployments (`spec.deployments`)
    listing: str | None = None  # the call asked for the provider's model list, not for one model
    partial: str | None = None  # a chat reply of which some text arrived (it is kept)
    chat: str | None = None  # a chat reply: the chat's settings can be changed
    hub: str | None = None  # a Hub download, or the check and listing made before it
    team: str | None = None  # a team server the admin runs (`spec.team_server`): the admin fixes it, not the user


# {label} the provider, {noun} "key" or "token", {model} what was asked for, {status} " (HTTP 403)" when there was
# one, {wait} how long the provider asked to wait, {where} the Profile card, {address} who can fix an address.
MESSAGES: Final[Mapping[Kind, Wording]] = {
    Kind.REJECTED_KEY: Wording(
        "{label} rejected the saved {noun}. Update it in {where}.",
        tested="{label} rejected this {noun}: it is wrong or was revoked.",
        hub="{label} rejected your saved {noun}: it is invalid or has expired. Save a new Read {noun} in {where}.",
        team="{label}, your team's server, refused this app's key for it. Ask your admin to check the server's key.",
    ),
    Kind.NO_ACCESS: Wording(
        "{label} accepted the {noun} but refused access to {model}{status}: check its permissions, billing or credit.",
        listing="{label} accepted the {noun} but refused access{status}: check its permissions, billing or credit.",
        team="{label}, your team's server, refused access to {model}{status}. Ask your admin.",
    ),
    Kind.GATED: Wording(  # the user guide's words, word for word
        "This model is gated on Hugging Face. Please request access and accept the license terms on the model "
        "page, then try again."
    ),
    Kind.NOT_FOUND: Wording(
        "{label} does not offer the model {model} to your {noun}. Check the ID, or pick another model.",
        deployment=(
            "There is no deployment named {model} at your Azure endpoint. "
            "Check the deployment name in the Azure portal."
        ),
        listing="{label} has nothing at this address{status}. {address}",
        hub="There is no model {model} on {label}, or it is private to other accounts. Check the ID.",
        team="{label}, your team's server, does not serve {model}. Pick another model, or ask your admin.",
    ),
    Kind.RATE_LIMITED: Wording(
        "{label} is rate limiting your {noun}; {wait} and try again. "
        "If it persists, check your plan's quota and credit.",
        team="{label}, your team's server, is busy; {wait} and try again.",
    ),
    Kind.PROVIDER_DOWN: Wording(
        "{label} is having problems{status}. Try again in a moment.",
        team="{label}, your team's server, is having problems{status}. Try again in a moment; if it persists, ask "
        "your admin.",
    ),
    Kind.REDIRECTED: Wording("{label} answered with a redirect{status}, which the app does not follow. {address}"),
    Kind.TIMEOUT: Wording(
        "{label} did not answer in time. Try again in a moment.",
        team="{label}, your team's server, did not answer in time. Try again in a moment; if it persists, ask your "
        "admin.",
    ),
    Kind.UNREACHABLE: Wording(
        "Could not reach {label}. Check the server's network connection, then try again.",
        team="Could not reach {label}, your team's server: it may be down. Ask your admin.",
    ),
    Kind.BAD_REQUEST: Wording(
        "{label} refused the request for {model}{status}. Check the ID, and that it is a chat model.",
        listing="{label} refused the request for its model list{status}.",
        chat=(
            "{label} refused the request for {model}{status}. Check the model ID and this chat's max output tokens, "
            "or shorten the conversation."
        ),
    ),
    Kind.INTERRUPTED: Wording(
        "The answer from {label} was cut off. Try again in a moment.",
        partial="The reply from {label} was cut off. What arrived is kept; regenerate or send your message again.",
        hub="The download from {label} was cut off. Finished files are kept: start it again to fetch the rest.",
    ),
}

"""Deployment names a user adds for a provider whose model IDs are their own deployments (Azure OpenAI).

Each name is tried with a one-token call before it is kept, so the list only holds deployments that answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from core.config import Settings
from core.credentials.store import CredentialStore
from core.db.engine import session
from core.db.tables import Credential, Deployment
from core.errors import AppError, InvalidInput, MissingCredential, ProviderError, ProviderErrorKind
from core.models.registry_file import DEPLOYMENT_NAME
from core.models.target import ModelTarget
from core.providers.client import ChatRequest, complete
from core.providers.failures import PROBE, classify_exception, explain
from core.providers.registry import ProviderSpec, get_provider

MAX_DEPLOYMENTS = 100
PROBE_MESSAGES = ({"role": "user", "content": "Hi"},)
NAME_RULE = (
    "Deployment names are 2–64 characters: letters, digits, '-', '_' or '.', starting with a letter or digit "
    "(no '..', no dot at the end)."
)


@dataclass(frozen=True)
class DeploymentPublic:
    name: str
    added_at: datetime


@dataclass(frozen=True)
class DeploymentAdded:
    """A deployment that answered the test call; `note` says anything the user should know about it."""

    deployment: DeploymentPublic
    note: str = ""


def clean_deployment_name(raw: str | None) -> str:
    """The trimmed name; InvalidInput (at the `deployment` field) when it cannot be an Azure deployment."""
    name = (raw or "").strip()
    if not name:
        raise InvalidInput("Type the deployment name, as shown in the Azure portal.", "deployment")
    if not DEPLOYMENT_NAME.match(name):
        raise InvalidInput(f"{NAME_RULE} Check the name in the Azure portal.", "deployment")
    return name


class DeploymentStore:
    """Every method takes the signed-in user's id and touches only the deployments of that user's credential."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def _credential_id(db: Session, user_id: int, provider_id: str) -> int | None:
        return db.exec(
            select(col(Credential.id)).where(
                col(Credential.user_id) == user_id, col(Credential.provider) == provider_id
            )
        ).first()

    def list(self, user_id: int, provider_id: str) -> tuple[DeploymentPublic, ...]:
        """The user's deployments for the provider, in the order they were added."""
        with session(self._engine) as db:
            rows = db.exec(
                select(Deployment)
                .join(Credential, col(Credential.id) == col(Deployment.credential_id))
                .where(col(Credential.user_id) == user_id, col(Credential.provider) == provider_id)
                .order_by(col(Deployment.id))
            ).all()
        return tuple(DeploymentPublic(row.name, row.added_at) for row in rows)

    def add(self, user_id: int, provider_id: str, name: str) -> DeploymentPublic:
        """Keep a (clean) name; MissingCredential without a saved credential, InvalidInput for a duplicate."""
        name = clean_deployment_name(name)
        with session(self._engine) as db:
            credential_id = self._credential_id(db, user_id, provider_id)
            if credential_id is None:
                raise MissingCredential(get_provider(provider_id).label)
            names = db.exec(select(col(Deployment.name)).where(col(Deployment.credential_id) == credential_id)).all()
            if name in names:
                raise InvalidInput(f"{name} is already in your list.", "deployment")
            if len(names) >= MAX_DEPLOYMENTS:
                raise InvalidInput(f"You can list up to {MAX_DEPLOYMENTS} deployments.", "deployment")
            row = Deployment(credential_id=credential_id, name=name)
            db.add(row)
            db.commit()
            return DeploymentPublic(row.name, row.added_at)

    def remove(self, user_id: int, provider_id: str, name: str) -> bool:
        """Drop one name from the user's list; True when it was there."""
        with session(self._engine) as db:
            credential_id = self._credential_id(db, user_id, provider_id)
            if credential_id is None:
                return False
            result = db.exec(
                delete(Deployment).where(col(Deployment.credential_id) == credential_id, col(Deployment.name) == name)
            )
            db.commit()
            return bool(result.rowcount)


def probe_deployment(spec: ProviderSpec, values: Mapping[str, str], settings: Settings, name: str) -> None:
    """Ask the deployment for one token with the user's credential; ProviderError when it does not answer."""
    request = ChatRequest(model=ModelTarget(spec, name).litellm_model, messages=PROBE_MESSAGES, max_tokens=1)
    try:
        complete(spec, values, settings, request)
    except AppError:  # refused before any call (an endpoint no longer allowed)
        raise
    except Exception as error:  # every provider failure becomes a ProviderError the page can show
        raise explain(classify_exception(error), spec, PROBE, name) from None


class Deployments:
    """The deployment names each user keeps for a deployments provider; a name is tried with one token first."""

    def __init__(self, store: DeploymentStore, credentials: CredentialStore, settings: Settings) -> None:
        self._store = store
        self._credentials = credentials
        self._settings = settings

    def list(self, user_id: int, provider_id: str) -> tuple[DeploymentPublic, ...]:
        """The user's deployments for the provider, in the order they were added."""
        return self._store.list(user_id, provider_id)

    def add(self, user_id: int, provider_id: str, raw_name: str | None) -> DeploymentAdded:
        """Validate, test with one token, then keep a deployment name.

        A deployment that is only rate limiting is kept (it exists); any other refusal raises ProviderError and
        keeps nothing: a 404 says there is no such deployment at the saved endpoint.
        """
        spec = get_provider(provider_id)
        name = clean_deployment_name(raw_name)
        if name in {d.name for d in self._store.list(user_id, provider_id)}:
            raise InvalidInput(f"{name} is already in your list.", "deployment")
        note = ""
        try:
            probe_deployment(spec, self._credentials.secrets(user_id, provider_id), self._settings, name)
        except ProviderError as error:
            if error.kind is not ProviderErrorKind.RATE_LIMITED:
                raise
            note = f"{spec.label} is rate limiting this deployment right now, but it exists."
        return DeploymentAdded(self._store.add(user_id, provider_id, name), note)

    def remove(self, user_id: int, provider_id: str, name: str) -> bool:
        """Drop one name from the user's list; True when it was there."""
        return self._store.remove(user_id, provider_id, name)

"""The admin's models registry: a TOML file adding model IDs per provider, for everyone holding that provider's key,
and the team's servers (OpenAI-compatible: vLLM, Ollama, llama.cpp's server, TGI), for everyone, with no key.

    [openai]
    models = ["gpt-4.1", { id = "o4-mini", label = "o4 mini" }]

    [servers.gpu-box]
    label = "GPU box (vLLM)"
    base_url = "http://10.0.0.5:8000/v1"
    api_key_env = "GPU_BOX_KEY"    # optional: the variable that holds the server's key (never the key itself)
    models = ["meta-llama/Llama-3.1-8B-Instruct"]    # or models = "list": what the server lists

A file that cannot be read or parsed is ignored as a whole, an entry that is wrong on its own is skipped; each is
logged as a warning saying what to fix, and neither ever stops a page. The file is read again when it changes.
"""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import Settings, server_key
from core.errors import InvalidEndpoint
from core.providers.endpoints import validate_base_url
from core.providers.registry import SERVER_NAMESPACE, ProviderSpec, chat_providers, server_key_variables

log = logging.getLogger(__name__)

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
# Azure deployment names: 2-64 letters, digits, '-', '_', '.', starting with a letter or digit, never `..` or a
# trailing dot (the name becomes part of the request's URL path).
DEPLOYMENT_NAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,62}[A-Za-z0-9_-]$")
MAX_LABEL_CHARS = 100
MAX_FILE_BYTES = 1_000_000
SERVERS = "servers"
SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?$")
KEY_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
# A served model's ID: Hugging Face's `owner/name` (vLLM, TGI), Ollama's `llama3.1:8b`, an alias; parts joined by
# single slashes, 256 characters at most, never `..`.
SERVER_MODEL_ID = r"^(?!.*\.\.)(?=.{1,256}$)[A-Za-z0-9][A-Za-z0-9._:@-]*(?:/[A-Za-z0-9][A-Za-z0-9._:@-]*)*$"
LIST_THEM = "list"
SERVER_KEYS = frozenset({"label", "base_url", "api_key_env", "models"})


@dataclass(frozen=True)
class RegistryModel:
    id: str
    label: str = ""


Registry = Mapping[str, tuple[RegistryModel, ...]]


@dataclass(frozen=True)
class TeamServer:
    """A server the admin registered: its provider entry (`server/<name>`) and the models configured for it (none
    when its own listing is the list: `spec.listing_adds`)."""

    spec: ProviderSpec
    models: tuple[RegistryModel, ...]


@dataclass(frozen=True)
class RegistryFile:
    models: Registry
    servers: tuple[TeamServer, ...] = ()


EMPTY = RegistryFile({})
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], RegistryFile]] = {}


def valid_model_id(spec: ProviderSpec, model_id: str) -> bool:
    """A model ID the provider can be called with; for a deployments provider, an Azure deployment name."""
    if spec.model_id_pattern:
        return bool(re.match(spec.model_id_pattern, model_id))
    return bool((DEPLOYMENT_NAME if spec.deployments else MODEL_ID).match(model_id))


def _id_rule(spec: ProviderSpec) -> str:
    if spec.deployments:
        return "2-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
    if spec.model_id_pattern:
        return "letters, digits and ._:@- in parts joined by single slashes"
    return "letters, digits and ._:@- only"


def _entry(spec: ProviderSpec, item: Any, where: str) -> RegistryModel | None:
    if isinstance(item, str):
        item = {"id": item}
    if not isinstance(item, dict):
        log.warning("%s: ignored, an entry is a model ID string or a table { id = ..., label = ... }", where)
        return None
    unknown = sorted(set(item) - {"id", "label"})
    if unknown:
        log.warning("%s: ignored the unknown key(s) %s (only id and label are read)", where, ", ".join(unknown))
    model_id, label = item.get("id"), item.get("label", "")
    if not isinstance(model_id, str) or not valid_model_id(spec, model_id.strip()):
        log.warning("%s: ignored, %r is not a valid %s model ID (%s)", where, model_id, spec.label, _id_rule(spec))
        return None
    if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS or not label.isprintable():
        log.warning("%s: the label of %s is not a short single-line string; the ID is shown instead", where, model_id)
        label = ""
    return RegistryModel(model_id.strip(), label.strip())


def _models(spec: ProviderSpec, items: list[Any], where: str) -> tuple[RegistryModel, ...]:
    """A section's valid models, each once, in the file's order."""
    entries: dict[str, RegistryModel] = {}
    for number, item in enumerate(items, start=1):
        entry = _entry(spec, item, f"{where} models[{number}]")
        if entry is not None and entry.id in entries:
            log.warning("%s models[%d]: ignored, %s is listed twice", where, number, entry.id)
        elif entry is not None:
            entries[entry.id] = entry
    return tuple(entries.values())


def parse_registry(data: Mapping[str, Any], source: str) -> dict[str, tuple[RegistryModel, ...]]:
    """Validated entries per provider id; every refused part is logged as a warning and skipped."""
    providers = {spec.id: spec for spec in chat_providers()}
    registry: dict[str, tuple[RegistryModel, ...]] = {}
    for provider_id, section in data.items():
        if provider_id == SERVERS:
            continue  # see parse_servers
        spec = providers.get(provider_id)
        if spec is None:
            log.warning(
                "%s: ignored [%s], not a chat provider (use one of %s)", source, provider_id, ", ".join(providers)
            )
            continue
        where = f"{source} [{provider_id}]"
        if not isinstance(section, dict) or not isinstance(section.get("models"), list):
            log.warning('%s: ignored, expected a list: models = ["model-id", ...]', where)
            continue
        if unknown := sorted(set(section) - {"models"}):
            log.warning("%s: ignored the unknown key(s) %s", where, ", ".join(unknown))
        registry[provider_id] = _models(spec, section["models"], where)
    return registry


def _server_spec(name: str, section: Mapping[str, Any], where: str) -> ProviderSpec | None:
    """The provider entry of one `[servers.<name>]` section; None (with a warning saying what to fix) if it is wrong."""
    label, key_variable, models = section.get("label", name), section.get("api_key_env"), section.get("models")
    try:
        base_url = validate_base_url(section["base_url"]) if isinstance(section.get("base_url"), str) else None
    except InvalidEndpoint as error:
        log.warning('%s: ignored, %s (e.g. base_url = "http://10.0.0.5:8000/v1")', where, error)
        return None
    problem = None
    if base_url is None:
        problem = 'base_url is missing: the server\'s OpenAI-compatible root, e.g. "http://10.0.0.5:8000/v1"'
    elif not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_CHARS or not label.isprintable():
        problem = f"label must be a short single-line string (at most {MAX_LABEL_CHARS} characters)"
    elif key_variable is not None and (not isinstance(key_variable, str) or not KEY_VARIABLE.match(key_variable)):
        problem = "api_key_env must name an environment variable (capital letters, digits, _), e.g. GPU_BOX_KEY"
    elif key_variable in server_key_variables() or str(key_variable).startswith("APP_"):
        problem = (
            f"api_key_env = {key_variable} names a provider key or one of the app's own settings, which a server "
            "never gets: name a variable of its own, e.g. GPU_BOX_KEY"
        )
    elif models != LIST_THEM and not isinstance(models, list):
        problem = 'models must be a list of model IDs, or "list" to show what the server lists'
    if problem is not None:
        log.warning("%s: ignored, %s", where, problem)
        return None
    if key_variable is not None and server_key(key_variable) is None:
        log.warning(
            "%s: %s is not set in the server's environment; the server is called without a key", where, key_variable
        )
    assert base_url is not None
    return ProviderSpec(
        id=f"{SERVER_NAMESPACE}/{name}",
        label=label.strip(),
        create_url="",
        create_label="",
        steps=(),
        fields=(),
        litellm_prefix="openai",  # litellm's OpenAI-compatible provider, with the server's api_base on every call
        api_base=base_url,
        listing="openai",
        model_id_pattern=SERVER_MODEL_ID,
        team_server=True,
        key_variable=key_variable,
        listing_adds=models == LIST_THEM,
        litellm_model_map=False,
        openai_stream=True,  # OpenAI's protocol, so its stream too
    )


def parse_servers(data: Any, source: str) -> tuple[TeamServer, ...]:
    """The valid `[servers.<name>]` sections; every refused part is logged as a warning and skipped."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        log.warning("%s: ignored servers, expected sections like [servers.gpu-box]", source)
        return ()
    servers = []
    for name, section in data.items():
        where = f"{source} [servers.{name}]"
        if not SERVER_NAME.match(name):
            log.warning("%s: ignored, a server's name is 1-32 lower-case letters, digits, '-' or '_'", where)
            continue
        if not isinstance(section, dict):
            log.warning("%s: ignored, expected a section with base_url and models", where)
            continue
        if unknown := sorted(set(section) - SERVER_KEYS):
            log.warning("%s: ignored the unknown key(s) %s", where, ", ".join(unknown))
        spec = _server_spec(name, section, where)
        if spec is not None:
            items = section["models"] if isinstance(section["models"], list) else []
            servers.append(TeamServer(spec, _models(spec, items, where)))
    return tuple(servers)


def _parse(data: Mapping[str, Any], source: str) -> RegistryFile:
    return RegistryFile(parse_registry(data, source), parse_servers(data.get(SERVERS), source))


def _read(path: Path) -> RegistryFile:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        log.warning("Ignoring the models registry %s: it cannot be read (%s)", path, error.strerror or error)
        return EMPTY
    if len(raw) > MAX_FILE_BYTES:
        log.warning("Ignoring the models registry %s: it is larger than %d bytes", path, MAX_FILE_BYTES)
        return EMPTY
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.warning("Ignoring the models registry %s: it is not valid TOML (%s)", path, error)
        return EMPTY
    return _parse(data, str(path))


def load_registry(settings: Settings) -> Registry:
    """The models the registry adds per provider (see `load_file`)."""
    return load_file(settings).models


def load_servers(settings: Settings) -> tuple[TeamServer, ...]:
    """The team's servers the registry names (see `load_file`)."""
    return load_file(settings).servers


def load_file(settings: Settings) -> RegistryFile:
    """The registry in effect: parsed once per version of the file (it holds public model IDs, server addresses and
    the names of key variables only: never a key)."""
    path = settings.models_registry
    try:
        stat = path.stat()
    except FileNotFoundError:
        if settings.models_file is not None:
            log.warning("The models registry %s (APP_MODELS_FILE) does not exist; no models are added", path)
        return EMPTY
    except OSError as error:
        log.warning("Ignoring the models registry %s: %s", path, error.strerror or error)
        return EMPTY
    version = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != version:
            cached = _cache[path] = (version, _read(path))
    return cached[1]

"""The admin's models registry: a TOML file adding model IDs per provider, for everyone holding that provider's key.

    [openai]
    models = ["gpt-4.1", { id = "o4-mini", label = "o4 mini" }]

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

from core.config import Settings
from core.providers.registry import ProviderSpec, chat_providers

log = logging.getLogger(__name__)

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")
# Azure deployment names: 2-64 letters, digits, '-', '_', '.', starting with a letter or digit, never `..` or a
# trailing dot (the name becomes part of the request's URL path).
DEPLOYMENT_NAME = re.compile(r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{0,62}[A-Za-z0-9_-]$")
MAX_LABEL_CHARS = 100
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class RegistryModel:
    id: str
    label: str = ""


Registry = Mapping[str, tuple[RegistryModel, ...]]

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Registry]] = {}


def valid_model_id(spec: ProviderSpec, model_id: str) -> bool:
    """A model ID the provider can be called with; for a deployments provider, an Azure deployment name."""
    return bool((DEPLOYMENT_NAME if spec.deployments else MODEL_ID).match(model_id))


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
        rule = "letters, digits and ._:@- only"
        if spec.deployments:
            rule = "2-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        log.warning("%s: ignored, %r is not a valid %s model ID (%s)", where, model_id, spec.label, rule)
        return None
    if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS or not label.isprintable():
        log.warning("%s: the label of %s is not a short single-line string; the ID is shown instead", where, model_id)
        label = ""
    return RegistryModel(model_id.strip(), label.strip())


def parse_registry(data: Mapping[str, Any], source: str) -> dict[str, tuple[RegistryModel, ...]]:
    """Validated entries per provider id; every refused part is logged as a warning and skipped."""
    providers = {spec.id: spec for spec in chat_providers()}
    registry: dict[str, tuple[RegistryModel, ...]] = {}
    for provider_id, section in data.items():
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
        entries: dict[str, RegistryModel] = {}
        for number, item in enumerate(section["models"], start=1):
            entry = _entry(spec, item, f"{where} models[{number}]")
            if entry is not None and entry.id in entries:
                log.warning("%s models[%d]: ignored, %s is listed twice", where, number, entry.id)
            elif entry is not None:
                entries[entry.id] = entry
        registry[provider_id] = tuple(entries.values())
    return registry


def _read(path: Path) -> Registry:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        log.warning("Ignoring the models registry %s: it cannot be read (%s)", path, error.strerror or error)
        return {}
    if len(raw) > MAX_FILE_BYTES:
        log.warning("Ignoring the models registry %s: it is larger than %d bytes", path, MAX_FILE_BYTES)
        return {}
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.warning("Ignoring the models registry %s: it is not valid TOML (%s)", path, error)
        return {}
    return parse_registry(data, str(path))


def load_registry(settings: Settings) -> Registry:
    """The registry in effect: parsed once per version of the file (it holds public model IDs only)."""
    path = settings.models_registry
    try:
        stat = path.stat()
    except FileNotFoundError:
        if settings.models_file is not None:
            log.warning("The models registry %s (APP_MODELS_FILE) does not exist; no models are added", path)
        return {}
    except OSError as error:
        log.warning("Ignoring the models registry %s: %s", path, error.strerror or error)
        return {}
    version = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != version:
            cached = _cache[path] = (version, _read(path))
    return cached[1]

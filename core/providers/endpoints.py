"""Which endpoint URLs a user may save for Azure OpenAI (Azure's own hosts, or origins the admin allowed), and
which base URLs the admin may give a team server (any host: private and loopback ones are the point)."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from core.errors import InvalidEndpoint

# One DNS label (at most 63 characters, not an IDNA `xn--` form) under one of Azure OpenAI's two domains.
AZURE_HOST = re.compile(
    r"^(?!xn--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.(?:openai\.azure\.com|cognitiveservices\.azure\.com)$"
)
MAX_CHARS = 2048
HINT = "Use your resource's endpoint, like https://my-resource.openai.azure.com"


def origin_of(parts: SplitResult) -> str:
    """`scheme://host[:port]` of a parsed URL, lower-cased, default ports dropped."""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def normalize_origin(text: str) -> str:
    return origin_of(urlsplit(text.strip().lower()))


def validate_endpoint(value: str, allowed_origins: tuple[str, ...] = (), field: str = "endpoint") -> str:
    """The endpoint as `scheme://host[:port]`, or InvalidEndpoint saying why it was refused."""
    text = value.strip()
    if len(text) > MAX_CHARS:
        raise InvalidEndpoint(f"The endpoint URL is too long. {HINT}", field)
    # urlsplit silently drops tabs and line breaks, and str.lower() turns some non-ASCII letters into ASCII ones.
    if not text.isascii() or not text.isprintable() or " " in text:
        raise InvalidEndpoint(f"The endpoint must be one line of plain ASCII characters, without spaces. {HINT}", field)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise InvalidEndpoint(f"The endpoint URL is malformed. {HINT}", field) from None
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise InvalidEndpoint(f"The endpoint must be a full https:// URL. {HINT}", field)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidEndpoint(f"The endpoint must not contain a user name or password. {HINT}", field)
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise InvalidEndpoint(f"The endpoint must not have a query (?…) or fragment (#…). {HINT}", field)
    if parts.path not in {"", "/"}:
        raise InvalidEndpoint(f"The endpoint must be the resource's address only, without a path. {HINT}", field)
    origin = origin_of(parts)
    if origin in {normalize_origin(allowed) for allowed in allowed_origins}:
        return origin
    if parts.scheme != "https":
        raise InvalidEndpoint(f"The endpoint must use https://. {HINT}", field)
    if parts.port not in {None, 443}:
        raise InvalidEndpoint(f"The endpoint must use the standard https port. {HINT}", field)
    host = parts.hostname or ""
    if not AZURE_HOST.match(host):
        raise InvalidEndpoint(
            "Only Azure OpenAI endpoints (*.openai.azure.com or *.cognitiveservices.azure.com) are allowed. "
            "An administrator can allow a private gateway with APP_ALLOW_ENDPOINTS.",
            field,
        )
    return origin


def validate_base_url(value: str) -> str:
    """A team server's base URL as the admin wrote it (`http(s)://host[:port][/path]`, no trailing slash), or
    InvalidEndpoint saying what to fix. Any host is allowed: only the admin's file ever names one."""
    text = value.strip()
    if len(text) > MAX_CHARS or not text.isascii() or not text.isprintable() or " " in text:
        raise InvalidEndpoint("a base URL is one line of plain ASCII characters, without spaces", "base_url")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        raise InvalidEndpoint("the base URL is malformed", "base_url") from None
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise InvalidEndpoint("the base URL must start with http:// or https:// and name a host", "base_url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidEndpoint("the base URL must not hold a user name or password (use api_key_env)", "base_url")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise InvalidEndpoint("the base URL must not have a query (?…) or fragment (#…)", "base_url")
    return origin_of(parts) + parts.path.rstrip("/")

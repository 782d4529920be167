"""Azure endpoints: Azure's own hosts over https, or an origin the admin listed; nothing else."""

from __future__ import annotations

import pytest

from core.endpoints import validate_endpoint
from core.errors import InvalidEndpoint

ALLOWED = ("http://127.0.0.1:8099",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://my-resource.openai.azure.com", "https://my-resource.openai.azure.com"),
        ("https://my-resource.openai.azure.com/", "https://my-resource.openai.azure.com"),
        ("  https://My-Resource.OpenAI.Azure.com  ", "https://my-resource.openai.azure.com"),
        ("https://my-resource.openai.azure.com:443", "https://my-resource.openai.azure.com"),
        ("https://eastus-ai.cognitiveservices.azure.com", "https://eastus-ai.cognitiveservices.azure.com"),
        ("http://127.0.0.1:8099", "http://127.0.0.1:8099"),
    ],
)
def test_accepted(url: str, expected: str) -> None:
    assert validate_endpoint(url, ALLOWED) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://my-resource.openai.azure.com",
        "ftp://my-resource.openai.azure.com",
        "my-resource.openai.azure.com",
        "https://user:pw@my-resource.openai.azure.com",
        "https://my-resource.openai.azure.com@evil.example",
        "https://evil.example#@my-resource.openai.azure.com",
        "https://my-resource.openai.azure.com.evil.example",
        "https://my-resource.openai.azure.com.",
        "https://openai.azure.com",
        "https://my-resource.openai-azure.com",
        "https://my-resource.openai.azure.co",
        "https://my-resource.openai.azure.com:8443",
        "https://my-resource.openai.azure.com?api-version=1",
        "https://my-resource.openai.azure.com/#x",
        "https://my-resource.openai.azure.com/openai/deployments",
        "https://my-rеsource.openai.azure.com",  # Cyrillic "е"
        "https://127.0.0.1",
        "https://[::1]",
        "https://169.254.169.254",
        "https://10.0.0.1",
        "https://localhost",
        "http://127.0.0.1:8098",
        "https://my-resource.openai.azure.com:notaport",
        "",
    ],
)
def test_refused(url: str) -> None:
    with pytest.raises(InvalidEndpoint):
        validate_endpoint(url, ALLOWED)

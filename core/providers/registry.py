"""The provider registry: each provider is data, read by the store, the catalog and chat alike."""

from __future__ import annotations

from dataclasses import dataclass

AZURE_DEFAULT_API_VERSION = "2024-10-21"
# The namespace of the team servers the admin registers (core/models/servers.py): `server/<name>` is a server's
# provider id, so its models are referenced as `server/<name>/<model-id>` and no name can shadow a provider's.
SERVER_NAMESPACE = "server"


@dataclass(frozen=True)
class CredentialField:
    """One input of a provider card; `litellm_arg` names the call argument it feeds."""

    name: str
    label: str
    secret: bool
    litellm_arg: str | None = None
    default: str = ""
    placeholder: str = ""
    help: str = ""
    is_endpoint: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """A model as the user sees it; `wire_id` is what the provider wants when it differs."""

    id: str
    label: str
    wire_id: str | None = None

    @property
    def api_id(self) -> str:
        return self.wire_id or self.id


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the app knows about one provider.

    `api_base` is the provider's own API root, which the deployment may replace with `base_url_variable` (users
    never can); `server_key_variables` are the environment variables the provider's SDK would read a key from
    (removed at start: users bring their own); `key_shape` is a regex matching its keys, masked in every log line;
    `listing` names the dialect of its list-models endpoint (see core.providers.listing), None when it has none;
    `deployments` marks a provider whose model IDs are the user's own deployment names (Azure), which the user adds
    on Profile. A provider with no `fields` needs no credential: the catalog and chat never look one up for it.
    `runs_here` marks the models downloaded to and run on this server (core/local): the catalog lists what the user
    may use of them, and a reply costs nothing; `model_id_pattern` replaces the usual model-ID rule (a local
    model's ID is its Hugging Face `owner/name`).

    `team_server` marks an OpenAI-compatible server the admin registered for everyone (core/models/servers.py
    builds its entry from the registry file): its address and its key (`key_variable`, the environment variable
    the admin named, read at each call and never stored) are the admin's, so a failure says to ask them;
    `listing_adds` False means a listing only checks the models configured for it and adds none;
    `litellm_model_map` False means litellm's map cannot describe its models (a team's server may serve a model
    named like OpenAI's that is not OpenAI's): no price, context window or kind is taken from it.

    `openai_stream` marks a provider whose replies stream as OpenAI's chat-completion SSE: once litellm has made the
    call, the app reads the stream itself (core/providers/sse.py), for a fraction of litellm's CPU per token.
    """

    id: str
    label: str
    create_url: str
    create_label: str
    steps: tuple[str, ...]
    fields: tuple[CredentialField, ...]
    default_models: tuple[ModelSpec, ...] = ()
    litellm_prefix: str | None = None
    model_hub: bool = False
    note: str = ""
    api_base: str = ""
    listing: str | None = None
    deployments: bool = False
    base_url_variable: str | None = None
    server_key_variables: tuple[str, ...] = ()
    key_shape: str | None = None
    runs_here: bool = False
    model_id_pattern: str | None = None
    team_server: bool = False
    key_variable: str | None = None
    listing_adds: bool = True
    litellm_model_map: bool = True
    openai_stream: bool = False

    @property
    def chat_capable(self) -> bool:
        return self.litellm_prefix is not None

    @property
    def needs_credential(self) -> bool:
        return bool(self.fields)

    @property
    def mask_field(self) -> CredentialField:
        """The field whose last characters identify a saved credential."""
        return next(f for f in self.fields if f.secret)

    def model(self, model_id: str) -> ModelSpec | None:
        return next((m for m in self.default_models if m.id == model_id), None)


def _key_field(label: str = "API key", placeholder: str = "") -> CredentialField:
    return CredentialField("api_key", label, secret=True, litellm_arg="api_key", placeholder=placeholder)


PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        id="openai",
        label="OpenAI",
        create_url="https://platform.openai.com/api-keys",
        create_label="Create key",
        steps=("Create a new secret key.", "Paste the key below and click **Save**."),
        fields=(_key_field(placeholder="sk-…"),),
        default_models=(
            ModelSpec("gpt-4o-mini", "GPT-4o mini"),
            ModelSpec("gpt-4o", "GPT-4o"),
        ),
        litellm_prefix="openai",
        api_base="https://api.openai.com/v1",
        listing="openai",
        base_url_variable="OPENAI_API_BASE",
        server_key_variables=("OPENAI_API_KEY",),
        key_shape=r"sk-[A-Za-z0-9_-]{8,}",
        openai_stream=True,
    ),
    ProviderSpec(
        id="anthropic",
        label="Anthropic",
        create_url="https://console.anthropic.com/settings/keys",
        create_label="Create key",
        steps=("Create a new API key.", "Paste the key below and click **Save**."),
        fields=(_key_field(placeholder="sk-ant-…"),),
        default_models=(
            ModelSpec("claude-3-5-sonnet", "Claude 3.5 Sonnet", wire_id="claude-3-5-sonnet-latest"),
            ModelSpec("claude-3-5-haiku", "Claude 3.5 Haiku", wire_id="claude-3-5-haiku-latest"),
        ),
        litellm_prefix="anthropic",
        api_base="https://api.anthropic.com",
        listing="anthropic",
        base_url_variable="ANTHROPIC_API_BASE",
        server_key_variables=("ANTHROPIC_API_KEY",),
        key_shape=r"sk-ant-[A-Za-z0-9_-]{8,}",
    ),
    ProviderSpec(
        id="gemini",
        label="Google AI (Gemini)",
        create_url="https://aistudio.google.com/app/apikey",
        create_label="Create key",
        steps=("Create a Gemini API key.", "Paste the key below and click **Save**."),
        fields=(_key_field(placeholder="AIza…"),),
        default_models=(
            ModelSpec("gemini-1.5-flash", "Gemini 1.5 Flash"),
            ModelSpec("gemini-1.5-pro", "Gemini 1.5 Pro"),
        ),
        litellm_prefix="gemini",
        api_base="https://generativelanguage.googleapis.com/v1beta",
        listing="gemini",
        base_url_variable="GEMINI_API_BASE",
        server_key_variables=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        key_shape=r"AIza[0-9A-Za-z_-]{20,}",
    ),
    ProviderSpec(
        id="xai",
        label="xAI",
        create_url="https://console.x.ai/",
        create_label="Create key",
        steps=("Create an API key (your team's **API Keys** page).", "Paste the key below and click **Save**."),
        fields=(_key_field(placeholder="xai-…"),),
        default_models=(
            ModelSpec("grok-2", "Grok 2"),
            ModelSpec("grok-2-mini", "Grok 2 Mini"),
        ),
        litellm_prefix="xai",
        api_base="https://api.x.ai/v1",
        listing="openai",
        base_url_variable="XAI_API_BASE",
        server_key_variables=("XAI_API_KEY",),
        key_shape=r"xai-[A-Za-z0-9_-]{8,}",
        openai_stream=True,
    ),
    ProviderSpec(
        id="azure",
        label="Azure OpenAI",
        create_url="https://portal.azure.com/",
        create_label="Create resource",
        steps=(
            "Create an **Azure OpenAI** resource.",
            "Deploy a model and note the **deployment name**.",
            "Copy the **endpoint URL** and **API key** from the resource.",
            "Paste the endpoint and key below and click **Save**.",
        ),
        fields=(
            CredentialField(
                "endpoint",
                "Endpoint URL",
                secret=False,
                litellm_arg="api_base",
                placeholder="https://my-resource.openai.azure.com",
                is_endpoint=True,
            ),
            _key_field(),
            CredentialField(
                "api_version",
                "API version",
                secret=False,
                litellm_arg="api_version",
                default=AZURE_DEFAULT_API_VERSION,
                help="The Azure OpenAI REST API version your resource supports.",
            ),
        ),
        litellm_prefix="azure",
        listing="azure",
        deployments=True,
        note=(
            "Azure uses your **deployment name** as the model ID. Once the key is saved, add your deployments on "
            "this card: each is then offered in the Chat picker and on **Models** as `azure/<deployment-name>`."
        ),
        server_key_variables=("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
        openai_stream=True,
    ),
    ProviderSpec(
        id="huggingface",
        label="Hugging Face",
        create_url="https://huggingface.co/settings/tokens",
        create_label="Create token",
        steps=(
            "Create a **Read** token (scopes: **read**).",
            "For gated models (e.g. Llama 3), open the model page and **request access / "
            "accept the license terms** first.",
            "Paste the token below and click **Save**.",
        ),
        fields=(CredentialField("token", "Read token", secret=True, placeholder="hf_…"),),
        model_hub=True,
        note=(
            "For downloading local models, not for chats: on **Models** you can check whether the token may "
            "download a model (`owner/name`). For gated models, a valid token alone is not enough: you must also "
            "be granted access and accept the model's license on Hugging Face first."
        ),
        server_key_variables=("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
        key_shape=r"hf_[A-Za-z0-9]{8,}",
    ),
    ProviderSpec(
        id="local",
        label="Local models",
        create_url="https://huggingface.co/models",
        create_label="Browse models",
        steps=(
            "For gated models (e.g. Llama 3), save a Hugging Face **Read** token above first.",
            "Download a model on **Models** → **Local models**.",
            "Pick it in **Chat**: it runs on this server, and its replies cost nothing.",
        ),
        fields=(),
        litellm_prefix="local",  # litellm's custom-provider hook (core/local/provider.py), no built-in provider's name
        runs_here=True,
        model_id_pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$",
        note="Models downloaded from Hugging Face to this server; they answer without any provider key.",
    ),
)

_BY_ID = {spec.id: spec for spec in PROVIDERS}


def get_provider(provider_id: str) -> ProviderSpec:
    """The spec for a provider id; KeyError for an unknown one."""
    return _BY_ID[provider_id]


def chat_providers() -> tuple[ProviderSpec, ...]:
    return tuple(spec for spec in PROVIDERS if spec.chat_capable)


def keyed_providers() -> tuple[ProviderSpec, ...]:
    """The providers a user saves a credential for (a card each on Profile)."""
    return tuple(spec for spec in PROVIDERS if spec.needs_credential)


def server_key_variables() -> tuple[str, ...]:
    """Every environment variable a provider's SDK would take a key from: none may be set on the server."""
    return tuple(name for spec in PROVIDERS for name in spec.server_key_variables)


def base_url_variables() -> dict[str, str]:
    """Provider id -> the environment variable that routes it through a gateway."""
    return {spec.id: spec.base_url_variable for spec in PROVIDERS if spec.base_url_variable}


def key_shapes() -> tuple[str, ...]:
    """The providers' key patterns, the more specific first (an Anthropic key also starts with `sk-`)."""
    shapes = [spec.key_shape for spec in PROVIDERS if spec.key_shape]
    return tuple(sorted(shapes, key=len, reverse=True))

"""Optional language-model providers behind one small interface.

A provider has one method, `generate(messages, tools)`, that yields events: text as it streams
(`TextDelta`) and requests to run a tool (`ToolCall`). The registry maps a name to a factory;
`provider_from_env()` picks one from environment variables, or None for the offline agent.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tutor.answers.openai_compatible import OpenAICompatible
from tutor.answers.provider_base import Provider, ProviderError, TextDelta, ToolCall

PROVIDERS: dict[str, Callable[..., Provider]] = {
    "openai": OpenAICompatible,
}

BASE_URL_VARIABLE = "BRAIN_TUTOR_LLM_BASE_URL"
MODEL_VARIABLE = "BRAIN_TUTOR_LLM_MODEL"
KEY_VARIABLE = "BRAIN_TUTOR_LLM_API_KEY"
TIMEOUT_VARIABLE = "BRAIN_TUTOR_LLM_TIMEOUT"
PROVIDER_VARIABLE = "BRAIN_TUTOR_LLM_PROVIDER"


def provider_from_env(environ: dict[str, str] | None = None) -> Provider | None:
    """The provider the environment asks for, or None when no base URL is set (offline)."""
    environ = dict(os.environ if environ is None else environ)
    base_url = environ.get(BASE_URL_VARIABLE, "").strip()
    if not base_url:
        return None
    name = environ.get(PROVIDER_VARIABLE, "openai").strip() or "openai"
    if name not in PROVIDERS:
        raise ProviderError(f"unknown LLM provider {name!r}: choose one of {', '.join(PROVIDERS)}")
    try:
        timeout = float(environ.get(TIMEOUT_VARIABLE, "20"))
    except ValueError:
        timeout = 20.0
    return PROVIDERS[name](
        base_url=base_url,
        model=environ.get(MODEL_VARIABLE, "").strip() or "default",
        api_key=environ.get(KEY_VARIABLE, "").strip() or None,
        timeout=timeout,
    )


__all__ = [
    "PROVIDERS",
    "OpenAICompatible",
    "Provider",
    "ProviderError",
    "TextDelta",
    "ToolCall",
    "provider_from_env",
]

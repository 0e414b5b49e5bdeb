"""Any OpenAI-compatible chat-completions endpoint: Ollama, llama.cpp server, vLLM, hosted APIs.

Streams with server-sent events and standard tool calling. Every failure (connection refused,
timeout, a stream cut short, malformed JSON) becomes a ProviderError, so the caller can fall back
to the offline answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from tutor.answers.provider_base import ProviderError, TextDelta, ToolCall


class OpenAICompatible:
    """POST {base_url}/chat/completions with stream=true and tools."""

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        api_key: str | None = None,
        timeout: float = 20.0,
        max_tokens: int = 600,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def generate(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Iterator[TextDelta | ToolCall]:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": self.max_tokens,
            "temperature": 0.3,
        }
        if tools:
            payload["tools"] = tools
        calls: dict[int, dict[str, str]] = {}
        finished = False
        try:
            with httpx.stream(
                "POST",
                f"{self.base_url}/chat/completions",
                json=payload,
                headers=self._headers(),
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)),
            ) as response:
                if response.status_code != 200:
                    response.read()
                    raise ProviderError(
                        f"the endpoint answered HTTP {response.status_code}: {response.text[:200]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    body = line[5:].strip()
                    if body == "[DONE]":
                        finished = True
                        break
                    chunk = json.loads(body)
                    for choice in chunk.get("choices") or []:
                        delta = choice.get("delta") or {}
                        if isinstance(delta.get("content"), str) and delta["content"]:
                            yield TextDelta(delta["content"])
                        for call in delta.get("tool_calls") or []:
                            slot = calls.setdefault(
                                int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""}
                            )
                            slot["id"] = call.get("id") or slot["id"]
                            function = call.get("function") or {}
                            slot["name"] += function.get("name") or ""
                            slot["arguments"] += function.get("arguments") or ""
                        if choice.get("finish_reason"):
                            finished = True
        except ProviderError:
            raise
        except (httpx.HTTPError, ValueError, AttributeError, TypeError, KeyError) as error:
            # network failures, unreadable JSON, or valid JSON in the wrong shape
            raise ProviderError(f"the language model endpoint failed: {error}") from error
        if not finished:
            raise ProviderError("the answer stopped before it was finished")
        for index in sorted(calls):
            slot = calls[index]
            try:
                arguments = json.loads(slot["arguments"] or "{}")
            except json.JSONDecodeError:
                arguments = {"_unreadable": slot["arguments"][:200]}
            yield ToolCall(slot["id"] or f"call_{index}", slot["name"], arguments)

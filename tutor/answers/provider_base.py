"""The provider interface and the events it yields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


class ProviderError(RuntimeError):
    """The endpoint failed, timed out or answered something unreadable."""


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer's text, as it streams in."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """The model asks to run a tool with JSON arguments."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """Anything that turns chat messages and tool schemas into streamed events."""

    def generate(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> Iterator[TextDelta | ToolCall]:
        """Yield text deltas and tool calls; raise ProviderError when the endpoint fails."""
        ...

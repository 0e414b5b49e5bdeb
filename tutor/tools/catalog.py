"""The one table of tools the agent, the lesson pack and a language model may call.

Every tool module is named here, so `TOOLS` is complete wherever it is read and nothing has to
be imported for its side effects; a tool in a module not listed here cannot run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tutor.session import Session
from tutor.tools import lab, lesson, training
from tutor.tools.registry import ToolInputError, collect

TOOL_MODULES = (lesson, training, lab)
TOOLS: dict[str, Callable[..., Any]] = collect(TOOL_MODULES)


def run_tool(session: Session, name: str, arguments: dict[str, Any] | None = None) -> Any:
    """Call a registered tool by name with keyword arguments; unknown names are refused."""
    if name not in TOOLS:
        raise ToolInputError(f"I don't know how to do '{name}'.")
    return TOOLS[name](session, **(arguments or {}))

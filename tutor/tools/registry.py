"""What makes a function a tool, and the refusal and check every tool shares.

A tool is a plain function that takes the learner's Session and simple keyword arguments and
returns a Reply (or an iterator of Replies). `@tool` marks it; marking registers nothing, so
importing a module never changes what can run: `tutor.tools.catalog` names the tool modules and
`collect` builds the one table from them. A tool refuses with ToolInputError, whose text is
written for the learner.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from tutor.session import Session

TOOL_MARK = "is_tutor_tool"


class ToolInputError(ValueError):
    """A request the tool cannot honour (out of range, wrong moment); the text is for the learner."""


def tool(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function as a tool, called by its own name once its module is in the catalog."""
    setattr(function, TOOL_MARK, True)
    return function


def collect(modules: Iterable[ModuleType]) -> dict[str, Callable[..., Any]]:
    """The tools each module defines, by name, in module order then definition order.

    A tool a module only imports from another one is not counted twice; two tools with the
    same name are refused, since a name is how the agent and a language model call a tool.
    """
    table: dict[str, Callable[..., Any]] = {}
    for module in modules:
        for value in vars(module).values():
            if (not inspect.isfunction(value) or not getattr(value, TOOL_MARK, False)
                    or value.__module__ != module.__name__):
                continue
            if value.__name__ in table:
                raise ValueError(f"two tools are called {value.__name__!r}")
            table[value.__name__] = value
    return table


def _not_while_training(session: Session) -> None:
    if session.is_training:
        raise ToolInputError(
            "Your model is training right now. Wait for it to finish, or press Stop, "
            "and then I can do that. You can still ask me questions meanwhile."
        )

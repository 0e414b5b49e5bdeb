"""What makes a function a tool, and the refusal and check every tool shares.

A tool is a plain function that takes the learner's Session and simple keyword arguments and
returns a Reply (or an iterator of Replies). `@tool` marks it; marking registers nothing, so
importing a module never changes what can run: `tutor.tools.catalog` names the tool modules and
`collect` builds the one table from them. A tool refuses with ToolInputError, whose text is
written for the learner.

A tool's type hints are its contract: `schema` turns them (and the docstring's "Args:" lines)
into the JSON schema a language model calls it by, and `collect` refuses a tool whose hints
have no JSON form, so a tool that cannot be described never gets into the table.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, Literal, Union

from tutor.session import Session

TOOL_MARK = "is_tutor_tool"
JSON_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}
ARGS_HEADERS = ("args:", "arguments:", "parameters:")
ARG_LINE = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


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
            schema(value)  # refuses, naming the tool and parameter, hints with no JSON form
            table[value.__name__] = value
    return table


def schema(function: Callable[..., Any], name: str | None = None) -> dict[str, Any]:
    """The OpenAI-style function schema of a tool, from its type hints and docstring.

    The first parameter (the learner's Session) is not the caller's to give, so it is left out.
    A parameter without a default is required; its description is its line under "Args:" in
    the docstring, if any. Raises ValueError naming the tool and parameter when a hint is
    missing or has no JSON form.
    """
    name = name or function.__name__
    try:
        hints = typing.get_type_hints(function)
    except (NameError, TypeError) as error:
        raise ValueError(f"tool {name!r}: its type hints cannot be read ({error})") from error
    notes = _argument_notes(inspect.getdoc(function) or "")
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        where = f"tool {name!r}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ValueError(f"{where}: *args and **kwargs have no JSON schema")
        if parameter.name not in hints:
            raise ValueError(f"{where}: no type hint")
        entry = _json_schema(hints[parameter.name], where)
        if parameter.name in notes:
            entry["description"] = notes[parameter.name]
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        else:
            entry["default"] = parameter.default
        properties[parameter.name] = entry
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    description = (inspect.getdoc(function) or name).splitlines()[0]
    return {"type": "function",
            "function": {"name": name, "description": description, "parameters": parameters}}


def _json_schema(hint: Any, where: str, inside: bool = False) -> dict[str, Any]:
    """The JSON schema of one type hint; `Any` is allowed only as what a list holds."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        kept = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(kept) == 1:  # `X | None`: None is the default, not a value the model sends
            return _json_schema(kept[0], where, inside)
    elif origin is Literal:
        values = list(typing.get_args(hint))
        kinds = {type(value) for value in values}
        if len(kinds) == 1 and next(iter(kinds)) in JSON_TYPES:
            return {"type": JSON_TYPES[next(iter(kinds))], "enum": values}
    elif hint is list or origin is list:
        entry: dict[str, Any] = {"type": "array"}
        item = (typing.get_args(hint) or (Any,))[0]
        if item is not Any:
            entry["items"] = _json_schema(item, where, inside=True)
        return entry
    elif hint is Any and inside:
        return {}
    elif isinstance(hint, type) and hint in JSON_TYPES:
        return {"type": JSON_TYPES[hint]}
    raise ValueError(f"{where}: the type {hint!r} has no JSON schema")


def _argument_notes(docstring: str) -> dict[str, str]:
    """Each parameter's description from a docstring's "Args:" section (Google style)."""
    notes: dict[str, str] = {}
    lines = docstring.splitlines()
    starts = [number for number, line in enumerate(lines) if line.strip().lower() in ARGS_HEADERS]
    if not starts:
        return notes
    indent, current = None, None
    for line in lines[starts[0] + 1:]:
        if not line.strip():
            break
        depth = len(line) - len(line.lstrip())
        match = ARG_LINE.match(line.strip())
        if match and (indent is None or depth == indent):
            indent, current = depth, match.group(1)
            notes[current] = match.group(2).strip()
        elif current is not None and indent is not None and depth > indent:
            notes[current] = f"{notes[current]} {line.strip()}".strip()
        else:
            break
    return notes


def _not_while_training(session: Session) -> None:
    if session.is_training:
        raise ToolInputError(
            "Your model is training right now. Wait for it to finish, or press Stop, "
            "and then I can do that. You can still ask me questions meanwhile."
        )

"""Every tool's JSON schema comes from its type hints, and a hint with no JSON form fails loudly.

No model, data set or Keras is needed: the schemas are built from the functions alone.
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Literal

import jsonschema
import pytest

from tutor.session import Session
from tutor.tools import catalog, registry


@pytest.mark.parametrize("name", sorted(catalog.TOOLS))
def test_every_tool_has_a_valid_schema_matching_its_signature(name):
    function = catalog.TOOLS[name]
    schema = registry.schema(function)
    assert schema["type"] == "function"
    assert schema["function"]["name"] == name
    assert schema["function"]["description"]
    parameters = schema["function"]["parameters"]
    jsonschema.Draft202012Validator.check_schema(parameters)
    signature = list(inspect.signature(function).parameters.values())[1:]
    assert list(parameters["properties"]) == [parameter.name for parameter in signature]
    required = [parameter.name for parameter in signature if parameter.default is inspect.Parameter.empty]
    assert parameters.get("required", []) == required
    for parameter in signature:
        entry = parameters["properties"][parameter.name]
        if parameter.default is not inspect.Parameter.empty:
            assert entry["default"] == parameter.default
        if entry.get("default") is not None:  # the default itself is a valid value
            jsonschema.validate(entry["default"], {k: v for k, v in entry.items() if k != "default"})


def test_types_enums_and_descriptions_come_from_hints_and_docstring():
    def sample(
        session: Session,
        count: int,
        rate: float = 0.5,
        name: str | None = None,
        flag: bool = False,
        layers: list[list[Any]] | None = None,
        split: Literal["train", "valid"] = "train",
    ) -> None:
        """Do a sample thing.

        Args:
            count: how many,
                counted from one.
            split (str): which set.
        """

    parameters = registry.schema(sample)["function"]["parameters"]
    properties = parameters["properties"]
    assert parameters["required"] == ["count"]
    assert properties["count"] == {"type": "integer", "description": "how many, counted from one."}
    assert properties["rate"] == {"type": "number", "default": 0.5}
    assert properties["name"] == {"type": "string", "default": None}
    assert properties["flag"] == {"type": "boolean", "default": False}
    assert properties["layers"] == {"type": "array", "items": {"type": "array"}, "default": None}
    assert properties["split"] == {"type": "string", "enum": ["train", "valid"],
                                   "description": "which set.", "default": "train"}
    assert registry.schema(sample)["function"]["description"] == "Do a sample thing."


def test_the_llm_tools_offer_the_split_names():
    show_image = registry.schema(catalog.TOOLS["show_image"])["function"]["parameters"]["properties"]
    assert show_image["split"]["enum"] == ["train", "valid"]
    assert show_image["index"]["type"] == "integer"


@pytest.mark.parametrize("hint", ["dict", "Session", "Any", "int | str", "set[int]", "object"])
def test_a_hint_with_no_json_form_fails_naming_the_tool_and_parameter(hint):
    namespace: dict[str, Any] = {}
    exec(f"def odd_tool(session: Session, shape: {hint} = None) -> None:\n    '''Odd.'''\n",
         {"Session": Session, "Any": Any}, namespace)
    with pytest.raises(ValueError, match=r"'odd_tool'.*'shape'"):
        registry.schema(namespace["odd_tool"])


def test_a_parameter_without_a_hint_fails():
    def bare(session: Session, size=3) -> None:
        """Bare."""

    with pytest.raises(ValueError, match=r"'bare'.*'size'.*no type hint"):
        registry.schema(bare)


def test_collect_refuses_a_tool_that_cannot_be_described():
    module = types.ModuleType("odd_tools")

    def shaped(session: Session, shape: dict | None = None) -> None:
        """Shaped."""

    shaped.__module__ = module.__name__
    module.shaped = registry.tool(shaped)
    with pytest.raises(ValueError, match=r"'shaped'.*'shape'"):
        registry.collect([module])

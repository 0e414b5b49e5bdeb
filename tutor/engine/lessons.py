"""Read a lesson pack: a manifest and one Markdown file per lesson state.

A lesson file is data: a YAML front matter (id, title, actions, options, check question) and a
Markdown body. Adding or editing a lesson is editing files; no Python changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutor.reply import Option


def _default_pack() -> Path:
    """lessons/ beside the package in a checkout, or the copy installed with the package."""
    package = Path(__file__).resolve().parents[1]  # tutor/
    checkout = package.parent / "lessons"
    if (checkout / "pack.yaml").is_file():
        return checkout
    installed = package / "lessons_pack"
    return installed if installed.is_dir() else checkout


DEFAULT_PACK = _default_pack()
CHECK_KINDS = ("number", "class", "choice")


class LessonError(ValueError):
    """A lesson file or pack manifest is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Action:
    """One backend action a state runs on entry, with its keyword arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """The question that ends a state, graded with a hint first and the explanation second."""

    question: str
    kind: str
    answer: Any
    hint: str
    explanation: str
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0


@dataclass(frozen=True)
class LessonState:
    """One step of the lesson."""

    id: str
    title: str
    step: int
    summary: str
    body: str
    actions: tuple[Action, ...] = ()
    options: tuple[Option, ...] = ()
    check: Check | None = None
    aliases: tuple[str, ...] = ()  # other names learners use for the step ("predictions")

    @property
    def names(self) -> tuple[str, ...]:
        """The step's id, title and aliases, lower case."""
        return tuple(dict.fromkeys(name.lower().rstrip("?.!") for name in
                                   (self.id, self.id.replace("-", " "), self.title, *self.aliases)))


@dataclass(frozen=True)
class LessonPack:
    """A whole lesson: its title, data set and states in order."""

    title: str
    dataset: str
    states: tuple[LessonState, ...]
    folder: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [state.id for state in self.states]

    def get(self, state_id: str) -> LessonState:
        for state in self.states:
            if state.id == state_id:
                return state
        raise KeyError(state_id)

    def index(self, state_id: str) -> int:
        return self.ids.index(state_id)

    def first(self) -> LessonState:
        return self.states[0]

    def named_steps(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(id, names) for every step: what a learner's own words may call it."""
        return tuple((state.id, state.names) for state in self.states)

    def step_names(self) -> frozenset[str]:
        """Every step's id and title, lower case: what "open <step>" may name."""
        return frozenset(name.lower().rstrip("?.!")
                         for state in self.states for name in (state.id, state.title))

    def find(self, words: str) -> LessonState | None:
        """A state named by id or title, forgiving case, spaces and hyphens."""
        wanted = _squash(words)
        if not wanted:
            return None
        for state in self.states:
            if wanted in (_squash(state.id), _squash(state.title)):
                return state
        for state in self.states:
            if len(wanted) >= 4 and (
                _squash(state.title).startswith(wanted) or wanted in _squash(state.title)
            ):
                return state
        return None


def _squash(text: str) -> str:
    """Lower-case letters and digits only, number words as digits ("one neuron" = "1neuron")."""
    from tutor.words import words_to_digits

    return "".join(character for character in words_to_digits(text).lower() if character.isalnum())


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """Split `---`-fenced YAML from the Markdown body."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise LessonError(f"{source}: a lesson file starts with a '---' line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration as error:
        raise LessonError(f"{source}: the front matter has no closing '---' line") from error
    try:
        header = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as error:
        raise LessonError(f"{source}: the front matter is not valid YAML ({error})") from error
    if not isinstance(header, dict):
        raise LessonError(f"{source}: the front matter must be a mapping of keys")
    return header, "\n".join(lines[end + 1 :]).strip()


def _parse_actions(raw: Any, source: str) -> tuple[Action, ...]:
    actions = []
    for item in raw or []:
        if isinstance(item, str):
            actions.append(Action(item))
        elif isinstance(item, dict) and len(item) == 1:
            name, arguments = next(iter(item.items()))
            if arguments is not None and not isinstance(arguments, dict):
                raise LessonError(f"{source}: the arguments of action {name!r} must be a mapping")
            actions.append(Action(str(name), dict(arguments or {})))
        else:
            raise LessonError(f"{source}: an action is a name or a one-key mapping, got {item!r}")
    return tuple(actions)


def _parse_options(raw: Any, source: str) -> tuple[Option, ...]:
    options = []
    for item in raw or []:
        if isinstance(item, str):
            options.append(Option(item, item))
        elif isinstance(item, dict) and "label" in item and "message" in item:
            options.append(Option(str(item["label"]), str(item["message"])))
        else:
            raise LessonError(f"{source}: an option needs 'label' and 'message', got {item!r}")
    return tuple(options)


def _parse_check(raw: Any, source: str) -> Check | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise LessonError(f"{source}: 'check' must be a mapping")
    missing = [key for key in ("question", "kind", "answer", "hint", "explanation") if key not in raw]
    if missing:
        raise LessonError(f"{source}: the check lacks {', '.join(missing)}")
    kind = str(raw["kind"])
    if kind not in CHECK_KINDS:
        raise LessonError(f"{source}: check kind must be one of {', '.join(CHECK_KINDS)}")
    choices = tuple(str(choice) for choice in raw.get("choices") or ())
    if kind == "choice" and str(raw["answer"]) not in choices:
        raise LessonError(f"{source}: the right answer must be one of the choices")
    if kind == "number":
        try:
            float(raw["answer"])
        except (TypeError, ValueError) as error:
            raise LessonError(f"{source}: a number check needs a numeric answer") from error
    return Check(
        question=str(raw["question"]),
        kind=kind,
        answer=raw["answer"],
        hint=str(raw["hint"]),
        explanation=str(raw["explanation"]),
        choices=choices,
        tolerance=float(raw.get("tolerance") or 0.0),
    )


def parse_state(path: Path) -> LessonState:
    """Parse one lesson file."""
    header, body = split_front_matter(path.read_text(encoding="utf-8"), path.name)
    for key in ("id", "title"):
        if key not in header:
            raise LessonError(f"{path.name}: the front matter lacks '{key}'")
    return LessonState(
        id=str(header["id"]),
        title=str(header["title"]),
        step=int(header.get("step", 0)),
        summary=str(header.get("summary", "")),
        body=body,
        actions=_parse_actions(header.get("actions"), path.name),
        options=_parse_options(header.get("options"), path.name),
        check=_parse_check(header.get("check"), path.name),
        aliases=tuple(str(alias) for alias in header.get("aliases") or ()),
    )


def load_pack(folder: Path | str = DEFAULT_PACK) -> LessonPack:
    """Load a pack: `pack.yaml` gives the order; without it, the files sorted by `step`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LessonError(f"lesson folder {folder} does not exist")
    manifest_path = folder / "pack.yaml"
    manifest: dict[str, Any] = {}
    if manifest_path.is_file():
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8")) or {}
        if not isinstance(manifest, dict):
            raise LessonError("pack.yaml must be a mapping of keys")
    if manifest.get("states"):
        paths = [folder / f"{state_id}.md" for state_id in manifest["states"]]
        missing = [path.name for path in paths if not path.is_file()]
        if missing:
            raise LessonError(f"pack.yaml names states without files: {', '.join(missing)}")
        states = [parse_state(path) for path in paths]
    else:
        states = sorted(
            (parse_state(path) for path in folder.glob("*.md") if path.name != "README.md"),
            key=lambda state: state.step,
        )
    if not states:
        raise LessonError(f"lesson folder {folder} holds no lesson files")
    for path_id, state in zip(manifest.get("states") or [], states, strict=False):
        if state.id != path_id:
            raise LessonError(f"{path_id}.md declares id {state.id!r}; they must match")
    ids = [state.id for state in states]
    if len(set(ids)) != len(ids):
        raise LessonError("two lesson files share an id")
    extra = {key: value for key, value in manifest.items() if key not in ("title", "dataset", "states")}
    return LessonPack(
        title=str(manifest.get("title", folder.name)),
        dataset=str(manifest.get("dataset", "fashion_mnist")),
        states=tuple(states),
        folder=folder,
        extra=extra,
    )

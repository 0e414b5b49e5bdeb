"""The layout keeps its rules: import contracts (import-linter, configured in pyproject.toml),
one level of subpackages and a size budget per module, so that the architecture rests on a
check, not on discipline."""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
MOST_LINES = 450  # a module longer than this has more than one job: split it
SUBPACKAGES = {"engine", "answers", "tools", "ml", "figures", "speech", "storage", "web"}


def test_the_import_contracts_hold(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_one_level_of_subpackages():
    package = ROOT / "tutor"
    found = {path.parent.name for path in package.glob("*/__init__.py")}
    assert found == SUBPACKAGES
    assert not list(package.glob("*/*/__init__.py")), "subpackages go one level deep only"


def test_no_module_is_over_the_size_budget():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for path in (ROOT / "tutor").rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}

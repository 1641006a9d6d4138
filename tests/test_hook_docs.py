"""Every hook is documented: in its spec docstring and in the README's reference."""

from __future__ import annotations

import inspect
from pathlib import Path

from displaysets import hookspecs

README = Path(__file__).resolve().parents[1] / "README.md"


def declared_hooks() -> list[str]:
    return [
        name
        for name, value in vars(hookspecs).items()
        if callable(value) and hasattr(value, "displaysets_spec")
    ]


def test_hook_names_lists_every_hookspec() -> None:
    assert sorted(declared_hooks()) == sorted(hookspecs.HOOK_NAMES)


def test_every_hookspec_documents_return_and_several_answers() -> None:
    for name in declared_hooks():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert ":return:" in doc, name
        assert "When several plugins answer" in doc, name
        assert "Called " in doc, name


def test_every_hook_has_a_section_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for name in declared_hooks():
        assert f"### `{name}`" in text, f"README lacks a hook reference for {name}"

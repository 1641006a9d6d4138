"""Coded entries (the Code Sequence Macro) as small immutable values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """A coded entry (Code Sequence Macro)."""

    value: str
    scheme: str
    meaning: str
    scheme_version: str = ""

    def to_json(self) -> dict[str, str]:
        data = {
            "CodeValue": self.value,
            "CodingSchemeDesignator": self.scheme,
            "CodeMeaning": self.meaning,
        }
        if self.scheme_version:
            data["CodingSchemeVersion"] = self.scheme_version
        return data

    def is_(self, value: str, scheme: str) -> bool:
        return self.value == value and self.scheme == scheme

    def __str__(self) -> str:
        return self.meaning or f"({self.value}, {self.scheme})"

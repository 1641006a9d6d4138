"""Where the shared DICOM test corpus is, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

CORPUS_ENV: Final = "DISPLAYSETS_CORPUS"
"""Environment variable naming the corpus folder; default ``../shared/corpus``."""


def corpus_dir() -> Path:
    """The corpus folder: ``$DISPLAYSETS_CORPUS``, else ``../shared/corpus`` from the
    working directory (the layout of this repository's checkout)."""
    configured = os.environ.get(CORPUS_ENV)
    if configured:
        return Path(configured)
    return (Path.cwd().parent / "shared" / "corpus").resolve()


def require_corpus(*parts: str) -> Path:
    """The corpus path ``parts`` below the corpus folder, or skip the calling test."""
    import pytest

    path = corpus_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"DICOM corpus not found at {path} (set {CORPUS_ENV} to the corpus folder)"
        )
    return path

"""displaysets-dicom-html: structured reports as display sets and as safe HTML."""

from __future__ import annotations

__version__ = "0.1.0"

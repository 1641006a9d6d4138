"""displaysets-dicom-seg: DICOM Segmentations as display sets, with masks on demand.

Importing this package loads neither highdicom nor numpy; they load when masks do.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Where sample DICOM data is on any machine with displaysets installed.

pydicom, a dependency of the core, ships a folder of real test files (CT, MR, RT, SR,
a segmentation, a DICOMDIR tree, DICOM JSON); ``python -m displaysets.samples`` prints
its path so a fresh install can run ``displaysets scan`` on something real.
"""

from __future__ import annotations

from pathlib import Path


def sample_folder() -> Path:
    """pydicom's bundled ``test_files`` folder."""
    import pydicom.data

    return Path(pydicom.data.__file__).parent / "test_files"


if __name__ == "__main__":
    print(sample_folder())

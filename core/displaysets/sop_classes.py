"""SOP class tables the core needs: image storage classes and plugin install hints."""

from __future__ import annotations

from typing import Final

_BASE: Final = "1.2.840.10008.5.1.4.1.1."


def _uids(*suffixes: str) -> tuple[str, ...]:
    return tuple(_BASE + s for s in suffixes)


IMAGE_STORAGE: Final = _uids(
    # projection radiography: CR, DX, MG, IO (for presentation and processing)
    "1",
    "1.1",
    "1.1.1",
    "1.2",
    "1.2.1",
    "1.3",
    "1.3.1",
    # CT, enhanced and legacy-converted CT
    "2",
    "2.1",
    "2.2",
    # ultrasound (multi-frame, single-frame, retired forms), enhanced US volume,
    # photoacoustic
    "3",
    "3.1",
    "6",
    "6.1",
    "6.2",
    "6.3",
    # MR, enhanced MR, enhanced MR colour, legacy-converted MR
    "4",
    "4.1",
    "4.3",
    "4.4",
    # nuclear medicine (current and retired)
    "5",
    "20",
    # secondary capture, every kind
    "7",
    "7.1",
    "7.2",
    "7.3",
    "7.4",
    # XA, XRF and their enhanced forms, bi-plane (retired), 3D XA and craniofacial,
    # breast tomosynthesis and projection
    "12.1",
    "12.1.1",
    "12.2",
    "12.2.1",
    "12.3",
    "13.1.1",
    "13.1.2",
    "13.1.3",
    "13.1.4",
    "13.1.5",
    # intravascular OCT
    "14.1",
    "14.2",
    # parametric map
    "30",
    # visible light: endoscopy, microscopy, photography (still and video), retired trial
    "77.1",
    "77.2",
    "77.1.1",
    "77.1.1.1",
    "77.1.2",
    "77.1.2.1",
    "77.1.3",
    "77.1.4",
    "77.1.4.1",
    "77.1.7",
    "77.1.8",
    "77.1.9",
    # ophthalmic photography, tomography, wide field, en face, B-scan analysis,
    # thickness and topography maps
    "77.1.5.1",
    "77.1.5.2",
    "77.1.5.4",
    "77.1.5.5",
    "77.1.5.6",
    "77.1.5.7",
    "77.1.5.8",
    "81.1",
    "82.1",
    # PET, legacy-converted and enhanced PET
    "128",
    "128.1",
    "130",
    # RT image, RT dose, enhanced and continuous RT image
    "481.1",
    "481.2",
    "481.23",
    "481.24",
    # DICOS and eddy current images
    "501.1",
    "501.2.1",
    "501.2.2",
    "601.1",
    "601.2",
)
"""Image storage SOP classes the built-in image handler takes when no plugin does."""

PROJECTION_RADIOGRAPHY: Final = frozenset(
    _uids("1", "1.1", "1.1.1", "1.2", "1.2.1", "1.3", "1.3.1")
)
"""CR, DX, MG and IO: one display set per image, compared side by side."""

STRUCTURED_REPORTS: Final = _uids(
    "88.11",
    "88.22",
    "88.33",
    "88.34",
    "88.35",
    "88.40",
    "88.50",
    "88.59",
    "88.65",
    "88.67",
    "88.68",
    "88.69",
    "88.70",
    "88.71",
    "88.72",
    "88.73",
    "88.74",
    "88.75",
    "88.76",
    "88.77",
)
ENCAPSULATED_DOCUMENTS: Final = _uids("104.1", "104.2", "104.3", "104.4", "104.5")
SEGMENTATIONS: Final = _uids("66.4", "66.7")
MICROSCOPY: Final = _uids("77.1.6", "91.1")

INSTALL_HINTS: Final[dict[str, str]] = {
    **dict.fromkeys(STRUCTURED_REPORTS, "displaysets-dicom-html"),
    **dict.fromkeys(ENCAPSULATED_DOCUMENTS, "displaysets-dicom-pdf"),
    **dict.fromkeys(SEGMENTATIONS, "displaysets-dicom-seg"),
    **dict.fromkeys(MICROSCOPY, "displaysets-dicom-microscopy"),
}
"""Which distribution of this repository handles which SOP class."""

NAMES_NEWER_THAN_PYDICOM: Final[dict[str, str]] = {
    _BASE + "66.7": "Label Map Segmentation Storage",
    _BASE + "66.8": "Height Map Segmentation Storage",
}
"""SOP class names added to the standard after pydicom's UID dictionary was built."""

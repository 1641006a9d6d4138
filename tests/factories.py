"""Synthetic DICOM instances for the core tests, and which plugins are installed."""

from __future__ import annotations

from typing import Any

import importlib_metadata
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
DX_IMAGE = "1.2.840.10008.5.1.4.1.1.1.1"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]


def installed(plugin: str) -> bool:
    """True when the named displaysets plugin distribution is installed."""
    return any(
        ep.name == plugin for ep in importlib_metadata.entry_points(group="displaysets")
    )


def make_dataset(
    sop_class_uid: str = CT_IMAGE,
    *,
    study: str = "1.2.3.4",
    series: str = "1.2.3.4.1",
    sop_instance_uid: str | None = None,
    pixels: bool = True,
    **attributes: Any,
) -> Dataset:
    """A small valid instance; ``attributes`` are set by keyword."""
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = sop_class_uid
    uid = sop_instance_uid or generate_uid()
    dataset.file_meta.MediaStorageSOPInstanceUID = uid
    dataset.SOPClassUID = sop_class_uid
    dataset.SOPInstanceUID = uid
    dataset.StudyInstanceUID = study
    dataset.SeriesInstanceUID = series
    dataset.Modality = "CT"
    dataset.PatientName = "Test^Synthetic"
    dataset.SeriesNumber = 1
    if pixels:
        dataset.Rows = 2
        dataset.Columns = 2
        dataset.BitsAllocated = 16
        dataset.BitsStored = 16
        dataset.HighBit = 15
        dataset.PixelRepresentation = 0
        dataset.SamplesPerPixel = 1
        dataset.PhotometricInterpretation = "MONOCHROME2"
        dataset.PixelData = b"\x00\x01" * 4
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    return dataset

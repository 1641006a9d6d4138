"""Stored values of segmentation frames, one frame at a time, through highdicom.

highdicom's frame decoder does the work for every transfer syntax pydicom has a decoder
for. Three encodings it does not read are turned into native little-endian frames
first: big endian native pixel data (bytes swapped per word), Deflated Image Frame
Compression (each frame inflated) and RLE Lossless with one bit per pixel (each frame's
single PackBits segment unpacked).
"""

from __future__ import annotations

import logging
import struct
import zlib
from typing import TYPE_CHECKING, Any, Final

from displaysets import ContentError
from pydicom.dataset import Dataset
from pydicom.uid import UID

from displaysets_dicom_seg.analysis import transfer_syntax_of
from displaysets_dicom_seg.segments import integer, text

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

EXPLICIT_VR_LITTLE_ENDIAN: Final = "1.2.840.10008.1.2.1"
EXPLICIT_VR_BIG_ENDIAN: Final = "1.2.840.10008.1.2.2"
RLE_LOSSLESS: Final = "1.2.840.10008.1.2.5"
DEFLATED_IMAGE_FRAME_COMPRESSION: Final = "1.2.840.10008.1.2.8.1"
"""Each frame deflated on its own (PS3.5 A.4.11); newer than pydicom 3.0."""

_WORD_SIZE: Final = {"OW": 2, "OF": 4, "OD": 8}


def unpack_packbits(segment: bytes, expected: int) -> bytes:
    """Decode one RLE Lossless segment (PackBits, PS3.5 G.3.1)."""
    out = bytearray()
    position = 0
    size = len(segment)
    while position < size and len(out) < expected:
        header = segment[position]
        position += 1
        if header < 128:
            count = header + 1
            out += segment[position : position + count]
            position += count
        elif header > 128:
            if position >= size:
                break
            out += bytes([segment[position]]) * (257 - header)
            position += 1
        # 128 is a no-op
    return bytes(out)


def _rle_single_segment(fragment: bytes, expected: int, location: str) -> bytes:
    if len(fragment) < 64:
        raise ContentError(f"{location}: an RLE frame is shorter than its header")
    count = struct.unpack_from("<I", fragment, 0)[0]
    offsets = struct.unpack_from("<15I", fragment, 4)
    if count != 1:
        raise ContentError(
            f"{location}: an RLE frame with 1 bit allocated has {count} segments; "
            "one is expected"
        )
    data = unpack_packbits(fragment[offsets[0] :], expected)
    if len(data) < expected:
        raise ContentError(
            f"{location}: an RLE frame decodes to {len(data)} of {expected} bytes"
        )
    return data


class FrameDecoder:
    """Decodes the frames of one segmentation dataset on request.

    Parameters
    ----------
    dataset
        The full dataset, Pixel Data included.
    location
        The file or URL, named in errors.
    number_of_frames
        How many frames to expect.

    Raises
    ------
    ContentError
        When there is no pixel data, it is too short, or its transfer syntax has no
        decoder.
    """

    def __init__(self, dataset: Dataset, location: str, number_of_frames: int) -> None:
        self.location = location
        self.number_of_frames = number_of_frames
        self.rows = integer(dataset, "Rows") or 0
        self.columns = integer(dataset, "Columns") or 0
        self.bits_allocated = integer(dataset, "BitsAllocated") or 0
        self.samples_per_pixel = integer(dataset, "SamplesPerPixel") or 1
        self.pixel_representation = integer(dataset, "PixelRepresentation") or 0
        self.photometric_interpretation = (
            text(dataset, "PhotometricInterpretation") or "MONOCHROME2"
        )
        if not self.rows or not self.columns or self.bits_allocated not in (1, 8, 16):
            raise ContentError(
                f"{location}: cannot decode frames of {self.rows} x {self.columns} "
                f"pixels with {self.bits_allocated} bits allocated"
            )
        self.transfer_syntax = UID(transfer_syntax_of(dataset))
        if "PixelData" not in dataset:
            raise ContentError(f"{location}: the segmentation has no Pixel Data")
        element = dataset["PixelData"]
        value = element.value
        if value is None or len(value) == 0:
            raise ContentError(f"{location}: Pixel Data is empty")
        self._fragments: list[bytes] | None = None
        self._native: bytes | None = None
        if self.transfer_syntax == DEFLATED_IMAGE_FRAME_COMPRESSION or (
            self.transfer_syntax.is_transfer_syntax
            and self.transfer_syntax.is_encapsulated
        ):
            self._fragments = self._split_frames(value)
        elif self.transfer_syntax.is_transfer_syntax:
            self._native = self._native_little_endian(value, element.VR)
        else:
            raise ContentError(
                f"{location}: transfer syntax {self.transfer_syntax} is unknown; "
                "its pixel data cannot be decoded"
            )

    def _split_frames(self, value: bytes) -> list[bytes]:
        from pydicom.encaps import generate_frames

        try:
            frames = list(
                generate_frames(value, number_of_frames=self.number_of_frames)
            )
        except Exception as error:
            raise ContentError(
                f"{self.location}: cannot split the encapsulated Pixel Data into "
                f"{self.number_of_frames} frame(s): {error}"
            ) from error
        if len(frames) < self.number_of_frames:
            raise ContentError(
                f"{self.location}: the encapsulated Pixel Data holds {len(frames)} "
                f"frame(s); {self.number_of_frames} are declared"
            )
        return frames

    def _native_little_endian(self, value: bytes, vr: str) -> bytes:
        expected = self._frame_bits() * self.number_of_frames
        if len(value) * 8 < expected:
            raise ContentError(
                f"{self.location}: Pixel Data holds {len(value)} bytes; "
                f"{self.number_of_frames} frame(s) need {(expected + 7) // 8} "
                "(truncated?)"
            )
        if self.transfer_syntax == EXPLICIT_VR_BIG_ENDIAN:
            word = _WORD_SIZE.get(vr, 1)
            if word == 1 and self.bits_allocated > 8:
                word = self.bits_allocated // 8
            if word > 1:
                import numpy as np

                usable = len(value) - len(value) % word
                swapped = np.frombuffer(value[:usable], dtype=np.uint8)
                value = swapped.reshape(-1, word)[:, ::-1].tobytes() + value[usable:]
        return value

    def _frame_bits(self) -> int:
        return self.rows * self.columns * self.samples_per_pixel * self.bits_allocated

    def _decode(self, raw: bytes, transfer_syntax: str, index: int) -> np.ndarray:
        from highdicom.frame import decode_frame

        return decode_frame(
            value=raw,
            transfer_syntax_uid=transfer_syntax,
            rows=self.rows,
            columns=self.columns,
            samples_per_pixel=self.samples_per_pixel,
            bits_allocated=self.bits_allocated,
            bits_stored=self.bits_allocated,
            photometric_interpretation=self.photometric_interpretation,
            pixel_representation=self.pixel_representation,
            index=index,
        )

    def stored_frame(self, number: int) -> np.ndarray:
        """The stored values of frame ``number`` (1-based) as a rows x columns array."""
        if not 1 <= number <= self.number_of_frames:
            raise ContentError(
                f"{self.location}: frame {number} does not exist "
                f"({self.number_of_frames} frame(s))"
            )
        index = number - 1
        try:
            if self._native is not None:
                bits = self._frame_bits()
                start = index * bits // 8
                end = ((index + 1) * bits + 7) // 8
                return self._decode(
                    self._native[start:end], EXPLICIT_VR_LITTLE_ENDIAN, index
                )
            assert self._fragments is not None
            fragment = self._fragments[index]
            frame_length = (self._frame_bits() + 7) // 8
            if self.transfer_syntax == DEFLATED_IMAGE_FRAME_COMPRESSION:
                raw = _inflate(fragment, self.location)
                return self._decode(raw[:frame_length], EXPLICIT_VR_LITTLE_ENDIAN, 0)
            if self.transfer_syntax == RLE_LOSSLESS and self.bits_allocated == 1:
                raw = _rle_single_segment(fragment, frame_length, self.location)
                return self._decode(raw, EXPLICIT_VR_LITTLE_ENDIAN, 0)
            return self._decode(fragment, str(self.transfer_syntax), index)
        except ContentError:
            raise
        except Exception as error:
            raise ContentError(
                f"{self.location}: cannot decode frame {number} "
                f"({self.transfer_syntax.name}): {error}"
            ) from error


def _inflate(fragment: bytes, location: str) -> bytes:
    for wbits in (-15, 15):
        try:
            return zlib.decompress(fragment, wbits)
        except zlib.error:
            continue
    raise ContentError(f"{location}: a deflated frame cannot be inflated")


def describe_pixel_data(dataset: Dataset) -> dict[str, Any]:
    """Transfer syntax and pixel format, for the export sidecar."""
    transfer_syntax = UID(transfer_syntax_of(dataset))
    return {
        "TransferSyntaxUID": str(transfer_syntax),
        "transferSyntaxName": transfer_syntax.name,
        "BitsAllocated": integer(dataset, "BitsAllocated"),
    }

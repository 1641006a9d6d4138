"""Recommended Display CIELab Value to sRGB: the colour a viewer paints a segment in.

DICOM stores CIELab scaled to unsigned 16-bit integers (PS3.3 C.10.7.1.1); this module
undoes the scaling and converts through CIE XYZ (D65 white) to 8-bit sRGB.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

logger = logging.getLogger(__name__)

D65_WHITE: Final = (0.95047, 1.0, 1.08883)
"""CIE XYZ of the D65 reference white, Y normalised to 1."""

_EPSILON: Final = 216 / 24389
_KAPPA: Final = 24389 / 27

# Linear sRGB from CIE XYZ (IEC 61966-2-1).
_XYZ_TO_LINEAR_SRGB: Final = (
    (3.2404542, -1.5371385, -0.4985314),
    (-0.9692660, 1.8760108, 0.0415560),
    (0.0556434, -0.2040259, 1.0572252),
)


def dicom_lab_to_cielab(value: Sequence[int]) -> tuple[float, float, float]:
    """Undo DICOM's scaling: L* in 0..100, a* and b* in -128..127.

    Parameters
    ----------
    value
        The three unsigned 16-bit integers of Recommended Display CIELab Value.
    """
    l_scaled, a_scaled, b_scaled = (int(v) for v in value)
    return (
        l_scaled * 100.0 / 65535.0,
        a_scaled * 255.0 / 65535.0 - 128.0,
        b_scaled * 255.0 / 65535.0 - 128.0,
    )


def _lab_component_to_linear(f: float) -> float:
    cube = f**3
    return cube if cube > _EPSILON else (116.0 * f - 16.0) / _KAPPA


def _gamma(linear: float) -> float:
    if linear <= 0.0031308:
        return 12.92 * linear
    return 1.055 * linear ** (1.0 / 2.4) - 0.055


def cielab_to_srgb(l_star: float, a_star: float, b_star: float) -> tuple[int, int, int]:
    """Convert CIELab (D65) to 8-bit sRGB, clipping colours outside the sRGB gamut.

    Parameters
    ----------
    l_star, a_star, b_star
        Lightness (0..100) and the two opponent axes.

    Returns
    -------
    tuple of int
        Red, green and blue in 0..255.
    """
    f_y = (l_star + 16.0) / 116.0
    f_x = f_y + a_star / 500.0
    f_z = f_y - b_star / 200.0
    if l_star > _KAPPA * _EPSILON:
        y = ((l_star + 16.0) / 116.0) ** 3
    else:
        y = l_star / _KAPPA
    xyz = (
        D65_WHITE[0] * _lab_component_to_linear(f_x),
        D65_WHITE[1] * y,
        D65_WHITE[2] * _lab_component_to_linear(f_z),
    )
    channels = []
    for row in _XYZ_TO_LINEAR_SRGB:
        linear = sum(m * c for m, c in zip(row, xyz, strict=True))
        encoded = _gamma(min(max(linear, 0.0), 1.0))
        channels.append(round(min(max(encoded, 0.0), 1.0) * 255.0))
    return channels[0], channels[1], channels[2]


def dicom_lab_to_srgb(value: Sequence[int]) -> tuple[int, int, int]:
    """sRGB of a Recommended Display CIELab Value as stored in the file."""
    return cielab_to_srgb(*dicom_lab_to_cielab(value))

"""displaysets plugin for whole slide microscopy: pyramids with their label, overview
and thumbnail images, tiles on demand, and bulk simple annotations linked to slides."""

__version__ = "0.1.0"

"""displaysets plugin for encapsulated documents: PDF, CDA, STL, OBJ and MTL.

Each document instance becomes one display set; its exact original bytes are loaded
lazily and streamed to disk on export.
"""

from __future__ import annotations

__version__ = "0.1.0"

"""The loaded content of an SR display set: document, measurements and HTML page."""

from __future__ import annotations

import logging
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any

from displaysets_dicom_html.content import ContentTree
from displaysets_dicom_html.measurements import MeasurementGroup, measurement_groups

if TYPE_CHECKING:
    from displaysets.model import Instance
    from displaysets.records import DisplaySet

logger = logging.getLogger(__name__)


class StructuredReport:
    """One SR document's content, read when first asked for.

    Parameters
    ----------
    display_set
        A display set of this plugin from a scan in this process.
    """

    def __init__(self, display_set: DisplaySet) -> None:
        self.display_set = display_set

    @property
    def instance(self) -> Instance:
        return self.display_set.instances[0]

    @cached_property
    def _parsed(self) -> Any:
        from displaysets_dicom_html.document import content_of

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return content_of(self.instance)

    @property
    def dataset(self) -> Any:
        """The instance's metadata (the whole document; SR has no bulk data)."""
        return self.instance.dataset

    @property
    def tree(self) -> ContentTree:
        return self._parsed.tree

    @cached_property
    def measurement_groups(self) -> list[MeasurementGroup]:
        """TID 1500 measurement groups (empty for other documents)."""
        return measurement_groups(self.tree.root)

    def measurements_json(self) -> list[dict[str, Any]]:
        return [group.to_json() for group in self.measurement_groups]

    @cached_property
    def html(self) -> str:
        """The complete, self-contained HTML page of the document."""
        from displaysets_dicom_html.document import gc_paused
        from displaysets_dicom_html.render import render_document

        messages = [m.text for m in self.display_set.messages]
        with warnings.catch_warnings(), gc_paused():
            warnings.simplefilter("ignore")
            return render_document(self.dataset, self.tree, messages)

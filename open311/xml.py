"""Open311 answers as XML, in the spec's element names: a list of flat objects under a root element
(``<services><service>…``, ``<service_requests><request>…``, ``<errors><error>…``), nested lists under
the element the spec names for their items (``<attributes><attribute>``, ``<values><value>``…)."""
from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

# The element of each item of a nested list, by the list's element.
ITEM_TAGS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = ITEM_TAGS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def render(root: str, item: str | None, value: Any) -> bytes:
    """``value`` under ``<root>``: a list's items each as ``<item>``, a dict's keys as elements."""
    element = ET.Element(root)
    if isinstance(value, list) and item is not None:
        for entry in value:
            _fill(ET.SubElement(element, item), entry)
    else:
        _fill(element, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)

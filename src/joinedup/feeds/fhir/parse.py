"""FHIR R4 bytes → plain dicts (the JSON shape), from JSON (orjson) or XML.

XML is turned into the JSON shape by the FHIR rules that matter for mapping: an element's
``value`` attribute is its primitive value, a repeated element becomes a list (mapping code reads
every element through ``as_list``, so a single repeat works too), ``<resource>``/``<contained>``
wrap a resource named by its element, and narrative (``div``) is dropped. DTDs are refused, so no
entity expansion can happen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any

import orjson

from joinedup.feeds.errors import parse_error

FHIR_NS = "{http://hl7.org/fhir}"


def parse_fhir(raw: bytes) -> dict[str, Any]:
    """Read one FHIR resource (a Bundle or any other) from JSON or XML bytes.

    Raises:
        FeedError: stage ``parse``, when the bytes are neither (code ``malformed_json`` /
            ``malformed_xml``) or not a FHIR resource (``not_fhir``).
    """
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        resource = parse_fhir_xml(text)
    else:
        try:
            resource = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise parse_error("", "malformed_json", f"not valid JSON (at character {exc.pos})") from exc
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise parse_error("resourceType", "not_fhir", "not a FHIR resource (no resourceType)")
    return resource


def parse_fhir_xml(text: bytes) -> dict[str, Any]:
    """Read one FHIR resource from XML bytes into the JSON shape."""
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise parse_error("", "malformed_xml", "XML with a DTD is refused")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - DTDs refused above, so no entity expansion
    except ElementTree.ParseError as exc:
        raise parse_error("", "malformed_xml", f"not well-formed XML (line {exc.position[0]})") from exc
    if not root.tag.startswith(FHIR_NS):
        raise parse_error("resourceType", "not_fhir", "XML outside the FHIR namespace")
    return _resource(root)


def _local(tag: str) -> str:
    return tag[len(FHIR_NS) :] if tag.startswith(FHIR_NS) else tag.rsplit("}", 1)[-1]


def _resource(element: ElementTree.Element) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": _local(element.tag)}
    resource.update(_children(element))
    return resource


def _children(element: ElementTree.Element) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        if name == "div":
            continue
        value = _element(child, name)
        if isinstance(value, dict) and "value" in value and child.get("value") is not None:
            # A primitive with extensions: JSON keeps the value under the name and the rest under "_name".
            primitive = value.pop("value")
            values.setdefault("_" + name, value)
            value = primitive
        if name in values:
            existing = values[name]
            if isinstance(existing, list):
                existing.append(value)
            else:
                values[name] = [existing, value]
        else:
            values[name] = value
    return values


def _element(element: ElementTree.Element, name: str) -> Any:
    if name in ("resource", "contained") or (name == "outcome" and len(element) == 1):
        inner = next(iter(element), None)
        return _resource(inner) if inner is not None else {}
    children = _children(element)
    value = element.get("value")
    if not children:
        return value
    if value is not None:
        children["value"] = value
    if element.get("url") is not None:
        children["url"] = element.get("url")
    return children

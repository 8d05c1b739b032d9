"""The FHIR R4 adapter: a Bundle, a lone resource or an NDJSON line in, one mapped message out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from joinedup.feeds._pipeline import FeedUnit
from joinedup.feeds.codes import parse_datetime
from joinedup.feeds.errors import FeedError, Problem, Problems
from joinedup.feeds.fhir.mapping import BundleContext, as_list, map_resource
from joinedup.feeds.fhir.parse import parse_fhir
from joinedup.feeds.mapped import MappedMessage


class FhirAdapter:
    """FHIR R4 JSON or XML: Bundles of any type, single resources, and NDJSON bulk-export lines.

    The message id is ``Bundle/<id>`` for a bundle (a bundle id is unique per send), and
    ``<Type>/<id>/<content hash>`` for a lone resource, so a changed resource is taken again
    while an identical one is a duplicate.
    """

    format = "fhir"

    def read(self, unit: FeedUnit) -> MappedMessage:
        """Parse and map one unit (``preparsed`` may hold the decoded resource already)."""
        resource: dict[str, Any] = unit.preparsed if isinstance(unit.preparsed, dict) else parse_fhir(unit.raw)
        try:
            content_id = unit.content_sha256[:16] if unit.content_sha256 else _short_hash(unit.raw)
            return map_fhir(resource, unit.source, content_id=content_id)
        except FeedError:
            raise
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            # An element of the wrong JSON type (a string or a number where an object belongs), found by
            # fuzzing (tests/reliability): name the kind of fault for the quarantine, never the value.
            raise FeedError([Problem("", "wrong_json_type",
                                     f"an element has the wrong JSON type ({type(exc).__name__})")]) from exc

    def units(self, data: bytes, path: Path) -> Iterator[tuple[str, bytes, Any]]:
        """A file's units: each non-empty line of NDJSON (position = line number), else the whole file."""
        if path.suffix.lower() not in (".ndjson", ".jsonl"):
            yield "1", data, None
            return
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip():
                yield str(number), line, None


def _short_hash(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()[:16]


def map_fhir(resource: dict[str, Any], source: str, *, content_id: str) -> MappedMessage:
    """Map a Bundle or a lone resource from ``source``; raises FeedError with every problem found."""
    kind = str(resource.get("resourceType"))
    problems = Problems()
    if kind == "Bundle":
        bundle_id = resource.get("id")
        message = MappedMessage(
            message_id=f"Bundle/{bundle_id}" if bundle_id else f"Bundle/sha:{content_id}",
            message_type=f"Bundle:{resource.get('type', '')}"[:20],
        )
        message.sent_at = _sent_at(resource.get("timestamp") or _last_updated(resource), "Bundle.timestamp", problems)
        context = BundleContext(source, message, problems)
        entries = []
        for index, entry in enumerate(as_list(resource.get("entry"))):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            request = entry.get("request") if isinstance(entry, dict) else None
            if isinstance(request, dict) and request.get("method") == "DELETE":
                message.ignored += 1
                continue
            if not isinstance(inner, dict) or not isinstance(inner.get("resourceType"), str):
                if isinstance(entry, dict) and inner is None and (entry.get("response") or entry.get("request")):
                    # A read request (GET) or a response without a body: nothing to take in.
                    message.ignored += 1
                    continue
                problems.add(f"Bundle.entry[{index}].resource", "malformed_entry", "an entry without a resource")
                continue
            entries.append((index, entry.get("fullUrl"), inner))
        context.index([(full_url, inner) for _, full_url, inner in entries])
        mapped = 0
        for index, full_url, inner in entries:
            path = f"Bundle.entry[{index}].resource({inner['resourceType']})"
            if map_resource(inner, path, context, full_url):
                mapped += 1
            else:
                message.ignored += 1
        problems.raise_if_any(message_id=message.message_id, message_type=message.message_type)
        if mapped == 0:
            raise FeedError(
                [Problem("Bundle.entry", "no_patient_data", "no entry is about a patient (nothing to ingest)")],
                message_id=message.message_id,
                message_type=message.message_type,
            )
        return message
    resource_id = resource.get("id")
    message = MappedMessage(
        message_id=f"{kind}/{resource_id}/{content_id}" if resource_id else f"{kind}/sha:{content_id}",
        message_type=kind[:20],
    )
    message.sent_at = _sent_at(_last_updated(resource), f"{kind}.meta.lastUpdated", problems)
    context = BundleContext(source, message, problems)
    handled = map_resource(resource, kind, context, None)
    problems.raise_if_any(message_id=message.message_id, message_type=message.message_type)
    if not handled:
        raise FeedError(
            [Problem(kind, "unsupported_resource_type", f"{kind} is not about a patient; joinedup does not ingest it")],
            message_id=message.message_id,
            message_type=message.message_type,
        )
    return message


def _last_updated(resource: dict[str, Any]) -> Any:
    meta = resource.get("meta")
    return meta.get("lastUpdated") if isinstance(meta, dict) else None


def _sent_at(value: Any, path: str, problems: Problems) -> Any:
    if value is None:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        problems.add(path, "malformed_date", "not a valid date-time")
        return None

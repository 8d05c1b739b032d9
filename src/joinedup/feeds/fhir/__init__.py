"""FHIR R4 feeds: Bundles (batch, transaction, collection...), single resources and NDJSON, JSON or XML."""

from joinedup.feeds.fhir.adapter import FhirAdapter

__all__ = ["FhirAdapter"]

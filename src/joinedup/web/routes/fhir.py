"""The FHIR R4 API: CapabilityStatement, read, search and ``Patient/$everything``.

Bearer tokens carry SMART-style scopes (``user/Observation.read``, ``user/*.read``); a browser
session may call it too. Governance decides every read inside the record service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from joinedup import __version__, record
from joinedup.record.fhir import DEFAULT_COUNT, KINDS, MAX_COUNT
from joinedup.web.auth import scopes_allow
from joinedup.web.deps import CurrentUser, DbSession, SearchThrottle, TokenScopes, require_scope
from joinedup.web.errors import FHIR_JSON
from joinedup.web.smart import smart_configuration

router = APIRouter(prefix="/fhir", tags=["FHIR R4"])

SEARCH_PARAMETERS: dict[str, list[dict[str, str]]] = {
    "Patient": [{"name": "identifier", "type": "token", "documentation": "NHS number (system|value)"}],
    **{
        name: [
            {"name": "patient", "type": "reference", "documentation": "required: Patient/<id>"},
            {"name": "date", "type": "date", "documentation": "eq/ge/gt/le/lt + YYYY[-MM[-DD]] or date-time"},
        ]
        for name in KINDS
    },
}


class FhirResponse(JSONResponse):
    """JSON with the FHIR media type."""

    media_type = FHIR_JSON


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


def capability_statement(base_url: str) -> dict[str, Any]:
    """What this server can do, as a FHIR R4 CapabilityStatement."""
    server_url = base_url.removesuffix("/fhir")
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-26",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "software": {"name": "joinedup", "version": __version__},
        "implementation": {"description": "joinedup shared care record", "url": base_url},
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [{
                        "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                        "extension": [
                            {"url": "authorize", "valueUri": f"{server_url}/auth/authorize"},
                            {"url": "token", "valueUri": f"{server_url}/auth/token"},
                        ],
                    }],
                    "cors": False,
                    "service": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR"}]}],
                    "description": "SMART on FHIR standalone launch (authorisation code with PKCE S256; "
                    "see .well-known/smart-configuration), or bearer tokens from POST /auth/token with the "
                    "password grant. Scopes user/<Type>.read, patient/<Type>.read, launch/patient. "
                    "Every read is decided and audited by governance.",
                },
                "resource": [
                    {
                        "type": name,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": SEARCH_PARAMETERS[name],
                        **({"operation": [{"name": "everything",
                                           "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]}
                           if name == "Patient" else {}),
                    }
                    for name in record.RESOURCE_TYPES
                ],
            }
        ],
    }


@router.get("/metadata", response_class=FhirResponse)
def metadata(request: Request) -> FhirResponse:
    """The CapabilityStatement (public, as FHIR servers publish it)."""
    return FhirResponse(capability_statement(_base_url(request)))


@router.get("/.well-known/smart-configuration", include_in_schema=False)
def smart_configuration_document(request: Request) -> JSONResponse:
    """SMART's discovery document, at the FHIR base where SMART App Launch looks for it (public)."""
    return JSONResponse(smart_configuration(str(request.base_url).rstrip("/")))


@router.get("/Patient/{person_id}/$everything", response_class=FhirResponse)
def everything(
    request: Request, person_id: str, db: DbSession, user: CurrentUser, scopes: TokenScopes
) -> FhirResponse:
    """Everything about the patient the caller may read, as one searchset Bundle."""
    require_scope(scopes, "Patient")
    wanted = [name for name in KINDS if scopes is None or scopes_allow(scopes, name)]
    bundle = record.everything_bundle(
        db, actor=user, person_id=person_id, base_url=_base_url(request), resource_types=wanted
    )
    return FhirResponse(bundle)


@router.get("/{resource_type}/{resource_id}", response_class=FhirResponse)
def read(
    resource_type: str, resource_id: str, db: DbSession, user: CurrentUser, scopes: TokenScopes
) -> FhirResponse:
    """Read one resource by id."""
    require_scope(scopes, resource_type)
    return FhirResponse(record.read_resource(db, actor=user, resource_type=resource_type, resource_id=resource_id))


@router.get("/{resource_type}", response_class=FhirResponse)
def search(
    request: Request,
    resource_type: str,
    db: DbSession,
    user: CurrentUser,
    scopes: TokenScopes,
    _throttle: SearchThrottle,
    patient: Annotated[str | None, Query(max_length=80)] = None,
    identifier: Annotated[str | None, Query(max_length=120)] = None,
    date: Annotated[list[str] | None, Query(max_length=40)] = None,
    count: Annotated[int, Query(alias="_count", ge=0, le=MAX_COUNT)] = DEFAULT_COUNT,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search: Patient by identifier; the others by patient, optionally date; paged."""
    require_scope(scopes, resource_type)
    page = record.search_resources(
        db,
        actor=user,
        resource_type=resource_type,
        patient=patient,
        identifier=identifier,
        dates=date or (),
        count=count,
        offset=offset,
    )
    query = [(key, value) for key, value in (("patient", patient), ("identifier", identifier)) if value]
    query += [("date", value) for value in date or ()]
    return FhirResponse(record.search_bundle(page, base_url=_base_url(request), query=query))

"""The web layer: NHS.UK-styled pages, the FHIR R4 API and the JSON API, with authentication.

May import every service package; nothing imports it. Routes parse, call one service and
render; access decisions happen inside the services (through ``joinedup.governance``).
Public: ``create_app(settings) -> FastAPI``.
"""

from joinedup.web.app import create_app

__all__ = ["create_app"]

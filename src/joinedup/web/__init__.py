"""The FastAPI application: NHS.UK-styled pages, the JSON API and the FHIR R4 API, all through
governance. May import every service package; nothing imports it.
"""

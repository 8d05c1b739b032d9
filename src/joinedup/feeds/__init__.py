"""Ingestion: one adapter per inbound format (FHIR R4, HL7 v2 over files and MLLP, CSV extracts,
telehealth), validation, quarantine with reasons, idempotent by source message id. May import model,
store, identity.
"""

"""One writer per source system's format: FHIR R4 (GP), HL7 v2 (PAS), CSV extracts (SUS,
community, social care), JSON lines (telehealth); and the spool that streams them to disk."""

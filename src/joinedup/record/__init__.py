"""The shared care record: a person's longitudinal timeline, summary and FHIR R4 export, read through
governance. May import model, store, governance.
"""

"""Who may see what: users and roles, legitimate relationships, access decisions, consent and opt-outs,
the hash-chained audit, data sharing and disclosure control. May import model, store.
"""

"""The master patient index: NHS number validation, deterministic and probabilistic linkage (Splink),
merge and unmerge, the review queue. May import model, store, governance.
"""

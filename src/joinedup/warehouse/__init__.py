"""Analytic marts built from the record (activity, cost, registers, outcomes): one Ibis definition run
on DuckDB or Spark. May import model, store, governance.
"""

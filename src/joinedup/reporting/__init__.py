"""Dashboards computed from the warehouse: SPC charts (Making Data Count), funnel plots, panel aims,
disclosure-controlled exports. May import risk, warehouse and below.
"""

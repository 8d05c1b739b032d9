"""The synthetic health economy for the demo, tests and benchmarks: writes feed files in real formats
plus ground truth. May import model only.
"""

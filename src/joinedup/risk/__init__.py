"""Risk stratification: eFI frailty, LACE, the emergency-admission model, evaluation, explanations,
cohorts. May import warehouse and below.
"""

"""Clinical risk management kept with the code (DCB0129): the hazard log as data, its check and
the safety case generated from it. Imports nothing from the rest of joinedup but its errors."""

from joinedup.safety.check import SafetyFinding, check_hazard_log
from joinedup.safety.hazard_log import Hazard, load_hazard_log
from joinedup.safety.risk_matrix import ACCEPTABLE_RATING, risk_rating
from joinedup.safety.safety_case import write_safety_case

__all__ = [
    "ACCEPTABLE_RATING",
    "Hazard",
    "SafetyFinding",
    "check_hazard_log",
    "load_hazard_log",
    "risk_rating",
    "write_safety_case",
]

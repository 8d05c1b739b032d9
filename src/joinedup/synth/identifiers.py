"""Each system's own identifiers for a person and their records.

Local ids are affine permutations of the person's index, different per system and per seed, so
that they are unique and stable but say nothing about the person or their ids elsewhere (a linker
cannot cheat by matching MRN digits to a client id)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Per-system multipliers (coprime to 10) and the modulus of the digits each id carries.
_SYSTEMS = {
    "mrn": (7_368_787, 10**8),
    "mrn_duplicate": (2_718_281, 10**8),
    "community": (3_141_593, 10**8),
    "social_care": (1_618_033, 10**7),
    "telehealth": (1_414_213, 10**7),
    "spell": (5_772_157, 10**8),
    "attendance": (6_180_339, 10**8),
    "outpatient": (4_669_201, 10**8),
    "contact": (2_502_907, 10**8),
    "assessment": (1_202_057, 10**8),
    "package": (3_359_887, 10**8),
    "reading": (8_314_463, 10**8),
    "message": (9_192_631, 10**8),
}


def local_number(system: str, index: int, seed: int) -> int:
    """The person's number in a system: a permutation of ``index`` over the system's id space."""
    multiplier, modulus = _SYSTEMS[system]
    offset = (seed * 2_654_435_761 + multiplier) % modulus
    return (multiplier * index + offset) % modulus


def stable_uuid(seed: int, *parts: object) -> str:
    """A UUID-shaped id that is the same for the same seed and parts (a resource's FHIR id)."""
    digest = hashlib.blake2b(":".join(map(str, (seed, *parts))).encode(), digest_size=16).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


@dataclass(frozen=True, slots=True)
class PersonIds:
    """One person's identifiers in every system (duplicate MRN empty unless they have one)."""

    gp_patient_id: str
    mrn: str
    mrn_duplicate: str
    community_client_id: str
    social_care_client_id: str
    telehealth_id: str
    spell_prefix: str
    attendance_prefix: str
    outpatient_prefix: str
    contact_prefix: str
    assessment_prefix: str
    package_prefix: str
    reading_prefix: str
    message_prefix: str


def person_ids(index: int, seed: int, *, duplicate_mrn: bool) -> PersonIds:
    """Every system's id for person ``index``."""

    def number(system: str, width: int) -> str:
        return f"{local_number(system, index, seed):0{width}d}"

    return PersonIds(
        gp_patient_id=stable_uuid(seed, "Patient", index),
        mrn=f"RZZ{number('mrn', 8)}",
        mrn_duplicate=f"RZZ9{number('mrn_duplicate', 8)}" if duplicate_mrn else "",
        community_client_id=f"CN{number('community', 8)}",
        social_care_client_id=f"SC{number('social_care', 7)}",
        telehealth_id=f"TH{number('telehealth', 7)}",
        spell_prefix=f"SP{number('spell', 8)}",
        attendance_prefix=f"AE{number('attendance', 8)}",
        outpatient_prefix=f"OP{number('outpatient', 8)}",
        contact_prefix=f"CC{number('contact', 8)}",
        assessment_prefix=f"SA{number('assessment', 8)}",
        package_prefix=f"PK{number('package', 8)}",
        reading_prefix=f"RD{number('reading', 8)}",
        message_prefix=f"{number('message', 8)}",
    )

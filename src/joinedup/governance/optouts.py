"""Consent and opt-outs for secondary uses: the national data opt-out, local objections, directives.

The national checking service answers with a *cleaned list*: the NHS numbers of people who have
NOT opted out, as of a date, for a purpose. ``load_cleaned_list`` keeps each list whole and dated;
``secondary_use_person_ids`` is THE one function every secondary-use output (warehouse marts,
extracts, reports) filters through: a person is included only when the newest list for the purpose,
no older than the consent policy allows, names them, and no honoured local objection or consent
directive excludes them. Nobody unchecked gets through, and nothing is written onto the person.
Opt-outs never apply to direct care.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from joinedup.errors import InvalidInput
from joinedup.governance.policy import CONSENT_POLICY_PATH, LOCAL_OBJECTION_KINDS, load_consent_policy
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import LocalObjection, OptOutList, OptOutListEntry
from joinedup.store.tables.identity import Person, SourcePatient

logger = logging.getLogger(__name__)

CLEANED_LIST_NAME = re.compile(r"cleaned-list-(\d{4}-\d{2}-\d{2})\.csv$")
_INSERT_BATCH = 2000


@dataclass(frozen=True)
class CleanedListLoad:
    """What loading a cleaned list did."""

    opt_out_list_id: int
    purpose: str
    list_date: date
    entry_count: int
    rejected_count: int
    replaced: bool


def _nhs_number_ok(value: str) -> bool:
    """Ten digits with a correct modulus-11 check digit (identity owns full validation)."""
    if len(value) != 10 or not value.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


def load_cleaned_list(
    session: Session, path: Path, purpose: str, *, policy_path: Path = CONSENT_POLICY_PATH
) -> CleanedListLoad:
    """Load a national data opt-out cleaned list (``cleaned-list-YYYY-MM-DD.csv``, column ``nhs_number``).

    Loading the same purpose and date again replaces that list (a corrected file).

    Raises:
        InvalidInput: the file name carries no date, there is no ``nhs_number`` column, or the purpose
            is not in the consent policy.
    """
    rule = load_consent_policy(policy_path).purpose(purpose)
    if not rule.national_opt_out:
        raise InvalidInput(f"the national data opt-out does not apply to {purpose!r}; no list needed")
    match = CLEANED_LIST_NAME.search(path.name)
    if match is None:
        raise InvalidInput(f"{path.name}: expected a name like cleaned-list-YYYY-MM-DD.csv")
    list_date = date.fromisoformat(match.group(1))
    content = path.read_bytes()
    numbers, rejected = _read_numbers(path, content)
    existing = session.scalar(
        select(OptOutList).where(OptOutList.purpose == purpose, OptOutList.list_date == list_date)
    )
    if existing is not None:
        session.execute(delete(OptOutListEntry).where(OptOutListEntry.opt_out_list_id == existing.opt_out_list_id))
        session.delete(existing)
        session.flush()
    cleaned = OptOutList(
        purpose=purpose,
        list_date=list_date,
        file_name=path.name,
        content_sha256=hashlib.sha256(content).hexdigest(),
        entry_count=len(numbers),
    )
    session.add(cleaned)
    session.flush()
    ordered = sorted(numbers)
    for start in range(0, len(ordered), _INSERT_BATCH):
        batch = ordered[start : start + _INSERT_BATCH]
        session.execute(
            insert(OptOutListEntry),
            [{"opt_out_list_id": cleaned.opt_out_list_id, "nhs_number": number} for number in batch],
        )
    logger.info("cleaned list %s for %s: %d NHS numbers, %d rejected", path.name, purpose, len(numbers), rejected)
    return CleanedListLoad(
        opt_out_list_id=cleaned.opt_out_list_id,
        purpose=purpose,
        list_date=list_date,
        entry_count=len(numbers),
        rejected_count=rejected,
        replaced=existing is not None,
    )


def _read_numbers(path: Path, content: bytes) -> tuple[set[str], int]:
    lines = content.decode("utf-8-sig").splitlines()
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or "nhs_number" not in reader.fieldnames:
        raise InvalidInput(f"{path.name}: no nhs_number column")
    numbers: set[str] = set()
    rejected = 0
    for row in reader:
        value = (row.get("nhs_number") or "").replace(" ", "").strip()
        if _nhs_number_ok(value):
            numbers.add(value)
        else:
            rejected += 1
    return numbers, rejected


def load_cleaned_lists(
    session: Session, folder: Path, purpose: str | None = None, *, policy_path: Path = CONSENT_POLICY_PATH
) -> list[CleanedListLoad]:
    """Load every ``cleaned-list-*.csv`` in a folder (e.g. ``DIR/national-data-opt-out``).

    Args:
        purpose: the purpose the lists were checked for; None loads them for every purpose the
            consent policy subjects to the national data opt-out (the national service's answer is
            the same list for planning and research).
    """
    policy = load_consent_policy(policy_path)
    purposes = [purpose] if purpose else [name for name, rule in policy.purposes.items() if rule.national_opt_out]
    return [
        load_cleaned_list(session, path, name, policy_path=policy_path)
        for name in purposes
        for path in sorted(folder.glob("cleaned-list-*.csv"))
    ]


def record_local_objection(
    session: Session,
    *,
    person_id: str,
    kind: str,
    purpose: str | None = None,
    org_code: str | None = None,
    recorded_by: str | None = None,
) -> LocalObjection:
    """Record a local objection (``type_1``) or a consent directive (declines sharing with ``org_code``).

    Raises:
        InvalidInput: unknown kind, or a consent directive without the organisation it names.
    """
    if kind not in LOCAL_OBJECTION_KINDS:
        raise InvalidInput(f"unknown objection kind {kind!r}; known: {', '.join(LOCAL_OBJECTION_KINDS)}")
    if kind == "consent_directive" and not org_code:
        raise InvalidInput("a consent directive names the organisation the person declines sharing with")
    objection = LocalObjection(
        person_id=person_id, kind=kind, purpose=purpose, org_code=org_code, recorded_by=recorded_by
    )
    session.add(objection)
    session.flush()
    return objection


def withdraw_local_objection(session: Session, *, local_objection_id: int) -> None:
    """The person withdraws an objection or directive (kept, marked withdrawn)."""
    objection = session.get(LocalObjection, local_objection_id)
    if objection is not None and objection.withdrawn_at is None:
        objection.withdrawn_at = utc_now()


def current_cleaned_list(session: Session, *, purpose: str, as_of: date, max_age_days: int) -> OptOutList | None:
    """The newest cleaned list for the purpose dated on or before ``as_of`` and fresh enough."""
    return session.scalars(
        select(OptOutList)
        .where(
            OptOutList.purpose == purpose,
            OptOutList.list_date <= as_of,
            OptOutList.list_date >= as_of - timedelta(days=max_age_days),
        )
        .order_by(OptOutList.list_date.desc())
        .limit(1)
    ).first()


def secondary_use_person_ids(
    session: Session,
    *,
    purpose: str,
    as_of: date,
    recipient_org_code: str | None = None,
    policy_path: Path = CONSENT_POLICY_PATH,
) -> set[str]:
    """The people whose data may be used for ``purpose`` on ``as_of``: THE filter for secondary uses.

    Included: active persons with a valid NHS number that the newest cleaned list for the purpose
    (no older than the policy allows) names, minus honoured local objections (type 1) and consent
    directives (any directive when the recipient is not named, else those naming the recipient).
    With no fresh cleaned list, nobody is included.

    Raises:
        InvalidInput: the purpose is not a secondary use in the consent policy (direct care never is).
    """
    rule = load_consent_policy(policy_path).purpose(purpose)
    query = (
        select(SourcePatient.person_id, SourcePatient.nhs_number)
        .join(Person, Person.person_id == SourcePatient.person_id)
        .where(Person.status == "active", SourcePatient.nhs_number_status == "valid")
    )
    if not rule.national_opt_out:
        everyone = {person_id for person_id, _ in session.execute(query) if person_id is not None}
        return everyone - _objecting(session, purpose, rule.honour_local, recipient_org_code)
    cleaned = current_cleaned_list(session, purpose=purpose, as_of=as_of, max_age_days=rule.cleaned_list_max_age_days)
    if cleaned is None:
        logger.warning("no cleaned list for %s within %d days of %s", purpose, rule.cleaned_list_max_age_days, as_of)
        return set()
    checked = query.add_columns(OptOutListEntry.nhs_number.is_not(None)).outerjoin(
        OptOutListEntry,
        (OptOutListEntry.nhs_number == SourcePatient.nhs_number)
        & (OptOutListEntry.opt_out_list_id == cleaned.opt_out_list_id),
    )
    included: set[str] = set()
    # A person any of whose valid NHS numbers the list does not name stays out (linkage may be wrong).
    unchecked: set[str] = set()
    for person_id, _, on_list in session.execute(checked):
        if person_id is not None:
            (included if on_list else unchecked).add(person_id)
    included -= unchecked
    return included - _objecting(session, purpose, rule.honour_local, recipient_org_code)


def _objecting(session: Session, purpose: str, honoured: list[str], recipient_org_code: str | None) -> set[str]:
    if not honoured:
        return set()
    query = select(LocalObjection.person_id, LocalObjection.kind, LocalObjection.org_code).where(
        LocalObjection.kind.in_(honoured),
        or_(LocalObjection.purpose.is_(None), LocalObjection.purpose == purpose),
        LocalObjection.withdrawn_at.is_(None),
    )
    excluded: set[str] = set()
    for person_id, kind, org_code in session.execute(query):
        if kind == "consent_directive" and recipient_org_code is not None and org_code != recipient_org_code:
            continue
        excluded.add(person_id)
    return excluded

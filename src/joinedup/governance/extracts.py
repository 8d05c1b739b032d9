"""De-identified extracts for approved data requests (``joinedup extract --request ID --out DIR``).

What leaves: a pseudonym per person (HMAC-SHA256 under ``settings.secret("pseudonymisation_key")``,
keyed per request, or per agreement when it allows linkage; a plain or salted hash of an NHS number
could be brute-forced in minutes), only the fields the request and its agreement name (never a
direct identifier), dates coarsened as the agreement says, only people that
``secondary_use_person_ids`` lets through, and aggregates under statistical disclosure control.

Re-identification is for direct care only, by the controller: ``reidentify`` maps pseudonyms of
a request back to people the actor already has a direct-care relationship with, each audited.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.errors import AccessDenied, Conflict, NotFound
from joinedup.governance.access import authorise
from joinedup.governance.audit import record_audit
from joinedup.governance.disclosure import SUPPRESS_UP_TO, protect_counts, protect_table
from joinedup.governance.optouts import secondary_use_person_ids
from joinedup.governance.policy import load_access_policy
from joinedup.governance.sharing import require_sharing_agreement
from joinedup.model import Actor
from joinedup.settings import Settings
from joinedup.store.tables.base import utc_now
from joinedup.store.tables.governance import DataExtract, DataRequest, DataSharingAgreement
from joinedup.store.tables.identity import Person, SourcePatient
from joinedup.store.tables.record import Condition, Encounter, Observation

logger = logging.getLogger(__name__)

AGE_BANDS = (
    (0, 17, "0-17"),
    (18, 44, "18-44"),
    (45, 64, "45-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
    (85, 200, "85+"),
)
SEXES = ("female", "male", "other", "unknown")


@dataclass(frozen=True)
class ExtractReport:
    """What an extract produced."""

    data_extract_id: int
    data_request_id: int
    folder: Path
    person_count: int
    # People in the cohort left out by opt-outs, objections or consent (a count, never who).
    excluded_count: int
    files: dict[str, int]


@dataclass
class _PersonFacts:
    person_id: str
    birth_date: date | None
    sex: str | None
    ethnicity_code: str | None
    lsoa_code: str | None
    practice_code: str | None
    death_date: date | None
    source_patient_ids: list[int]


def pseudonym_scope(request: DataRequest, agreement: DataSharingAgreement) -> str:
    """What the pseudonym key is bound to: the request, or the agreement when linkage is allowed."""
    if agreement.linkage_allowed_flag:
        return f"agreement:{agreement.agreement_id}"
    return f"request:{request.data_request_id}"


def pseudonymise(key: str, scope: str, person_id: str) -> str:
    """A keyed pseudonym (HMAC-SHA256, 20 hex characters): stable in a scope, unlinkable across."""
    return hmac.new(key.encode(), f"{scope}|{person_id}".encode(), hashlib.sha256).hexdigest()[:20]


def coarsen(value: date | None, precision: str) -> str:
    """A date as the agreement allows it out: day (YYYY-MM-DD), month (YYYY-MM) or year (YYYY)."""
    if value is None:
        return ""
    text = value.isoformat()
    return {"day": text, "month": text[:7], "year": text[:4]}[precision]


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def age_band(age: int) -> str:
    """The age band an age falls in."""
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def _person_facts(session: Session) -> dict[str, _PersonFacts]:
    """Each active person's demographics, from their GP record first, else any record."""
    gp_sources = set(load_access_policy().registered_practice_sources)
    rows = session.execute(
        select(SourcePatient)
        .join(Person, Person.person_id == SourcePatient.person_id)
        .where(Person.status == "active")
        .order_by(SourcePatient.source_patient_id)
    ).scalars()
    facts: dict[str, _PersonFacts] = {}
    preferred: dict[str, bool] = {}
    for row in rows:
        assert row.person_id is not None
        is_gp = row.source in gp_sources
        known = facts.get(row.person_id)
        if known is None or (is_gp and not preferred[row.person_id]):
            ids = known.source_patient_ids if known else []
            facts[row.person_id] = _PersonFacts(
                person_id=row.person_id,
                birth_date=row.birth_date,
                sex=row.sex,
                ethnicity_code=row.ethnicity_code,
                lsoa_code=row.lsoa_code,
                practice_code=row.registered_practice_code,
                death_date=row.deceased_date,
                source_patient_ids=ids,
            )
            preferred[row.person_id] = is_gp
        facts[row.person_id].source_patient_ids.append(row.source_patient_id)
    return facts


def _in_cohort(session: Session, facts: dict[str, _PersonFacts], cohort: dict[str, Any], on: date) -> set[str]:
    selected = set(facts)
    if cohort.get("min_age") is not None or cohort.get("max_age") is not None:
        low, high = int(cohort.get("min_age") or 0), int(cohort.get("max_age") or 200)
        births = {p: facts[p].birth_date for p in selected}
        selected = {p for p, born in births.items() if born is not None and low <= age_on(born, on) <= high}
    if cohort.get("practice_codes"):
        practices = set(cohort["practice_codes"])
        selected = {p for p in selected if facts[p].practice_code in practices}
    if cohort.get("sex"):
        selected = {p for p in selected if facts[p].sex == cohort["sex"]}
    if cohort.get("condition_codes"):
        prefixes = tuple(str(code) for code in cohort["condition_codes"])
        having = {
            person_id
            for person_id, code in session.execute(
                select(SourcePatient.person_id, Condition.code).join(
                    SourcePatient, SourcePatient.source_patient_id == Condition.source_patient_id
                )
            )
            if person_id is not None and code.startswith(prefixes)
        }
        selected &= having
    return selected


def produce_extract(
    session: Session, *, actor: Actor, settings: Settings, data_request_id: int, out_dir: Path
) -> ExtractReport:
    """Produce the de-identified extract of an approved request into ``out_dir/request-<id>/``.

    Writes ``person.csv`` (pseudonym and the person fields asked for), one CSV per record table asked
    for (events in the request's period), ``aggregate.csv`` (people by age band and sex, under
    disclosure control) and ``manifest.json``; records the extract and audits it.

    Raises:
        NotFound: no such request.
        Conflict: the request is not approved.
        AccessDenied: the agreement is not in force, or the actor may not produce extracts.
    """
    request = session.get(DataRequest, data_request_id)
    if request is None:
        raise NotFound(f"no data request #{data_request_id}")
    if request.status not in ("approved", "extracted"):
        raise Conflict(f"data request #{data_request_id} is {request.status}; only approved requests are extracted")
    authorise(
        session,
        actor=actor,
        person_id=None,
        resource_type="extract",
        action="export",
        purpose=request.purpose,
        detail=f"data_request #{data_request_id}",
    )
    agreement = require_sharing_agreement(session, request.agreement_id)
    today = utc_now().date()
    facts = _person_facts(session)
    cohort = _in_cohort(session, facts, dict(request.cohort), request.period_end)
    allowed = secondary_use_person_ids(
        session, purpose=request.purpose, as_of=today, recipient_org_code=agreement.party
    )
    released = sorted(cohort & allowed)
    key = settings.secret("pseudonymisation_key").get_secret_value()
    scope = pseudonym_scope(request, agreement)
    pseudonyms = {person_id: pseudonymise(key, scope, person_id) for person_id in released}
    folder = out_dir / f"request-{data_request_id}"
    folder.mkdir(parents=True, exist_ok=True)
    writer = _ExtractWriter(session, folder, request, agreement.date_precision, facts, pseudonyms)
    files = writer.write_all()
    excluded = len(cohort) - len(released)
    files["manifest.json"] = 1
    _write_manifest(folder, request, agreement, scope, len(released), excluded, files)
    extract = DataExtract(
        data_request_id=data_request_id,
        produced_by=actor.username,
        person_count=len(released),
        excluded_count=excluded,
        files=dict(files),
    )
    session.add(extract)
    request.status = "extracted"
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="export",
        resource_type="extract",
        detail=f"data_request #{data_request_id}: extract #{extract.data_extract_id}, {len(released)} people",
        basis=f"agreement {agreement.agreement_id}",
        purpose=request.purpose,
    )
    logger.info("extract %d for request %d: %d people", extract.data_extract_id, data_request_id, len(released))
    return ExtractReport(
        data_extract_id=extract.data_extract_id,
        data_request_id=data_request_id,
        folder=folder,
        person_count=len(released),
        excluded_count=excluded,
        files=files,
    )


def _write_manifest(
    folder: Path,
    request: DataRequest,
    agreement: DataSharingAgreement,
    scope: str,
    released: int,
    excluded: int,
    files: dict[str, int],
) -> None:
    # The released count is in person.csv anyway; the excluded count alone is protected.
    protected_excluded = protect_counts({"excluded": excluded}).counts["excluded"]
    manifest = {
        "data_request_id": request.data_request_id,
        "title": request.title,
        "purpose": request.purpose,
        "legal_basis": request.legal_basis,
        "agreement_id": agreement.agreement_id,
        "recipient": agreement.party,
        "period": [request.period_start.isoformat(), request.period_end.isoformat()],
        "fields": list(request.fields),
        "date_precision": agreement.date_precision,
        "pseudonym": {
            "method": "HMAC-SHA256, truncated to 20 hex characters",
            "linkable_across": "requests under this agreement" if scope.startswith("agreement:") else "none",
        },
        "disclosure_control": f"counts 1-{SUPPRESS_UP_TO} suppressed (*), others rounded to the nearest 5, "
        "secondary suppression against totals",
        "people": {"released": released, "excluded": "*" if protected_excluded is None else protected_excluded},
        "files": files,
        "produced_at": utc_now().isoformat(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


class _ExtractWriter:
    """Writes the extract's CSV files for the released people."""

    def __init__(
        self,
        session: Session,
        folder: Path,
        request: DataRequest,
        precision: str,
        facts: dict[str, _PersonFacts],
        pseudonyms: dict[str, str],
    ) -> None:
        self.session = session
        self.folder = folder
        self.request = request
        self.fields = set(request.fields)
        self.precision = precision
        self.facts = facts
        self.pseudonyms = pseudonyms
        # Events in the period, as UTC instants (the day after the end, exclusive).
        self._period_from = datetime.combine(request.period_start, time.min, tzinfo=UTC)
        self._period_to = datetime.combine(request.period_end + timedelta(days=1), time.min, tzinfo=UTC)
        self.person_of = {
            source_patient_id: person_id
            for person_id in pseudonyms
            for source_patient_id in facts[person_id].source_patient_ids
        }

    def write_all(self) -> dict[str, int]:
        files = {"person.csv": self._write_people(), "aggregate.csv": self._write_aggregate()}
        if any(f.startswith("condition.") for f in self.fields):
            files["condition.csv"] = self._write_conditions()
        if any(f.startswith("encounter.") for f in self.fields):
            files["encounter.csv"] = self._write_encounters()
        if any(f.startswith("observation.") for f in self.fields):
            files["observation.csv"] = self._write_observations()
        return files

    def _write(self, name: str, header: list[str], rows: Iterable[list[Any]]) -> int:
        count = 0
        with (self.folder / name).open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            for row in rows:
                out.writerow(row)
                count += 1
        return count

    def _wanted(self, table: str, names: list[str]) -> list[str]:
        return [n for n in names if f"{table}.{n}" in self.fields]

    def _write_people(self) -> int:
        columns = self._wanted(
            "person", ["birth_date", "sex", "ethnicity_code", "lsoa_code", "practice_code", "death_date"]
        )

        def row(person_id: str) -> list[Any]:
            facts = self.facts[person_id]
            values = {
                "birth_date": coarsen(facts.birth_date, self.precision),
                "sex": facts.sex or "",
                "ethnicity_code": facts.ethnicity_code or "",
                "lsoa_code": facts.lsoa_code or "",
                "practice_code": facts.practice_code or "",
                "death_date": coarsen(facts.death_date, self.precision),
            }
            return [self.pseudonyms[person_id], *(values[c] for c in columns)]

        ordered = sorted(self.pseudonyms, key=self.pseudonyms.__getitem__)
        return self._write("person.csv", ["pseudonym", *columns], (row(p) for p in ordered))

    def _in_period(self, value: date | None) -> bool:
        return value is not None and self.request.period_start <= value <= self.request.period_end

    def _write_conditions(self) -> int:
        columns = self._wanted("condition", ["code", "onset_date"])
        header = ["pseudonym"] + (["code", "code_system"] if "code" in columns else [])
        header += ["onset_date"] if "onset_date" in columns else []
        rows = []
        for row in self.session.scalars(
            select(Condition)
            .where(Condition.sealed_flag.is_(False))
            .order_by(Condition.condition_id)
            .execution_options(yield_per=2000)
        ):
            person_id = self.person_of.get(row.source_patient_id)
            if person_id is None:
                continue
            out: list[Any] = [self.pseudonyms[person_id]]
            if "code" in columns:
                out += [row.code, row.code_system]
            if "onset_date" in columns:
                out.append(coarsen(row.onset_date, self.precision))
            rows.append(out)
        return self._write("condition.csv", header, sorted(rows))

    def _write_encounters(self) -> int:
        names = ["setting", "start_date", "end_date", "org_code", "admission_method", "primary_diagnosis_code"]
        columns = self._wanted("encounter", names)
        rows = []
        for row in self.session.scalars(
            select(Encounter)
            .where(Encounter.start_at >= self._period_from, Encounter.start_at < self._period_to)
            .order_by(Encounter.encounter_id)
            .execution_options(yield_per=2000)
        ):
            person_id = self.person_of.get(row.source_patient_id)
            start = row.start_at.date() if row.start_at else None
            if person_id is None or not self._in_period(start):
                continue
            values = {
                "setting": row.setting,
                "start_date": coarsen(start, self.precision),
                "end_date": coarsen(row.end_at.date() if row.end_at else None, self.precision),
                "org_code": row.org_code or "",
                "admission_method": row.admission_method or "",
                "primary_diagnosis_code": row.primary_diagnosis_code or "",
            }
            rows.append([self.pseudonyms[person_id], *(values[c] for c in columns)])
        return self._write("encounter.csv", ["pseudonym", *columns], sorted(rows))

    def _write_observations(self) -> int:
        columns = self._wanted("observation", ["code", "effective_date"])
        header = ["pseudonym"] + (["code", "code_system", "value_num", "unit"] if "code" in columns else [])
        header += ["effective_date"] if "effective_date" in columns else []
        rows = []
        for row in self.session.scalars(
            select(Observation)
            .where(
                Observation.sealed_flag.is_(False),
                Observation.effective_at >= self._period_from,
                Observation.effective_at < self._period_to,
            )
            .order_by(Observation.observation_id)
            .execution_options(yield_per=2000)
        ):
            person_id = self.person_of.get(row.source_patient_id)
            effective = row.effective_at.date() if row.effective_at else None
            if person_id is None or not self._in_period(effective):
                continue
            out: list[Any] = [self.pseudonyms[person_id]]
            if "code" in columns:
                out += [row.code, row.code_system, "" if row.value_num is None else row.value_num, row.unit or ""]
            if "effective_date" in columns:
                out.append(coarsen(effective, self.precision))
            rows.append(out)
        return self._write("observation.csv", header, sorted(rows, key=lambda r: [str(v) for v in r]))

    def _write_aggregate(self) -> int:
        """People by age band (at the period's end) and sex, under disclosure control."""
        bands = [label for _, _, label in AGE_BANDS]
        counts = [[0] * len(SEXES) for _ in bands]
        for person_id in self.pseudonyms:
            facts = self.facts[person_id]
            if facts.birth_date is None:
                continue
            band = bands.index(age_band(age_on(facts.birth_date, self.request.period_end)))
            sex = SEXES.index(facts.sex) if facts.sex in SEXES else SEXES.index("unknown")
            counts[band][sex] += 1
        table = protect_table(counts, row_labels=bands, column_labels=list(SEXES))
        rows = table.rows(row_header="age_band")
        return self._write("aggregate.csv", rows[0], rows[1:])


def reidentify(
    session: Session, *, actor: Actor, settings: Settings, data_request_id: int, pseudonyms: Iterable[str]
) -> dict[str, str]:
    """Map a request's pseudonyms back to people, for direct care by the controller only.

    Only people the actor may re-identify under the access policy (e.g. a GP for their own
    practice's patients) are matched; each match is audited by ``authorise``. Others stay unknown.

    Returns:
        pseudonym -> person_id for the ones re-identified.
    """
    request = session.get(DataRequest, data_request_id)
    if request is None:
        raise NotFound(f"no data request #{data_request_id}")
    agreement = session.get(DataSharingAgreement, request.agreement_id)
    assert agreement is not None
    wanted = set(pseudonyms)
    key = settings.secret("pseudonymisation_key").get_secret_value()
    scope = pseudonym_scope(request, agreement)
    found: dict[str, str] = {}
    candidates = session.scalars(
        select(SourcePatient.person_id)
        .where(SourcePatient.registered_practice_code == actor.org_code, SourcePatient.person_id.is_not(None))
        .distinct()
    ).all()
    for person_id in candidates:
        assert person_id is not None
        pseudonym = pseudonymise(key, scope, person_id)
        if pseudonym not in wanted:
            continue
        try:
            authorise(
                session,
                actor=actor,
                person_id=person_id,
                resource_type="patient",
                action="reidentify",
                detail=f"data_request #{data_request_id}",
            )
        except AccessDenied:
            continue
        found[pseudonym] = person_id
    return found

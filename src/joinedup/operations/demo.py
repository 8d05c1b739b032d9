"""The demo: a synthetic borough taken through every part of joinedup, stage by stage.

Each stage reuses what an earlier run left in the home (feeds already generated and ingested, a
model already trained, users already created), so re-running is quick; ``fresh`` starts over.
The stages report counts, which the CLI shows as they finish and a test checks end to end.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from joinedup import governance
from joinedup.coordination import CENTRE_TEAM_ID
from joinedup.coordination.centre import run_centre_jobs, set_up_centre
from joinedup.coordination.discharge_support import DISCHARGE_TEAM_ID
from joinedup.coordination.outbox import go_live_from_now
from joinedup.coordination.referrals import receive_referral, triage_referral
from joinedup.coordination.schemas import ReferralCreate, TriageDecision
from joinedup.feeds import ingest_paths
from joinedup.identity.merge_events import apply_merge_events
from joinedup.identity.service import run_linkage
from joinedup.model import Actor
from joinedup.operations.live_feed import replay_admissions
from joinedup.risk.scoring import score_population
from joinedup.risk.training import train_risk_model
from joinedup.settings import Settings
from joinedup.store.tables import Organisation, SourcePatient
from joinedup.store.tables.coordination import PathwayInstance, Referral
from joinedup.store.tables.risk import RiskScore
from joinedup.synth import generate_economy
from joinedup.warehouse import build_warehouse
from joinedup.workforce.day_plans import create_day_plan, neighbourhood_team, seed_example_team
from joinedup.workforce.demand import demand_rates
from joinedup.workforce.due_today import interventions_due, neighbourhood_residents

SEED = 20261126
DEMO_YEARS = 3
CASELOAD_SIZE = 40
TEAM_BASE_POSTCODE = "M33 7XX"


@dataclass
class DemoOptions:
    """What the demo is asked to do."""

    people: int = 20_000
    years: int = DEMO_YEARS
    seed: int = SEED
    faults: float = 0.02


@dataclass
class DemoContext:
    """What the stages share: the home, the store, and what earlier stages found."""

    settings: Settings
    engine: Engine
    options: DemoOptions
    sessions: sessionmaker[Session] = field(init=False)
    found: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def feeds_dir(self) -> Path:
        return self.settings.home / "feeds"

    @property
    def models_dir(self) -> Path:
        return self.settings.home / "models"


def synthesise(ctx: DemoContext) -> dict[str, Any]:
    """Generate the borough's feeds and truth once per (people, years, seed, faults)."""
    manifest = ctx.feeds_dir / "manifest.json"
    wanted = {"people": ctx.options.people, "years": ctx.options.years, "seed": ctx.options.seed}
    if manifest.exists():
        existing = json.loads(manifest.read_text())
        if all(existing.get(key) == value for key, value in wanted.items()):
            return {"people": existing.get("people"), "reused": True}
    summary = generate_economy(ctx.feeds_dir, people=ctx.options.people, years=ctx.options.years,
                               seed=ctx.options.seed, faults=ctx.options.faults)
    return {"people": summary.people, "files": len(summary.files), "injected_faults": summary.injected_faults}


def ingest(ctx: DemoContext) -> dict[str, Any]:
    """Ingest every feed folder (files already done are skipped)."""
    with ctx.sessions() as session:
        summary = ingest_paths(session, [ctx.feeds_dir])
        session.commit()
    return {"read": summary.read, "accepted": summary.accepted, "duplicates": summary.duplicates,
            "quarantined": summary.quarantined_count, "files_skipped": summary.files_skipped}


def link(ctx: DemoContext) -> dict[str, Any]:
    """Link source patients to persons and score the linkage against the synthetic truth."""
    with ctx.sessions() as session:
        report = run_linkage(session, ctx.settings, truth=ctx.feeds_dir / "truth")
        merges = apply_merge_events(session)
        session.commit()
    counts: dict[str, Any] = {"persons": report.persons, "unlinked": report.unlinked,
                              "review_open": report.review_open, "a40_merged": merges.merged}
    if report.metrics is not None:
        counts.update(precision=round(report.metrics.precision, 4), recall=round(report.metrics.recall, 4))
    return counts


def govern(ctx: DemoContext) -> dict[str, Any]:
    """Load the national data opt-out cleaned lists and create the demo users (one per role).

    The synthetic list answers for the last simulated day. The demo then goes live today, so it
    asks the national service again, as a deployment does each month: for synthetic people the
    answer is unchanged, so the same list is loaded dated today (kept in the home).
    """
    with ctx.sessions() as session:
        loads = governance.load_cleaned_lists(session, ctx.feeds_dir / "national-data-opt-out")
        loads += governance.load_cleaned_lists(session, _recheck_today(ctx))
        users = create_demo_users(session, ctx)
        session.commit()
    ctx.found["users"] = users
    return {"opt_out_lists": len(loads), "users": len(users)}


def _recheck_today(ctx: DemoContext) -> Path:
    """Today's answer of the national checking service for the synthetic people (see ``govern``)."""
    latest = max((ctx.feeds_dir / "national-data-opt-out").glob("cleaned-list-*.csv"))
    folder = ctx.settings.home / "national-data-opt-out"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(latest, folder / f"cleaned-list-{date.today().isoformat()}.csv")
    return folder


def warehouse(ctx: DemoContext) -> dict[str, Any]:
    """Build (or refresh) the warehouse on DuckDB."""
    report = build_warehouse(ctx.sessions, ctx.settings)
    return {"mode": report.mode, "tables": len(report.table_rows), "secondary_use_people":
            report.secondary_use_person_count, "opted_out": report.opted_out_person_count}


def stratify(ctx: DemoContext) -> dict[str, Any]:
    """Train the emergency admission model (once) and score everyone."""
    with duckdb.connect(str(ctx.settings.warehouse_path), read_only=True) as con:
        counts: dict[str, Any] = {}
        if not (ctx.models_dir / "LATEST").exists():
            result = train_risk_model(con, models_dir=ctx.models_dir)
            counts["auroc"] = result.report.get("model", {}).get("auroc")
            counts["model_version"] = result.version
        with ctx.sessions() as session:
            scored = score_population(session, con, models_dir=ctx.models_dir)
    counts.update(scored=scored.people, by_band=scored.by_band)
    return counts


def coordinate(ctx: DemoContext) -> dict[str, Any]:
    """Put the highest-risk people of the demo practice on pathways through the centre's referral route."""
    with ctx.sessions() as session:
        if session.scalar(select(func.count()).select_from(PathwayInstance)):
            return {"referrals": session.scalar(select(func.count()).select_from(Referral)), "reused": True}
        set_up_centre(session)
        history = go_live_from_now(session)
        coordinator = governance.load_actor(session, ctx.found["users"]["coordinator"]["user_id"])
        latest = session.scalar(select(func.max(RiskScore.as_of_date)))
        top = session.scalars(select(RiskScore).where(RiskScore.as_of_date == latest)
                              .order_by(RiskScore.population_rank).limit(CASELOAD_SIZE)).all()
        accepted = 0
        for score in top:
            pathway = _pathway_for(score)
            referral = receive_referral(session, actor=coordinator, request=ReferralCreate(
                person_id=score.person_id, reason="High risk of emergency admission on the practice's list",
                urgency="urgent", suggested_pathway_id=pathway, referrer_org_code=score.practice_code))
            triage_referral(session, actor=coordinator, referral_id=referral.referral_id,
                            decision=TriageDecision(outcome="accept", pathway_id=pathway,
                                                    reason="Meets the pathway's entry criteria"))
            accepted += 1
        run = run_centre_jobs(session)
        session.commit()
    return {"referrals": accepted, "history_passed_over": history, "outbox_events": run.outbox_events}


def _pathway_for(score: RiskScore) -> str:
    if score.efi_category in {"moderate", "severe"}:
        return "frailty-falls"
    return "post-discharge"


def plan_workforce(ctx: DemoContext) -> dict[str, Any]:
    """Put an example team in post in each neighbourhood; plan today's visits where most are frail."""
    with ctx.sessions() as session:
        names = sorted(n for n in session.scalars(select(Organisation.neighbourhood).distinct()) if n)
        if not names:
            return {"neighbourhoods": 0}
        for name in names:
            if not neighbourhood_team(session, name):
                seed_example_team(session, neighbourhood=name, base_postcode=TEAM_BASE_POSTCODE)
        residents = {name: neighbourhood_residents(session, name) for name in names}
        busiest = max(names, key=lambda name: len(residents[name]))
        coordinator = governance.load_actor(session, ctx.found["users"]["coordinator"]["user_id"])
        day = session.scalar(select(func.max(RiskScore.as_of_date)))
        assert day is not None
        due = interventions_due(residents[busiest], demand_rates(), day)
        plan = create_day_plan(session, actor=coordinator, neighbourhood=busiest, plan_date=day, due=due,
                               base_postcode=TEAM_BASE_POSTCODE)
        session.commit()
    return {"neighbourhoods": len(names), "planned": busiest, "due": len(due),
            "visits_before": plan.visits_before, "visits_after": plan.visits_after}


def live_feed(ctx: DemoContext) -> dict[str, Any]:
    """Replay a day of admissions and discharges over MLLP so the board moves."""
    with ctx.sessions() as session:
        caseload = session.scalars(select(PathwayInstance.person_id).order_by(PathwayInstance.person_id)).all()
    replayed = replay_admissions(ctx.sessions, list(caseload)[:8])
    with ctx.sessions() as session:
        run = run_centre_jobs(session)
        session.commit()
    return {**replayed, "outbox_events": run.outbox_events}


STAGES: tuple[tuple[str, Callable[[DemoContext], dict[str, Any]]], ...] = (
    ("synthesise", synthesise),
    ("ingest", ingest),
    ("link", link),
    ("governance", govern),
    ("warehouse", warehouse),
    ("risk", stratify),
    ("coordination", coordinate),
    ("workforce", plan_workforce),
    ("live feed", live_feed),
)

# Demo users: key -> (role, org kind to work at, team)
DEMO_ROLES: dict[str, tuple[str, str | None, str | None]] = {
    "gp": ("gp", "gp_practice", None),
    "nurse": ("practice_nurse", "gp_practice", None),
    "coordinator": ("care_coordinator", "coordination_centre", CENTRE_TEAM_ID),
    "volunteer": ("discharge_volunteer", "voluntary", DISCHARGE_TEAM_ID),
    "consultant": ("consultant", "acute_trust", None),
    "community_nurse": ("community_nurse", "community_provider", None),
    "social_worker": ("social_worker", "local_authority", None),
    "analyst": ("analyst", None, None),
    "commissioner": ("commissioner", None, None),
    "ig_officer": ("ig_officer", None, None),
    "board_member": ("data_sharing_board_member", None, None),
    "admin": ("system_administrator", None, None),
    "patient": ("patient", None, None),
}


def create_demo_users(session: Session, ctx: DemoContext) -> dict[str, dict[str, str]]:
    """One user per role, passwords generated once and kept (mode 0600) in the home.

    Staff sign in with a second factor: each demo staff user is enrolled in TOTP, and their setup
    key is kept beside the password (add it to an authenticator app, or run ``joinedup users code``).
    """
    path = ctx.settings.home / "demo-users.json"
    if path.exists():
        kept = dict(json.loads(path.read_text()))
        if _enrol_demo_staff(session, kept):  # a home made before staff needed a second factor
            _keep_demo_users(path, kept)
        return kept
    practice = _busiest_practice(session)
    orgs = {kind: session.scalar(select(Organisation.org_code).where(Organisation.kind == kind).limit(1))
            for kind in ("coordination_centre", "voluntary", "acute_trust", "community_provider", "local_authority")}
    orgs["gp_practice"] = practice
    set_up_centre(session)
    patient_person = session.scalar(select(SourcePatient.person_id).where(
        SourcePatient.registered_practice_code == practice, SourcePatient.person_id.is_not(None)).limit(1))
    users: dict[str, dict[str, str]] = {}
    for key, (role, org_kind, team) in DEMO_ROLES.items():
        username = f"demo-{key.replace('_', '-')}"
        password = secrets.token_urlsafe(9)
        created = governance.create_user(
            session, username=username, password=password, role=role,
            org_code=orgs.get(org_kind) if org_kind else None, team_ids=(team,) if team else (),
            person_id=patient_person if role == "patient" else None,
        )
        users[key] = {"username": username, "password": password, "role": role, "user_id": created.user_id}
    _enrol_demo_staff(session, users)
    _keep_demo_users(path, users)
    return users


def _enrol_demo_staff(session: Session, users: dict[str, dict[str, str]]) -> bool:
    """Enrol every demo staff user without a TOTP secret yet; whether any was enrolled."""
    enrolled = False
    for user in users.values():
        if user["role"] != "patient" and not user.get("totp_secret"):
            user["totp_secret"] = governance.users.enrol_totp(session, username=user["username"])
            enrolled = True
    return enrolled


def _keep_demo_users(path: Path, users: dict[str, dict[str, str]]) -> None:
    path.write_text(json.dumps(users, indent=2))
    path.chmod(0o600)


def _busiest_practice(session: Session) -> str | None:
    return session.scalar(
        select(SourcePatient.registered_practice_code).where(SourcePatient.registered_practice_code.is_not(None))
        .group_by(SourcePatient.registered_practice_code).order_by(func.count().desc()).limit(1)
    )


def demo_actor(session: Session, users: dict[str, dict[str, str]], key: str) -> Actor:
    """The actor of one demo user."""
    return governance.load_actor(session, users[key]["user_id"])



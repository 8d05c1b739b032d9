"""The identity review queue page: an IG officer compares queued pairs and accepts or rejects them.

The pairs are stored as the linker leaves them (two persons, one review item with its evidence);
each test works on its own pair, so the order they run in does not matter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from joinedup.store import make_engine, make_session_factory, unit_of_work
from joinedup.store.tables.governance import AuditEntry
from joinedup.store.tables.identity import Person, PersonLinkEvent, SourcePatient
from joinedup.store.tables.identity_review import IdentityReviewItem

from .conftest import WebHome, browser_sign_in, csrf_from, screenshot

# A mover's two records: names and date of birth agree, the postcode does not.
MOVER_EVIDENCE = [
    {"field": "first_name", "level": "the same", "match_weight": 7.1},
    {"field": "surname", "level": "very similar spelling", "match_weight": 5.2},
    {"field": "dob", "level": "the same", "match_weight": 13.3},
    {"field": "sex", "level": "the same", "match_weight": 1.0},
    {"field": "postcode", "level": "different", "match_weight": -5.6},
]


@dataclass(frozen=True)
class Pair:
    """One queued pair: the review item and each record with its person."""

    review_item_id: int
    record: int
    candidate: int
    record_person: str
    candidate_person: str
    surname: str


def _queue_pair(session: Session, key: str, surname: str, candidate_surname: str, weight: float) -> Pair:
    records = []
    for side, family, postcode in (("a", surname, "LS7 3QT"), ("b", candidate_surname, "LS9 8RB")):
        person_id = f"per-review-{key}-{side}"
        session.add(Person(person_id=person_id, status="active"))
        patient = SourcePatient(
            source="community" if side == "a" else "gp",
            local_id=f"REVIEW-{key}-{side}",
            given_name="Priyanka",
            family_name=family,
            birth_date=date(1961, 7, 19),
            sex="female",
            postcode=postcode,
            nhs_number_status="missing",
            person_id=person_id,
            link_method="new_person",
        )
        session.add(patient)
        session.flush()
        records.append((patient.source_patient_id, person_id))
    item = IdentityReviewItem(
        source_patient_id=records[0][0],
        person_id=records[0][1],
        candidate_source_patient_id=records[1][0],
        candidate_person_id=records[1][1],
        match_weight=weight,
        match_probability=0.998,
        evidence=json.dumps(MOVER_EVIDENCE),
        explanation="first name: the same (+7.1); surname: very similar spelling (+5.2)",
    )
    session.add(item)
    session.flush()
    return Pair(item.review_item_id, records[0][0], records[1][0], records[0][1], records[1][1], surname)


@pytest.fixture(scope="module")
def pairs(web_home: WebHome) -> Iterator[dict[str, Pair]]:
    """Four queued pairs in the web store: one to accept, one to reject, one to refuse, one for the browser."""
    engine = make_engine(web_home.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        made = {
            "accept": _queue_pair(session, "accept", "Ramaswamy", "Ramaswami", 9.6),
            "reject": _queue_pair(session, "reject", "Oyelaran", "Oyelarin", 9.4),
            "refuse": _queue_pair(session, "refuse", "Castellanos", "Castellano", 9.2),
            "browser": _queue_pair(session, "browser", "Featherstonehaugh", "Featherstonhaugh", 9.0),
        }
    yield made
    engine.dispose()


@pytest.fixture
def store(web_home: WebHome) -> Iterator[Session]:
    """A session on the web store, to check what the pages did."""
    engine = make_engine(web_home.database_url)
    with make_session_factory(engine)() as session:
        yield session
    engine.dispose()


def _section(html: str, surname: str) -> str:
    """The part of the page about the pair whose first record has this surname."""
    sections = [part for part in html.split('data-testid="review-item"')[1:] if surname in part]
    assert len(sections) == 1, f"expected one pair about {surname}"
    return sections[0]


def _visible(html: str) -> str:
    """The text a sighted reader sees on a wide screen (responsive-table labels are for phones)."""
    html = re.sub(r'<span class="nhsuk-table-responsive__heading" aria-hidden="true">[^<]*</span>', "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _person(store: Session, source_patient_id: int) -> str | None:
    store.expire_all()
    return store.scalar(select(SourcePatient.person_id).where(SourcePatient.source_patient_id == source_patient_id))


def _item(store: Session, review_item_id: int) -> IdentityReviewItem:
    store.expire_all()
    item = store.get(IdentityReviewItem, review_item_id)
    assert item is not None
    return item


def _audit(store: Session, username: str) -> list[tuple[str, str, str | None]]:
    """(action, outcome, person) of the user's audit entries about person links, oldest first."""
    rows = store.execute(
        select(AuditEntry.action, AuditEntry.outcome, AuditEntry.person_id)
        .where(AuditEntry.username == username, AuditEntry.resource_type == "person_link")
        .order_by(AuditEntry.sequence)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_reviewer_sees_both_records_and_the_evidence_in_plain_english(
    signed_in: Any, pairs: dict[str, Pair], store: Session
) -> None:
    page = signed_in("ig1").get("/identity/review")
    assert page.status_code == 200
    pair = _section(page.text, "Ramaswamy")
    text = _visible(pair)
    assert "19 July 1961" in text
    assert "Surname Ramaswamy Ramaswami Very similar spelling: counts for a match +5.2" in text
    assert "Postcode LS7 3QT LS9 8RB Different: counts against -5.6" in text
    # 9.6 in all: the fields add up to +21.0, so the total started at -11.4.
    assert "Total match weight +9.6" in text
    assert "it starts at -11.4" in text
    assert 'name="csrf_token"' in pair
    assert ">Accept: same person</button>" in pair
    assert ">Reject: different people</button>" in pair
    # The queue read and every person shown are in the audit trail, under the reviewer's name.
    trail = _audit(store, "ig1")
    assert ("review", "allowed", None) in trail
    shown = {person for action, _, person in trail if action == "read"}
    assert {pairs["accept"].record_person, pairs["accept"].candidate_person} <= shown


def test_accept_merges_the_two_persons_and_keeps_the_decision(
    signed_in: Any, pairs: dict[str, Pair], store: Session
) -> None:
    pair = pairs["accept"]
    client = signed_in("ig1")
    page = client.get("/identity/review")
    response = client.post(
        f"/identity/review/{pair.review_item_id}",
        data={"decision": "accept", "reason": "moved house; same person", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after = client.get(response.headers["location"])
    assert "Merged: the two records are now one person." in after.text
    assert pair.surname not in after.text

    assert _person(store, pair.record) == _person(store, pair.candidate) == pair.candidate_person
    item = _item(store, pair.review_item_id)
    assert (item.status, item.decided_by, item.decision_reason) == ("accepted", "user-ig1", "moved house; same person")
    events = store.scalars(
        select(PersonLinkEvent.action).where(PersonLinkEvent.source_patient_id == pair.record)
    ).all()
    assert events == ["review_accept", "merge"]
    trail = _audit(store, "ig1")
    assert ("decide", "allowed", pair.record_person) in trail
    assert ("merge", "allowed", pair.candidate_person) in trail


def test_reject_keeps_them_apart_and_the_pair_is_not_shown_again(
    signed_in: Any, pairs: dict[str, Pair], store: Session
) -> None:
    pair = pairs["reject"]
    client = signed_in("ig1")
    page = client.get("/identity/review")
    response = client.post(
        f"/identity/review/{pair.review_item_id}",
        data={"decision": "reject", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 200
    assert "Kept apart as two people." in response.text
    assert pair.surname not in response.text
    assert (_person(store, pair.record), _person(store, pair.candidate)) == (pair.record_person, pair.candidate_person)
    item = _item(store, pair.review_item_id)
    assert (item.status, item.decided_by, item.decision_reason) == ("rejected", "user-ig1", "different people")
    assert ("review_reject", "allowed", pair.record_person) in _audit(store, "ig1")
    # Deciding it twice is a conflict, not a second merge or rejection.
    again = signed_in("ig1").post(
        f"/identity/review/{pair.review_item_id}", data={"decision": "accept", "csrf_token": csrf_from(page.text)}
    )
    assert again.status_code == 409
    assert _person(store, pair.record) == pair.record_person


def test_a_decision_without_the_form_token_is_refused(signed_in: Any, pairs: dict[str, Pair], store: Session) -> None:
    pair = pairs["refuse"]
    response = signed_in("ig1").post(f"/identity/review/{pair.review_item_id}", data={"decision": "accept"})
    assert response.status_code == 403
    assert _item(store, pair.review_item_id).status == "open"
    assert _person(store, pair.record) == pair.record_person


def test_a_clinician_may_neither_see_nor_decide_the_queue(
    signed_in: Any, pairs: dict[str, Pair], store: Session
) -> None:
    pair = pairs["refuse"]
    gp = signed_in("gp1")
    page = gp.get("/identity/review")
    assert page.status_code == 403
    assert pair.surname not in page.text
    token = csrf_from(gp.get("/patients").text)
    decision = gp.post(f"/identity/review/{pair.review_item_id}", data={"decision": "accept", "csrf_token": token})
    assert decision.status_code == 403
    assert _item(store, pair.review_item_id).status == "open"
    assert _person(store, pair.record) == pair.record_person
    trail = _audit(store, "gp1")
    assert ("review", "denied", None) in trail
    assert ("decide", "denied", pair.record_person) in trail


@pytest.mark.browser
def test_ig_officer_settles_a_pair_in_the_browser(page: Any, pairs: dict[str, Pair], store: Session) -> None:
    pair = pairs["browser"]
    browser_sign_in(page, "ig1")
    page.get_by_role("link", name="Governance").first.click()
    page.get_by_role("link", name="Identity review").click()
    card = page.get_by_test_id("review-item").filter(has_text=pair.surname)
    evidence = card.get_by_test_id("evidence").inner_text()
    assert "Featherstonhaugh" in evidence
    assert "Very similar spelling" in evidence
    assert "+13.3" in evidence
    screenshot(page, "identity-review-queue")

    card.get_by_label("Reason").fill("same person; surname misspelt at the practice")
    card.get_by_role("button", name="Accept: same person").click()
    page.wait_for_load_state()
    assert "Merged: the two records are now one person." in page.get_by_test_id("decision-done").inner_text()
    assert page.get_by_test_id("review-item").filter(has_text=pair.surname).count() == 0
    screenshot(page, "identity-review-accepted")
    assert _person(store, pair.record) == pair.candidate_person
    assert _item(store, pair.review_item_id).decision_reason == "same person; surname misspelt at the practice"

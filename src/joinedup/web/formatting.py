"""Jinja filters for pages: NHS-style dates and NHS numbers, ages, labels, and trend sparklines (SVG)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

# People read times in UK local time; the store keeps UTC.
UK = ZoneInfo("Europe/London")

SETTING_LABELS = {
    "gp": "GP",
    "ae": "A&E",
    "inpatient": "Hospital stay",
    "outpatient": "Outpatient",
    "community": "Community",
    "social_care": "Social care",
    "telehealth": "Telehealth",
    "voluntary": "Voluntary sector",
}
PLACE_LABELS = {
    "home": "At home",
    "ae": "In A&E",
    "admitted": "Admitted",
    "community_bed": "In a community bed",
    "care_home": "In a care home",
}


RESOURCE_LABELS = {
    "patient": "Personal details",
    "condition": "Health problems",
    "medication": "Medicines",
    "allergy": "Allergies",
    "observation": "Test results",
    "encounter": "Appointments and stays",
    "booking": "Bookings",
    "referral": "Referrals",
    "care_plan": "Care plan",
    "passport": "Passport",
    "risk_score": "Risk score",
    "procedure": "Procedures",
    "care_document": "Documents",
}


def resource_label(value: str) -> str:
    """A record section as a patient would name it (``observation`` → ``Test results``)."""
    return RESOURCE_LABELS.get(value, label(value))


def format_date(value: date | datetime | None) -> str:
    """``2 March 1948`` (the NHS style); empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UK).date()
    return f"{value.day} {value:%B %Y}"


def format_datetime(value: datetime | None) -> str:
    """``26 November 2026 at 7:05pm`` in UK time; empty for None."""
    if value is None:
        return ""
    local = value.astimezone(UK)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def format_nhs_number(value: str | None) -> str:
    """``943 476 5919``."""
    if not value:
        return ""
    digits = value.replace(" ", "")
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}" if len(digits) == 10 else value


def age_on(birth_date: date | None, today: date | None = None) -> int | None:
    """Age in whole years."""
    if birth_date is None:
        return None
    today = today or datetime.now(UTC).date()
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def label(value: str | None) -> str:
    """``in_progress`` → ``In progress``; known settings and places get their proper names."""
    if not value:
        return ""
    if value in SETTING_LABELS:
        return SETTING_LABELS[value]
    if value in PLACE_LABELS:
        return PLACE_LABELS[value]
    text = value.replace("_", " ").replace("-", " ")
    return text[:1].upper() + text[1:]


def sparkline(values: Sequence[float | None], *, title: str = "", width: int = 120, height: int = 28) -> Markup:
    """An inline SVG line of the values (oldest first), the last point marked, with a text title.

    Only numbers and escaped text go into the markup.
    """
    numbers = [float(v) for v in values if v is not None]
    if len(numbers) < 2:
        return Markup("")
    low, high = min(numbers), max(numbers)
    span = (high - low) or 1.0
    pad = 3.0
    step = (width - 2 * pad) / (len(numbers) - 1)
    points = [
        (pad + index * step, height - pad - (value - low) / span * (height - 2 * pad))
        for index, value in enumerate(numbers)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    return Markup(
        '<svg class="app-sparkline" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'aria-label="{t}" focusable="false"><title>{t}</title>'
        '<polyline points="{p}"></polyline>'
        '<circle class="app-sparkline__last" cx="{x:.1f}" cy="{y:.1f}" r="3"></circle></svg>'
    ).format(w=width, h=height, t=escape(title), p=path, x=last_x, y=last_y)


def register_filters(filters: dict[str, Any]) -> None:
    """Add these filters to a Jinja environment's ``filters``."""
    filters.update(
        {
            "nhs_date": format_date,
            "nhs_datetime": format_datetime,
            "nhs_number": format_nhs_number,
            "age": age_on,
            "label": label,
            "resource_label": resource_label,
            "sparkline": sparkline,
        }
    )


__all__ = [
    "age_on",
    "format_date",
    "format_datetime",
    "format_nhs_number",
    "label",
    "register_filters",
    "resource_label",
    "sparkline",
]

"""Rules more than one mart uses: who secondary use includes, ages, code-system families."""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir

# Age bands for standardisation and expected prevalence (lower bounds, years).
AGE_BAND_LOWER = (0, 18, 45, 65, 75, 85)
AGE_BANDS = ("0-17", "18-44", "45-64", "65-74", "75-84", "85+")


UNREGISTERED = "unregistered"
UNKNOWN_NEIGHBOURHOOD = "unknown"


def secondary_use_persons(core: dict[str, ir.Table], allowed: ir.Table) -> ir.Table:
    """``core.person`` restricted to the persons governance lets secondary uses include.

    A person with no registered practice counts under ``unregistered``, and with no neighbourhood
    under ``unknown``, so every total still adds up to the borough's.
    """
    person = core["person"].semi_join(allowed, "person_id")
    return person.mutate(
        practice_code=person.practice_code.fill_null(UNREGISTERED),
        neighbourhood=person.neighbourhood.fill_null(UNKNOWN_NEIGHBOURHOOD),
    )


def attach(base: ir.Table, other: ir.Table, keys: list[str], counts: tuple[str, ...] = ()) -> ir.Table:
    """Left-join ``other``'s measures onto ``base`` by ``keys``; missing ``counts`` become 0."""
    renamed = other.rename({f"other_{key}": key for key in keys})
    joined = base.left_join(renamed, [base[key] == renamed[f"other_{key}"] for key in keys])
    measures = [name for name in other.columns if name not in keys]
    return joined.select(
        *base.columns,
        *[joined[name].fill_null(0).name(name) if name in counts else joined[name] for name in measures],
    )


def per_thousand(count: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """``count`` per 1,000 of ``denominator`` (null when the denominator is zero), to 4 places."""
    return (count.cast("float64") * 1000.0 / denominator.cast("float64").nullif(0.0)).round(4)


def percentage(part: ir.NumericValue, whole: ir.NumericValue) -> ir.FloatingValue:
    """``part`` as a percentage of ``whole`` (null when ``whole`` is zero), to 4 places."""
    return (part.cast("float64") * 100.0 / whole.cast("float64").nullif(0.0)).round(4)


def age_on(birth_date: ir.DateValue, day: ir.DateValue | date) -> ir.IntegerValue:
    """Completed years of age on ``day`` (null when the birth date is unknown)."""
    on = ibis.literal(day) if isinstance(day, date) else day
    before_birthday = (on.month() * 100 + on.day()) < (birth_date.month() * 100 + birth_date.day())
    return (on.year() - birth_date.year() - before_birthday.cast("int64")).cast("int64")


def age_band(age: ir.IntegerValue) -> ir.StringValue:
    """The standardisation band of an age: 0-17, 18-44, 45-64, 65-74, 75-84, 85+ (or ``unknown``)."""
    branches = [
        (age >= lower, label)
        for lower, label in reversed(list(zip(AGE_BAND_LOWER, AGE_BANDS, strict=True)))
    ]
    return ibis.cases(*branches, else_="unknown")


def code_system_family(code_system: ir.StringValue) -> ir.StringValue:
    """``snomed``, ``icd10``, ``loinc``, ``read2`` or ``other`` for any spelling of a code system."""
    lowered = code_system.lower()
    return ibis.cases(
        (lowered.contains("snomed") | lowered.contains("sct"), "snomed"),
        (lowered.contains("icd"), "icd10"),
        (lowered.contains("loinc"), "loinc"),
        (lowered.contains("read"), "read2"),
        else_="other",
    )


def icd10_category(code: ir.StringValue) -> ir.StringValue:
    """An ICD-10 code without its dot, upper case (``J44.9`` and ``j449`` both give ``J449``)."""
    return code.upper().replace(".", "").strip()


def alive_on(person: ir.Table, day: date) -> ir.BooleanValue:
    """Whether the person was alive on ``day`` (no death date, or a death after it)."""
    return person.death_date.isnull() | (person.death_date > ibis.literal(day))


def sex_group(sex: ir.StringValue) -> ir.StringValue:
    """``male``, ``female`` or ``unknown`` (standardisation uses the first two)."""
    lowered = sex.lower()
    return ibis.cases((lowered.isin(("male", "m")), "male"), (lowered.isin(("female", "f")), "female"),
                      else_="unknown")


def standardise(
    population: ir.Table,
    events: ir.Table,
    keys: list[str],
    *,
    period: str = "year",
    strata: tuple[str, ...] = ("sex", "age_band"),
) -> ir.Table:
    """Indirect age/sex standardisation of event counts per ``keys`` and ``period``.

    ``population`` has ``person_months`` (or any person-time) and ``events`` has ``event_count``
    per key, period and stratum. The borough rate of each (period, sex, age band) stratum, events
    over population, times the group's population in that stratum, summed over strata, is the
    group's expected count. Returns per key and period: ``person_months``, ``event_count``,
    ``expected_count`` and the borough's crude rate that period (``borough_rate``).
    """
    all_strata = [period, *strata]
    columns = [*keys, *all_strata]
    stacked = ibis.union(
        population.select(*columns, person_months=population.person_months.cast("int64"),
                          event_count=ibis.literal(0, "int64")),
        events.select(*columns, person_months=ibis.literal(0, "int64"),
                      event_count=events.event_count.cast("int64")),
    )
    cells = stacked.group_by(columns).aggregate(
        person_months=stacked.person_months.sum(), event_count=stacked.event_count.sum()
    )
    stratum = ibis.window(group_by=all_strata)
    whole = ibis.window(group_by=period)
    rated = cells.mutate(
        stratum_rate=cells.event_count.sum().over(stratum).cast("float64")
        / cells.person_months.sum().over(stratum).cast("float64").nullif(0.0),
        borough_rate=cells.event_count.sum().over(whole).cast("float64")
        / cells.person_months.sum().over(whole).cast("float64").nullif(0.0),
    )
    return rated.group_by([*keys, period]).aggregate(
        person_months=rated.person_months.sum(),
        event_count=rated.event_count.sum(),
        expected_count=(rated.person_months.cast("float64") * rated.stratum_rate.fill_null(0.0)).sum(),
        borough_rate=rated.borough_rate.max(),
    )


def match_codes(rows: ir.Table, codelist: ir.Table, list_name: str, column: str) -> ir.Table:
    """Rows whose (``code_family``, ``code``) is on the named code list, with the group in ``column``.

    SNOMED CT, LOINC and Read codes match exactly; ICD-10 codes (dot removed) match a listed code
    equal to the whole code or to its first 3 or 4 characters. A row on several groups appears once
    per group.
    """
    codes = codelist.filter(codelist.list_name == list_name).select(
        list_family="code_family", list_code="code", **{column: "group_name"}
    )
    keyed = [
        rows.mutate(match_key=rows.code),
        rows.filter((rows.code_family == "icd10") & (rows.code.length() > 3)).mutate(match_key=rows.code.substr(0, 3)),
        rows.filter((rows.code_family == "icd10") & (rows.code.length() > 4)).mutate(match_key=rows.code.substr(0, 4)),
    ]
    matched = [
        part.join(codes, [part.code_family == codes.list_family, part.match_key == codes.list_code]).drop(
            "match_key", "list_family", "list_code"
        )
        for part in keyed
    ]
    return ibis.union(*matched, distinct=True)

"""The probabilistic linkage model: Splink 5 (Fellegi-Sunter with term-frequency adjustments).

The model compares first name, surname, date of birth, sex, postcode and (trusted) NHS number.
Its match weights are trained without labels (u by random sampling, m by expectation
maximisation) and saved as Splink's JSON settings file in the home, next to the term-frequency
tables of the population it was trained on and a small thresholds file, so incremental scoring
later uses the same weights and frequencies.

Input records are a table with the columns of ``MODEL_COLUMNS`` (``unique_id`` an integer, the
rest cleaned by ``joinedup.identity.normalise``; ``dob`` an ISO date string).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from joinedup.identity.errors import IdentityError

logger = logging.getLogger(__name__)

MODEL_COLUMNS: Final = ("unique_id", "first_name", "surname", "dob", "sex", "postcode", "nhs_number")
TF_COLUMNS: Final = ("first_name", "surname", "postcode")
MODEL_FILE: Final = "linkage_model.json"
THRESHOLDS_FILE: Final = "linkage_thresholds.json"
# Records each EM session draws: its pairs grow with the square of this, its estimates barely move.
EM_RECORDS: Final = 120_000

# Plain-English names of the compared fields, for the review queue's evidence.
FIELD_NAMES: Final[dict[str, str]] = {
    "first_name": "first name",
    "surname": "surname",
    "dob": "date of birth",
    "sex": "sex",
    "postcode": "postcode",
    "nhs_number": "NHS number",
}

SCHEMA: Final = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("first_name", pa.string()),
        ("surname", pa.string()),
        ("dob", pa.string()),
        ("sex", pa.string()),
        ("postcode", pa.string()),
        ("nhs_number", pa.string()),
    ]
)


@dataclass(frozen=True)
class Thresholds:
    """Where the match weight (log2 Bayes factor) turns a candidate pair into a decision.

    At or above ``upper`` the pair links automatically; between ``lower`` and ``upper`` it goes to
    the review queue; below ``lower`` it is ignored. A record whose two best candidate persons
    both clear ``upper`` within ``ambiguity_margin`` of each other is reviewed, never guessed.
    """

    upper: float = 10.0
    lower: float = 2.0
    ambiguity_margin: float = 3.0

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise IdentityError("the lower linkage threshold must not exceed the upper one")


def records_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """An Arrow table of model records (the schema every scorer and trainer expects)."""
    # Column by column: several times faster than row dicts for a million records.
    columns = [pa.array([row.get(field.name) for row in rows], type=field.type) for field in SCHEMA]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def settings_creator(*, names_alone: bool = False) -> Any:
    """The Splink model definition: comparisons, and blocking rules that scale to millions.

    Blocking (candidate pairs) needs one of: the same date of birth; the same first name and
    surname with the same year of birth, or the same day and month (a mistyped year); the same
    first name or surname and the same year and month of birth; the same postcode and first name
    or surname; the same NHS number. Each keeps blocks small on a large population while
    tolerating an error in any one field.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    dob_swapped = (
        "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
        "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)"
    )
    date_of_birth = cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob").configure(label_for_charts="the same"),
            cll.CustomLevel(dob_swapped).configure(label_for_charts="day and month swapped"),
            cll.LevenshteinLevel("dob", 1).configure(label_for_charts="one digit different"),
            cll.AbsoluteDateDifferenceLevel("dob", input_is_string=True, threshold=1, metric="year").configure(
                label_for_charts="within a year"
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
        comparison_description="date of birth",
    )

    def name_comparison(column: str) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column, term_frequency_adjustments=True).configure(label_for_charts="the same"),
                cll.JaroWinklerLevel(column, 0.92).configure(label_for_charts="very similar spelling"),
                cll.JaroWinklerLevel(column, 0.8).configure(label_for_charts="similar spelling"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        )

    postcode = cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True).configure(label_for_charts="the same"),
            cll.LevenshteinLevel("postcode", 1).configure(label_for_charts="one character different"),
            cll.CustomLevel("split_part(postcode_l, ' ', 1) = split_part(postcode_r, ' ', 1)").configure(
                label_for_charts="same postcode district"
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    exact = {
        column: cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column).configure(label_for_charts="the same"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        )
        for column in ("sex", "nhs_number")
    }
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            name_comparison("first_name"),
            name_comparison("surname"),
            date_of_birth,
            exact["sex"],
            postcode,
            exact["nhs_number"],
        ],
        blocking_rules_to_generate_predictions=blocking_rules(names_alone=names_alone),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=[],
    )


def blocking_rules(*, names_alone: bool = False) -> list[Any]:
    """The candidate-pair rules used both for batch prediction and incremental scoring.

    ``names_alone`` adds "the same first name and surname" on its own: for an analyst's table
    (``link_table``), small enough to afford it, it also finds records whose date of birth is
    wrong in both the year and the day or month.
    """
    from splink import block_on

    # Each rule tolerates an error in any one field (and most pairs of errors) while keeping blocks
    # small: "same first name and surname" alone puts every John Smith of a million records in one
    # block, so names are paired with a part of the date of birth the error did not touch.
    rules = [
        block_on("dob"),
        block_on("first_name", "surname", "substr(dob, 1, 4)"),
        block_on("first_name", "surname", "substr(dob, 6, 5)"),
        block_on("first_name", "substr(dob, 1, 7)"),
        block_on("surname", "substr(dob, 1, 7)"),
        block_on("postcode", "first_name"),
        block_on("postcode", "surname"),
        block_on("nhs_number"),
    ]
    if names_alone:
        rules.append(block_on("first_name", "surname"))
    return rules


def settings_for_dialect(trained: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The trained model re-expressed for another SQL engine (e.g. Spark), same weights.

    The saved JSON holds DuckDB SQL; Spark reads double quotes as strings, so the definition is
    rebuilt for the dialect and the trained prior and m/u probabilities are copied across level by
    level (the definition is the same code, so the levels line up).
    """
    if dialect == trained.get("sql_dialect", "duckdb"):
        return trained
    fresh: dict[str, Any] = settings_creator().get_settings(dialect).as_dict()
    fresh["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    for new_comparison, old_comparison in zip(fresh["comparisons"], trained["comparisons"], strict=True):
        levels = zip(new_comparison["comparison_levels"], old_comparison["comparison_levels"], strict=True)
        for new_level, old_level in levels:
            for key in ("m_probability", "u_probability"):
                if key in old_level:
                    new_level[key] = old_level[key]
    return fresh


@dataclass
class TrainedModel:
    """A trained Splink model (its settings JSON) and the term-frequency tables it was trained with."""

    settings: dict[str, Any]
    term_frequencies: dict[str, pa.Table]
    thresholds: Thresholds

    def save(self, folder: Path) -> Path:
        """Write the model JSON, the term-frequency parquet files and the thresholds into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MODEL_FILE
        path.write_text(json.dumps(self.settings, indent=2, sort_keys=True))
        for column, table in self.term_frequencies.items():
            pq.write_table(table, folder / f"tf_{column}.parquet")
        save_thresholds(folder, self.thresholds)
        return path

    @classmethod
    def load(cls, folder: Path) -> TrainedModel:
        """Read a model saved by ``save``; IdentityError when there is none."""
        path = folder / MODEL_FILE
        if not path.exists():
            raise IdentityError("no trained linkage model yet; run `joinedup link` first")
        settings = json.loads(path.read_text())
        frequencies = {}
        for column in TF_COLUMNS:
            tf_path = folder / f"tf_{column}.parquet"
            if tf_path.exists():
                frequencies[column] = pq.read_table(tf_path)
        return cls(settings, frequencies, load_thresholds(folder))


def load_thresholds(folder: Path) -> Thresholds:
    """The thresholds configured in the home (``linkage_thresholds.json``), else the defaults."""
    path = folder / THRESHOLDS_FILE
    if not path.exists():
        return Thresholds()
    values = json.loads(path.read_text())
    return Thresholds(**{key: float(value) for key, value in values.items() if key in Thresholds.__dataclass_fields__})


def save_thresholds(folder: Path, thresholds: Thresholds) -> None:
    """Write the thresholds file (edit it by hand to tune the review band)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / THRESHOLDS_FILE).write_text(json.dumps(asdict(thresholds), indent=2))


def _quiet_splink() -> None:
    # Splink logs progress at INFO with table sizes; keep our logs about our own steps.
    logging.getLogger("splink").setLevel(logging.ERROR)


def train_model(
    records: pa.Table, *, thresholds: Thresholds | None = None, seed: int = 42, names_alone: bool = False
) -> TrainedModel:
    """Train match weights on the population without labels.

    The prior comes from strict deterministic rules (same trusted NHS number; same names and date
    of birth); u probabilities from random pairs; m probabilities by two EM sessions, one blocked
    on date of birth (to learn names, postcode, sex) and one on surname and postcode (to learn
    date of birth, first name and the rest; on names for ``names_alone`` tables).
    ``names_alone`` adds the broad "same names" blocking rule (see ``blocking_rules``).
    """
    from splink import DuckDBAPI, Linker, block_on

    _quiet_splink()
    if records.num_rows < 10:
        raise IdentityError("too few records to train a linkage model (need at least 10)")
    db_api = DuckDBAPI()
    frame = db_api.register(records)
    linker = Linker(frame, settings_creator(names_alone=names_alone), log_level=None)
    rows = records.num_rows
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs_number"), block_on("first_name", "surname", "dob")], recall=0.7
    )
    if not 0 < linker._settings_obj._probability_two_random_records_match < 1:
        # No strict matches at all (tiny or very dirty input): assume about one duplicate per record.
        linker._settings_obj._probability_two_random_records_match = min(0.5, 1.0 / rows)
    # Enough random pairs and EM records for stable weights; capped so a million records train fast.
    linker.training.estimate_u_using_random_sampling(max_pairs=min(2e6, max(1e5, rows * 5.0)), seed=seed)
    sample = min(1.0, EM_RECORDS / rows)
    # The second session learns the date of birth among pairs that share surname and postcode
    # (small blocks, families and movers-in); a table without postcodes uses the names instead.
    second = block_on("first_name", "surname") if names_alone else block_on("surname", "postcode")
    for rule in (block_on("dob"), second):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, record_sample_proportion=sample)
    settings = linker.misc.save_model_to_json()
    frequencies = {
        column: linker.table_management.compute_tf_table(column).as_duckdbpyrelation().to_arrow_table()
        for column in TF_COLUMNS
    }
    logger.info("identity: linkage model trained on %d records", rows)
    return TrainedModel(settings, frequencies, thresholds or Thresholds())


@dataclass(frozen=True)
class FieldEvidence:
    """How one field compared in one pair, and what that was worth."""

    field: str
    level: str
    match_weight: float

    def sentence(self) -> str:
        """E.g. "date of birth: day and month swapped (+6.1)"."""
        return f"{FIELD_NAMES.get(self.field, self.field)}: {self.level} ({self.match_weight:+.1f})"


@dataclass(frozen=True)
class ScoredPair:
    """One candidate pair the model scored."""

    left: int
    right: int
    match_weight: float
    match_probability: float
    evidence: tuple[FieldEvidence, ...]

    def explanation(self) -> str:
        """The evidence in one line of plain English."""
        return "; ".join(item.sentence() for item in self.evidence)


def _finite(value: Any) -> float:
    if value is None:
        return 0.0
    number = float(value)
    return number if math.isfinite(number) else 0.0


class Scorer:
    """Scores candidate pairs with a trained model on DuckDB (or another Splink backend)."""

    def __init__(self, model: TrainedModel, db_api: Any | None = None) -> None:
        from splink import DuckDBAPI

        _quiet_splink()
        self.model = model
        self.db_api = db_api if db_api is not None else DuckDBAPI()
        self.dialect = self.db_api.sql_dialect.sql_dialect_str
        self.settings = settings_for_dialect(model.settings, self.dialect)
        self._count = 0
        self._labels: dict[tuple[str, int], str] = {}
        for comparison in model.settings["comparisons"]:
            column = comparison["output_column_name"]
            levels = comparison["comparison_levels"]
            non_null = [level for level in levels if not level.get("is_null_level")]
            for position, level in enumerate(non_null):
                self._labels[(column, len(non_null) - 1 - position)] = level.get("label_for_charts", "")

    def _register(self, records: pa.Table | Any) -> Any:
        self._count += 1
        if self.dialect != "duckdb" and isinstance(records, pa.Table):
            records = records.to_pandas()
        return self.db_api.register(records, table_name=f"jup_records_{self._count}")

    def _linker(self, frame: Any) -> Any:
        from splink import Linker

        linker = Linker(frame, self.settings, log_level=None, validate_settings=False)
        for column, table in self.model.term_frequencies.items():
            self._count += 1
            tf_table = table.to_pandas() if self.dialect != "duckdb" else table
            tf_frame = self.db_api.register(tf_table, table_name=f"jup_tf_{column}_{self._count}")
            linker.table_management.register_term_frequency_lookup(tf_frame, column)
        return linker

    def score_within(self, records: pa.Table | Any, *, min_weight: float) -> list[ScoredPair]:
        """Every blocked pair within one set of records with a match weight of at least ``min_weight``."""
        frame = self._register(records)
        linker = self._linker(frame)
        result = linker.inference.predict_within(frame, threshold_match_weight=min_weight, warning_mode="never")
        return self._pairs(result)

    def score_between(self, new: pa.Table | Any, index: pa.Table | Any, *, min_weight: float) -> list[ScoredPair]:
        """Blocked pairs of a new record with an index record, never two index records."""
        new_frame = self._register(new)
        index_frame = self._register(index)
        linker = self._linker(index_frame)
        result = linker.inference.predict_between(
            new_frame, index_frame, threshold_match_weight=min_weight, warning_mode="never"
        )
        return self._pairs(result)

    def _pairs(self, result: Any) -> list[ScoredPair]:
        table = result.as_pandas_dataframe()
        result.drop_table_from_database_and_remove_from_cache()
        columns = [comparison["output_column_name"] for comparison in self.model.settings["comparisons"]]
        # Column lists, not row dicts: a large run scores millions of pairs.
        gammas = {column: table[f"gamma_{column}"].tolist() for column in columns}
        weights = {column: table[f"mw_{column}"].tolist() for column in columns}
        adjustments = {
            column: table[f"mw_tf_adj_{column}"].tolist() if f"mw_tf_adj_{column}" in table else None
            for column in columns
        }
        lefts, rights = table["unique_id_l"].tolist(), table["unique_id_r"].tolist()
        match_weights, probabilities = table["match_weight"].tolist(), table["match_probability"].tolist()
        pairs = []
        for position, left in enumerate(lefts):
            evidence = []
            for column in columns:
                gamma = int(gammas[column][position])
                if gamma == -1:
                    continue
                adjustment = adjustments[column]
                weight = float(weights[column][position]) + (_finite(adjustment[position]) if adjustment else 0.0)
                evidence.append(FieldEvidence(column, self._labels.get((column, gamma), "compared"), round(weight, 2)))
            pairs.append(
                ScoredPair(
                    int(left),
                    int(rights[position]),
                    float(match_weights[position]),
                    float(probabilities[position]),
                    tuple(evidence),
                )
            )
        return pairs

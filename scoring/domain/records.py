"""The city's and the committee's records: a summary of the counties' results (County, Figures, Summary)
and a rating programme with a committee's run (Programme, CenterRating, DistrictTotals, Rating). Frozen,
and nothing else.

Jobs (summary.py, rating.py) and the programme's loader build these from the model's results; papers read
them. The engine never imports this module: it scores one bundle and knows nothing of a city's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from scoring.base.numbers import ZERO
from scoring.domain.model import OUTCOME, STAGES

# ---------------------------------------------------------------- a city's summary of its counties


@dataclass(frozen=True)
class Figures:
    """One stage's figures for one county."""

    stage: str
    total: Decimal
    supported: Decimal
    mandatory_met: int
    mandatory_total: int
    passed: bool
    verdict: str
    unit: str = ""
    reviewer: str = ""
    date: str = ""
    pending: int = 0  # entries waiting to be re-checked


@dataclass(frozen=True)
class County:
    source: str  # the bundle's folder or zip name in the summarised folder
    name: str  # the assessee, "" when the bundle could not be read
    bundle_sha256: str
    rubric: str  # title（version）
    noun: str  # what the rubric calls mandatory indicators (强制性指标)
    max_total: Decimal
    stages: tuple[Figures, ...]  # the self-assessment first
    reviews: tuple[str, ...]  # the review files applied, in stage order
    error: str = ""

    def at(self, stage: str) -> Figures | None:
        return next((f for f in self.stages if f.stage == stage), None)

    @property
    def recommended(self) -> str:
        """The city's recommendation: its 初评 verdict, or that there is none yet."""
        first = self.at(STAGES[1])
        if self.error:
            return "—"
        if first is None:
            return f"未{STAGES[1]}"
        return OUTCOME[STAGES[1]][0 if first.passed else 1]


@dataclass(frozen=True)
class Summary:
    folder: str
    rubric: str  # the rubric's title (version) that the counties were scored by, "、"-joined when several
    counties: tuple[County, ...]
    problems: tuple[str, ...]  # review files unreadable or matching no bundle
    unit: str  # the reviewing unit named most often in the 初评 files, for the sign-off

    @property
    def stages(self) -> tuple[str, ...]:
        """The stages any county reached, in order."""
        reached = {f.stage for c in self.counties for f in c.stages}
        return tuple(s for s in STAGES if s in reached)

    @property
    def mandatory(self) -> str:
        """What mandatory indicators are called, or "" when no county's rubric has any."""
        return next((c.noun for c in self.counties if any(f.mandatory_total for f in c.stages)), "")


# ---------------------------------------------------------------- a rating programme and a committee's run

RATING_SCHEMA_VERSION = 3  # ratings.json: 3 records the programme's series, the rating year, the rubric's id


@dataclass(frozen=True)
class Grade:
    """A grade read from a registry column: the result of an external grading already done."""

    column: str
    levels: tuple[str, ...]  # highest first
    by: str = ""  # the grading (养老机构等级评定)
    noun: str = "等级"
    none: str = "未评定等级"


@dataclass(frozen=True)
class Programme:
    """What a committee applies after the bands (scoring/schemas/programme.schema.json)."""

    id: str
    title: str
    source: str
    rubric: str
    base_by_band: tuple[tuple[str, Decimal], ...]  # yuan per band, or
    base_per_fact: tuple[tuple[str, Decimal], ...]  # yuan per unit of a counted fact, summed
    factor: str  # "score" (× score / total), "band" (a % by band) or "" (none)
    factor_by_band: tuple[tuple[str, Decimal], ...]
    factor_none: Decimal  # the % when no band is reached
    round_to: Decimal  # 1 (yuan), 0.1 (jiao) or 0.01 (fen)
    quota_share: Decimal | None  # % of all centers in the city
    ties: str  # exclude | include
    payer: str
    refund_by: str
    refund_percent: Decimal
    exit_below: str
    exit_years: int
    target_band: str
    target_share: Decimal | None
    path: str = ""
    sha256: str = ""
    year: int | None = None  # the rating year, when the programme declares it
    series: str = ""  # the programme's id without its year: last year's file must be of the same series
    exit_unreadable: str = "below"  # an unreadable or missing submission: "below" the exit band, or "keep" the count
    stage_names: tuple[tuple[str, str], ...] = ()  # a reviewing stage and what the programme calls it (第三方评估)
    unit: str = "养老服务中心"  # what the papers call a rated unit (养老机构)
    money: str = "奖励"  # what the papers call the money (运营补助)
    notes: tuple[str, ...] = ()  # what the programme decides that its source leaves open, for the papers
    base_column: str = ""  # a registry column whose value picks the base (the kind of facility) …
    base_by_column: tuple[tuple[str, Decimal], ...] = ()  # … and the base for each value
    base_per_column: tuple[tuple[str, Decimal], ...] = ()  # yuan per unit counted in a registry column, summed
    factor_within: tuple[Decimal, Decimal] | None = None  # the range the source sets for the factor (80–120%)
    grade: Grade | None = None  # the grade read from the registry instead of a rubric

    @property
    def graded(self) -> bool:
        """Whether the grade is read from the registry (an external grading) rather than scored."""
        return self.grade is not None

    def stage_name(self, stage: str) -> str:
        return dict(self.stage_names).get(stage, stage)

    @property
    def assessment(self) -> str:
        """What the programme calls the assessment after the self-assessment."""
        return self.stage_names[0][1] if self.stage_names else "评审"

    @property
    def family(self) -> str:
        return self.series or self.id


@dataclass(frozen=True)
class LastYear:
    """Last year's ratings.json as --previous gives it: whose it is, which year, each center's years below."""

    file: str  # the file as --previous named it (the papers show its name)
    programme: str  # its programme's id
    series: str
    year: int
    rubric: str  # its rubric's id
    years_below: tuple[tuple[str, int], ...]  # (center id, consecutive years below the exit band)


@dataclass(frozen=True)
class CenterRating:
    """One center in a committee's run."""

    source: str  # the bundle's folder or zip name
    id: str
    name: str
    district: str
    score: Decimal | None  # the last stage's supported total, rated on; None when the bundle could not be scored
    supported: Decimal | None  # the same (kept for readers of ratings.json)
    band: str | None
    next: str | None
    held: tuple[str, ...]
    stage: str  # the stage that decided (自评, 初评, 验收)
    flags: tuple[str, ...]  # indicator id and message, for the committee
    error: str = ""
    rank: int | None = None  # 1 = highest score among those scored
    rewarded: bool = False
    reward: Decimal = ZERO
    payer_share: Decimal = ZERO
    refund: Decimal = ZERO
    years_below: int = 0  # consecutive years below the exit band, this one included
    exit: bool = False
    tie: bool = False  # tied on the score at the quota line
    sha256: str = ""
    counted: tuple[tuple[str, Decimal], ...] = ()  # the facts a per-unit reward counts, at the last stage
    categories: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (title, score, max) at the last stage
    period_end: str = ""  # the bundle's assessment period's last day
    further: tuple[tuple[str, tuple[str, ...]], ...] = ()  # each band beyond `next` and what held it
    by_total: str = ""  # the band the total alone would have given, in words, when above `band`
    bundle_district: str = ""  # the district the bundle names (the payer is the registry's `district`)
    submitted: bool = True  # False: a registry center with no bundle in the folder
    claimed: Decimal | None = None  # the stage's total with claims lacking evidence, shown beside `score`
    claimed_band: str | None = None  # the band those claims would reach
    formula: str = ""  # how the amount before the quota is computed (600,000 × 91 ÷ 100 = 546,000)
    place: int | None = None  # the place among the centers whose band earns a reward (the quota counts these)
    kind: str = ""  # the registry value that picks the base (农村幸福院), for a programme paying by column


@dataclass(frozen=True)
class DistrictTotals:
    district: str
    centers: int
    rewarded: int
    reward: Decimal
    payer_share: Decimal
    refund: Decimal


def unsent(ident: str, name: str) -> str:
    """How a registry center without a bundle is listed among a run's problems (the job words it, the
    committee's paper recognises it)."""
    return f"名册中的{name}（{ident}）没有报送材料包：未评定，不予奖励"


@dataclass(frozen=True)
class Rating:
    programme: Programme
    rubric_title: str
    bands: tuple[str, ...]  # highest first
    centers: tuple[CenterRating, ...]  # ranked: scored by score (then id), then the broken ones
    city_total: int  # all centers in the city, rated or not
    quota: int | None  # the most centers that may be rewarded
    cut: Decimal | None  # the score at the quota line, when the quota binds
    ties: tuple[str, ...]  # ids tied on the score at the line
    districts: tuple[DistrictTotals, ...]
    unrated: tuple[tuple[str, str, str], ...]  # registry centers (id, name, district) with no result
    problems: tuple[str, ...]
    year: int | None = None  # the rating year (the programme's, else the bundles' period)
    rubric_id: str = ""
    previous: LastYear | None = None
    noun: str = "等级"  # what the papers call a band: the rubric's (星级) or the programme's grade's
    none: str = "未达到"  # the words for a unit at no band (未评定等级 for grades read from the registry)

    @property
    def city(self) -> DistrictTotals:
        """The districts added up, over every center that took part (a broken bundle included)."""
        return DistrictTotals("全市合计", sum(d.centers for d in self.districts),
                              sum(d.rewarded for d in self.districts),
                              sum((d.reward for d in self.districts), ZERO),
                              sum((d.payer_share for d in self.districts), ZERO),
                              sum((d.refund for d in self.districts), ZERO))

    @property
    def submitted(self) -> tuple[CenterRating, ...]:
        """The centers with a bundle in the folder, read or not."""
        return tuple(c for c in self.centers if c.submitted)

    @property
    def rated(self) -> tuple[CenterRating, ...]:
        """The centers scored and ranked."""
        return tuple(c for c in self.centers if not c.error)

    @property
    def distribution(self) -> tuple[tuple[str, int], ...]:
        """How many centers reached each band, and none."""
        scored = [c for c in self.centers if not c.error]
        counts = [(b, sum(1 for c in scored if c.band == b)) for b in self.bands]
        return (*counts, (self.none, sum(1 for c in scored if c.band is None)))

    @property
    def at_target(self) -> int:
        """Centers at the target band or better."""
        band = self.programme.target_band
        good = set(self.bands[: self.bands.index(band) + 1]) if band in self.bands else set()
        return sum(1 for c in self.centers if c.band in good)

"""Keys and values of equality monitoring (contract section 6), and the shapes in and out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas import AsAt, PublishedPeriods, StrictModel

PREFER_NOT_TO_SAY = "prefer_not_to_say"
# Stored for a key a respondent left out, so every characteristic counts the same respondents
# each month (its column total): never published as a row of its own.
NOT_ANSWERED = "not_answered"

# The nine protected characteristics of the Equality Act 2010, in the order they are shown.
CHARACTERISTICS: dict[str, tuple[str, ...]] = {
    "age_band": ("16-24", "25-34", "35-44", "45-54", "55-64", "65+"),
    "disability": ("yes", "no"),
    "gender_reassignment": ("yes", "no"),
    "marriage_civil_partnership": ("married", "civil_partnership", "neither"),
    "pregnancy_maternity": ("yes", "no"),
    "ethnic_group": ("asian", "black", "mixed", "white", "other"),
    "religion_belief": ("none", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh", "other"),
    "sex": ("female", "male"),
    "sexual_orientation": ("heterosexual", "gay_lesbian", "bisexual", "other"),
}

# What the form shows for each key and value (the API takes the values above).
LABELS: dict[str, str] = {
    "age_band": "Age",
    "disability": "Do you consider yourself to have a disability?",
    "gender_reassignment": "Is your gender identity different from the sex you were registered at birth?",
    "marriage_civil_partnership": "Marriage or civil partnership",
    "pregnancy_maternity": "Are you pregnant, or have you been on maternity leave in the last year?",
    "ethnic_group": "Ethnic group",
    "religion_belief": "Religion or belief",
    "sex": "Sex",
    "sexual_orientation": "Sexual orientation",
}
# The protected characteristics' names in the Equality Act 2010, for tables and captions.
NAMES: dict[str, str] = {
    "age_band": "Age", "disability": "Disability", "gender_reassignment": "Gender reassignment",
    "marriage_civil_partnership": "Marriage and civil partnership", "pregnancy_maternity": "Pregnancy and maternity",
    "ethnic_group": "Race (ethnic group)", "religion_belief": "Religion or belief", "sex": "Sex",
    "sexual_orientation": "Sexual orientation",
}
VALUE_LABELS: dict[str, str] = {
    "yes": "Yes", "no": "No", "married": "Married", "civil_partnership": "In a civil partnership",
    "neither": "Neither", "asian": "Asian or Asian British", "black": "Black, Black British, Caribbean or African",
    "mixed": "Mixed or multiple ethnic groups", "white": "White", "other": "Other", "none": "No religion",
    "christian": "Christian", "buddhist": "Buddhist", "hindu": "Hindu", "jewish": "Jewish", "muslim": "Muslim",
    "sikh": "Sikh", "female": "Female", "male": "Male", "heterosexual": "Heterosexual or straight",
    "gay_lesbian": "Gay or lesbian", "bisexual": "Bisexual", PREFER_NOT_TO_SAY: "Prefer not to say",
}

Pnts = Literal["prefer_not_to_say"]
Key = Literal[
    "age_band", "disability", "gender_reassignment", "marriage_civil_partnership", "pregnancy_maternity",
    "ethnic_group", "religion_belief", "sex", "sexual_orientation",
]


class EqualityIn(StrictModel):
    """Optional equality monitoring answers. Every key is optional (a missing key is "not answered")
    and every key also takes `prefer_not_to_say`. Stored apart from the concern, with nothing that
    links them back to it, and published only as suppressed aggregates."""

    age_band: Literal["16-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer_not_to_say"] | None = None
    disability: Literal["yes", "no", "prefer_not_to_say"] | None = None
    gender_reassignment: Literal["yes", "no", "prefer_not_to_say"] | None = None
    marriage_civil_partnership: Literal["married", "civil_partnership", "neither", "prefer_not_to_say"] | None = None
    pregnancy_maternity: Literal["yes", "no", "prefer_not_to_say"] | None = None
    ethnic_group: Literal["asian", "black", "mixed", "white", "other", "prefer_not_to_say"] | None = None
    religion_belief: Literal[
        "none", "christian", "buddhist", "hindu", "jewish", "muslim", "sikh", "other", "prefer_not_to_say"
    ] | None = None
    sex: Literal["female", "male", "prefer_not_to_say"] | None = None
    sexual_orientation: Literal["heterosexual", "gay_lesbian", "bisexual", "other", "prefer_not_to_say"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        # A missing key means "not answered"; an explicit null is not one of the values.
        if isinstance(data, dict):
            for key, value in data.items():
                if value is None:
                    raise ValueError(f"{key}: leave the key out if it is not answered")
        return data

    def answered(self) -> dict[str, str]:
        """The keys answered (a value or prefer_not_to_say)."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class BaselineRowIn(StrictModel):
    value: str = Field(max_length=32)
    share: float = Field(ge=0, le=1, description="The workforce's share (0..1) with this value.")


class BaselineCharacteristicIn(StrictModel):
    key: Key
    rows: list[BaselineRowIn] = Field(max_length=16)

    @model_validator(mode="after")
    def _values(self) -> BaselineCharacteristicIn:
        allowed = CHARACTERISTICS[self.key]
        seen: set[str] = set()
        for row in self.rows:
            if row.value not in allowed:
                raise ValueError(f"{self.key}: {row.value!r} is not one of {', '.join(allowed)}")
            if row.value in seen:
                raise ValueError(f"{self.key}: {row.value!r} is given twice")
            seen.add(row.value)
        if sum(r.share for r in self.rows) > 1 + 1e-9:
            raise ValueError(f"{self.key}: the shares add up to more than 1")
        return self


class BaselineIn(StrictModel):
    """The workforce's make-up (from HR's records), to compare the service's users against. Replaces
    the whole baseline: a characteristic or value left out has no baseline."""

    characteristics: list[BaselineCharacteristicIn] = Field(max_length=len(CHARACTERISTICS))

    @model_validator(mode="after")
    def _once_each(self) -> BaselineIn:
        keys = [c.key for c in self.characteristics]
        if len(keys) != len(set(keys)):
            raise ValueError("characteristics: each key at most once")
        return self


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class BaselineRowOut(_Out):
    value: str
    share: float


class BaselineCharacteristicOut(_Out):
    key: str
    rows: list[BaselineRowOut]


class BaselineOut(_Out):
    characteristics: list[BaselineCharacteristicOut]

    @classmethod
    def of(cls, shares: dict[str, dict[str, float]]) -> BaselineOut:
        return cls(characteristics=[
            BaselineCharacteristicOut(key=key, rows=[BaselineRowOut(value=v, share=shares[key][v])
                                                     for v in values if v in shares.get(key, {})])
            for key, values in CHARACTERISTICS.items() if shares.get(key)
        ])


class EqualityRow(_Out):
    value: str = Field(description="A value of the characteristic, or prefer_not_to_say.")
    count: int | None = Field(description="Respondents with this answer; null = withheld.")
    share: float | None = Field(
        description="Share (0..1) among the respondents who gave a value for this characteristic "
        "(for prefer_not_to_say: among those who answered it at all); null = withheld."
    )
    baseline_share: float | None = Field(description="The workforce's share (admin-entered); null if none.")
    ratio: float | None = Field(description="share / baseline_share: above 1 over-represented, below 1 under-represented.")
    ratio_low: float | None = Field(description="Lower end of the 95% interval of the ratio (Wilson interval on the share).")
    ratio_high: float | None = Field(description="Upper end of the 95% interval of the ratio (Wilson interval on the share).")


class EqualityCharacteristic(_Out):
    key: str
    respondents: int | None = Field(description="Respondents who gave a value (not prefer_not_to_say); null = withheld.")
    rows: list[EqualityRow]


class EqualityTable(_Out):
    from_: str = Field(alias="from", description="First month, YYYY-MM.")
    to: str = Field(description="Last month, YYYY-MM.")
    min_cell: int = Field(description="Smallest count shown; smaller non-zero counts, and numbers that would reveal them, are null.")
    characteristics: list[EqualityCharacteristic]
    published_periods: PublishedPeriods = []
    as_at: AsAt = None

"""The words staff and the board read for stored values, in one home (the reporter's wording stays
with the reporter's forms).
"""

from __future__ import annotations

from app.enums import About, Channel, LocationKind, Outcome, ReferralKind, Status

CHANNEL_LABELS: dict[str, str] = {
    Channel.WEB.value: "Online form",
    Channel.PHONE.value: "Phone call",
    Channel.EMAIL.value: "E-mail",
    Channel.IN_PERSON.value: "In person",
}
# A channel's share of contacts, as a row of a summary table.
CHANNEL_SHARE_LABELS: dict[str, str] = {
    Channel.WEB.value: "By online form",
    Channel.PHONE.value: "By phone",
    Channel.EMAIL.value: "By e-mail",
    Channel.IN_PERSON.value: "In person",
}
ABOUT_SHARE_LABELS: dict[str, str] = {
    About.SELF.value: "About the reporter themself",
    About.COLLEAGUE.value: "About a colleague",
    About.OTHER.value: "About someone else",
}
LOCATION_KIND_LABELS: dict[str, str] = {
    LocationKind.STATION.value: "Station",
    LocationKind.DEPARTMENT.value: "Department",
    LocationKind.TEAM.value: "Team",
    LocationKind.WATCH.value: "Watch",
}
STATUS_LABELS: dict[str, str] = {
    Status.RECEIVED.value: "New",
    Status.TRIAGED.value: "Triaged",
    Status.IN_PROGRESS.value: "With HR contact",
    Status.CLOSED.value: "Closed",
}
OUTCOME_LABELS: dict[str, str] = {
    Outcome.RESOLVED_INFORMALLY.value: "Resolved informally",
    Outcome.SIGNPOSTED.value: "Signposted to other support",
    Outcome.REFERRED.value: "Referred elsewhere",
    Outcome.INVESTIGATION.value: "Formal investigation",
    Outcome.WITHDRAWN.value: "Withdrawn by the reporter",
    Outcome.NO_FURTHER_ACTION.value: "No further action",
}
REFERRAL_LABELS: dict[str, str] = {
    ReferralKind.FORMAL_INVESTIGATION.value: "Formal investigation",
    ReferralKind.POLICE.value: "Police",
    ReferralKind.LOCAL_AUTHORITY_SAFEGUARDING.value: "Local authority safeguarding",
    ReferralKind.OCCUPATIONAL_HEALTH.value: "Occupational health",
    ReferralKind.REGULATOR_NOTIFICATION.value: "Regulator notification",
    ReferralKind.COUNSELLING.value: "Counselling",
    ReferralKind.THIRD_SECTOR.value: "Third-sector signposting",
}
# How the referrals made in a period stand today (the statistics' `ReferralStatus`).
REFERRAL_STATUS_LABELS: dict[str, str] = {
    "open": "Open, not yet due",
    "overdue": "Open and overdue",
    "completed_on_time": "Completed on time",
    "completed_late": "Completed late",
}
# The closing survey's four ratings (`app.cases.feedback.RATING_KEYS`), as a board reads their means.
FEEDBACK_LABELS: dict[str, str] = {
    "listened_to": "Felt listened to",
    "kept_informed": "Kept informed",
    "support_suitable": "Support was right for them",
    "would_recommend": "Would recommend Safe Share",
}

for _labels, _enum in ((CHANNEL_LABELS, Channel), (CHANNEL_SHARE_LABELS, Channel), (ABOUT_SHARE_LABELS, About),
                       (LOCATION_KIND_LABELS, LocationKind), (STATUS_LABELS, Status), (OUTCOME_LABELS, Outcome), (REFERRAL_LABELS, ReferralKind)):
    assert list(_labels) == [m.value for m in _enum], _enum  # every value named, in the enum's order

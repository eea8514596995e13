"""The permission table: each capability, the roles that have it, and what each role is called.

Every check asks for a capability (`may`), never a role (docs/architecture.md, "Where a change goes").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from app.enums import Role


class Capability(str, enum.Enum):
    OWN_ACCOUNT = "own_account"  # their password, two-factor sign-in and sessions
    READ_EVERY_CASE = "read_every_case"  # triage: every case they are not excluded from
    READ_ASSIGNED_CASES = "read_assigned_cases"  # the cases assigned to them as HR contact
    WORK_ON_CASES = "work_on_cases"  # the case routes at all (which cases: the two above)
    ADMINISTER = "administer"  # accounts, themes, locations, the support directory, the audit trail
    SEE_APPROVALS = "see_approvals"  # what waits for a second person, and cancelling it
    CONFIRM_APPROVALS = "confirm_approvals"  # being that second person for case-reading accounts
    READ_STATISTICS = "read_statistics"  # anonymised statistics
    READ_SUPPORT_DIRECTORY = "read_support_directory"


SG, HR, ADMIN, LEAD = Role.SAFEGUARDING, Role.HR, Role.ADMIN, Role.LEADERSHIP

PERMISSIONS: dict[Capability, frozenset[Role]] = {
    Capability.OWN_ACCOUNT: frozenset(Role),
    Capability.READ_EVERY_CASE: frozenset({SG}),
    Capability.READ_ASSIGNED_CASES: frozenset({HR}),
    Capability.WORK_ON_CASES: frozenset({SG, HR}),
    Capability.ADMINISTER: frozenset({ADMIN}),
    Capability.SEE_APPROVALS: frozenset({ADMIN, SG}),
    Capability.CONFIRM_APPROVALS: frozenset({SG}),
    Capability.READ_STATISTICS: frozenset({LEAD, SG, ADMIN}),
    Capability.READ_SUPPORT_DIRECTORY: frozenset({SG, HR, ADMIN}),
}


@dataclass(frozen=True)
class RoleText:
    label: str  # the console's name for it
    summary: str  # a line beside it on the accounts page
    granted: str  # the security e-mail's sentence when someone gains it


ROLES: dict[Role, RoleText] = {
    ADMIN: RoleText("Administrator", "Accounts, themes and the audit trail; never case content.",
                    "With this role they manage accounts, themes and locations and read the audit trail (never a concern)."),
    SG: RoleText("Safeguarding", "Triage: reads every case it is not excluded from.",
                 "With this role they can read every concern."),
    HR: RoleText("HR contact", "Reads only the cases assigned to them.",
                 "With this role they can read the concerns assigned to them."),
    LEAD: RoleText("Leadership", "Anonymised statistics only.", "With this role they see anonymised statistics."),
}


def roles_with(capability: Capability) -> frozenset[Role]:
    return PERMISSIONS[capability]


def may(roles: Iterable[Role], capability: Capability) -> bool:
    allowed = PERMISSIONS[capability]
    return any(r in allowed for r in roles)


# Two people for every path to case content (docs/security.md, "Nobody alone").
CASE_READING_ROLES: frozenset[Role] = PERMISSIONS[Capability.READ_EVERY_CASE] | PERMISSIONS[Capability.READ_ASSIGNED_CASES]

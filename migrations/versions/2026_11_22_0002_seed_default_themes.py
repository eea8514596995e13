"""seed the fourteen default themes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy: migrations never import the application's code.
THEMES = [
    ("domestic_abuse", "Domestic abuse", "Abuse or coercive control at home, by a partner, ex-partner or family member."),
    ("misconduct", "Allegations of misconduct", "Behaviour at work that may breach the code of conduct or the law."),
    ("financial_concern", "Financial concern", "Debt, money worries, or financial hardship."),
    ("mental_health", "Mental health", "Stress, anxiety, low mood, trauma or thoughts of self-harm."),
    ("line_manager", "Concerns about a line manager", "How a line manager treats, supports or manages someone."),
    ("bullying", "Bullying in the workplace", "Intimidation, humiliation, exclusion or harassment at work."),
    ("substance_misuse", "Substance misuse", "Alcohol, drugs or medication affecting someone's safety or wellbeing."),
    ("promotion_process", "Promotion process", "Fairness or conduct of promotion, selection or development processes."),
    ("industrial_action", "Concerns linked to industrial action", "Pressure, conflict or fallout around industrial action."),
    ("gambling", "Gambling", "Gambling that harms someone's finances, work or wellbeing."),
    ("matrimonial", "Matrimonial", "Separation, divorce or relationship breakdown."),
    ("misogyny", "Misogyny", "Sexism, sexual harassment or hostility towards women."),
    ("homophobia", "Homophobia", "Hostility or discrimination because of sexual orientation or gender identity."),
    ("other", "Other", "Anything else."),
]

themes = sa.table(
    "themes",
    sa.column("slug", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.Text),
    sa.column("active", sa.Boolean),
    sa.column("position", sa.Integer),
)


def upgrade() -> None:
    op.bulk_insert(
        themes,
        [
            {"slug": slug, "name": name, "description": desc, "active": True, "position": i}
            for i, (slug, name, desc) in enumerate(THEMES, start=1)
        ],
    )


def downgrade() -> None:
    op.execute(themes.delete().where(themes.c.slug.in_([slug for slug, _, _ in THEMES])))

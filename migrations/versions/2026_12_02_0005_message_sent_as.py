"""messages.sent_as: whether a staff message came from the HR contact or the safeguarding team

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 08:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sent_as", sa.Enum("hr_contact", "safeguarding", name="sent_as", native_enum=False,
                                                      length=32), nullable=True))
    # Earlier staff messages: an author who holds no safeguarding role can only have written as
    # the assigned HR contact; a safeguarding user did so only if they are the case's contact.
    op.execute(
        "UPDATE messages SET sent_as = CASE WHEN author_id IS NOT NULL AND ("
        " author_id = (SELECT hr_contact_id FROM cases WHERE cases.id = messages.case_id)"
        " OR NOT EXISTS (SELECT 1 FROM user_roles WHERE user_roles.user_id = messages.author_id"
        " AND user_roles.role = 'safeguarding')) THEN 'hr_contact' ELSE 'safeguarding' END"
        " WHERE sender = 'staff'"
    )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sent_as")

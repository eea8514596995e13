"""Every model, imported once so the metadata is complete (Alembic, tests)."""

from app.attachments.models import Attachment, AttachmentChunk
from app.audit.models import AuditEvent
from app.auth.models import RecoveryCode, StaffSession, TotpReset, User, UserRole
from app.cases.models import Case, CaseTheme, Exclusion, Feedback, Message, Note, Referral
from app.checkins.models import CheckIn
from app.crypto.models import CaseKey, CaseKeySeal, CaseKeyWrap, DormantKey, EscrowKey, PersonKey
from app.db import Base
from app.equality.models import EqualityAnswer, EqualityBaseline, EqualityCount, EqualityPending
from app.locations.models import Location
from app.notify.models import Notification
from app.replies.models import ReplyTemplate
from app.reports.models import IdempotencyRecord, ReporterSession
from app.saved_views.models import SavedView
from app.signposting.models import SupportEntry
from app.stats.models import StatsCell, StatsFresh, StatsStale
from app.themes.models import Theme
from app.throttle import ThrottleBucket

__all__ = [
    "Attachment", "AttachmentChunk", "AuditEvent", "Base", "Case", "CaseKey", "CaseKeySeal", "CaseKeyWrap", "DormantKey", "EscrowKey", "PersonKey", "CaseTheme", "CheckIn", "EqualityAnswer", "EqualityBaseline",
    "EqualityCount", "EqualityPending", "Exclusion", "Feedback",
    "IdempotencyRecord", "Location", "Message", "Note", "Notification", "RecoveryCode", "Referral", "ReplyTemplate", "ReporterSession", "SavedView", "StaffSession",
    "StatsCell", "StatsFresh", "StatsStale", "SupportEntry",
    "Theme", "ThrottleBucket", "TotpReset", "User", "UserRole",
]

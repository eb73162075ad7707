"""The typed ORM models, one module per aggregate. Importing this package registers them all
on ``Base.metadata`` (alembic's autogenerate relies on it)."""

from datacapt.models.accounts import (
    Invitation,
    InvitationStatus,
    LoginAttempt,
    RecoveryCode,
    StudyRoleAssignment,
    StudyRoleSite,
    TenantRoleAssignment,
    TotpSecret,
    User,
    UserSession,
)
from datacapt.models.api import ApiKey
from datacapt.models.audit import AuditCheckpoint, AuditCheckpointHead, AuditEvent
from datacapt.models.calendar import (
    Appointment,
    AppointmentStatus,
    CalendarFeed,
    Room,
    SiteClosure,
    SiteHours,
    SiteVideo,
    SubjectMailLink,
)
from datacapt.models.consent import (
    ConsentDocument,
    ConsentRecord,
    ConsentSettings,
    ConsentStatus,
    ConsentVersion,
    IdentityMethod,
)
from datacapt.models.design import StudyVersion, VersionState
from datacapt.models.entry import (
    EntryWarning,
    FormInstance,
    FormStatus,
    ItemValue,
    LockState,
    ReviewStatus,
    SdvStatus,
    SignatureState,
    VisitInstance,
    WarningKind,
)
from datacapt.models.epro import (
    EproOccurrence,
    OccurrenceStatus,
    SubjectAccount,
    SubjectLink,
    SubjectSession,
)
from datacapt.models.exports import DataExport, Every, ExportDefinition, ExportState
from datacapt.models.imports import DataImport, ImportFormat, ImportState
from datacapt.models.jobs import JobState, OutboxJob
from datacapt.models.messages import Message, MessageRead, MessageThread
from datacapt.models.notifications import Notification, NotificationChoice, NotificationKind
from datacapt.models.passwords import PasswordResetRequest, PasswordResetToken
from datacapt.models.payments import (
    LedgerKind,
    OrderState,
    PaymentLedgerEntry,
    PaymentLine,
    PaymentOrder,
    PaymentPlan,
    PaymentPlanVisit,
    SubjectBankAccount,
)
from datacapt.models.queries import Query, QueryMessage, QueryOrigin, QueryState, QueryStep
from datacapt.models.randomisation import (
    Environment,
    Randomisation,
    RandomisationDesign,
    RandomisationMethod,
    RandomisationSlot,
)
from datacapt.models.review import Signature, SignatureScope, SignedForm
from datacapt.models.studies import Site, Study, StudyCounter
from datacapt.models.subjects import Subject, SubjectContact, SubjectStatus
from datacapt.models.tenancy import Tenant
from datacapt.models.uploads import UploadedFile

__all__ = [
    "ApiKey",
    "Appointment",
    "AppointmentStatus",
    "AuditCheckpoint",
    "AuditCheckpointHead",
    "AuditEvent",
    "CalendarFeed",
    "ConsentDocument",
    "ConsentRecord",
    "ConsentSettings",
    "ConsentStatus",
    "ConsentVersion",
    "DataExport",
    "DataImport",
    "EntryWarning",
    "Environment",
    "EproOccurrence",
    "Every",
    "ExportDefinition",
    "ExportState",
    "FormInstance",
    "FormStatus",
    "IdentityMethod",
    "ImportFormat",
    "ImportState",
    "Invitation",
    "InvitationStatus",
    "ItemValue",
    "JobState",
    "LedgerKind",
    "LockState",
    "LoginAttempt",
    "Message",
    "MessageRead",
    "MessageThread",
    "Notification",
    "NotificationChoice",
    "NotificationKind",
    "OccurrenceStatus",
    "OrderState",
    "OutboxJob",
    "PasswordResetRequest",
    "PasswordResetToken",
    "PaymentLedgerEntry",
    "PaymentLine",
    "PaymentOrder",
    "PaymentPlan",
    "PaymentPlanVisit",
    "Query",
    "QueryMessage",
    "QueryOrigin",
    "QueryState",
    "QueryStep",
    "Randomisation",
    "RandomisationDesign",
    "RandomisationMethod",
    "RandomisationSlot",
    "RecoveryCode",
    "ReviewStatus",
    "Room",
    "SdvStatus",
    "Signature",
    "SignatureScope",
    "SignatureState",
    "SignedForm",
    "Site",
    "SiteClosure",
    "SiteHours",
    "SiteVideo",
    "Study",
    "StudyCounter",
    "StudyRoleAssignment",
    "StudyRoleSite",
    "StudyVersion",
    "Subject",
    "SubjectAccount",
    "SubjectBankAccount",
    "SubjectContact",
    "SubjectLink",
    "SubjectMailLink",
    "SubjectSession",
    "SubjectStatus",
    "Tenant",
    "TenantRoleAssignment",
    "TotpSecret",
    "UploadedFile",
    "User",
    "UserSession",
    "VersionState",
    "VisitInstance",
    "WarningKind",
]

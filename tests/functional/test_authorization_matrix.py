"""Every view on every resource type × every kind of user → exactly the expected answer.

The list of views comes from Pyramid's registry, so a view added without an expectation here
fails ``test_every_view_has_an_expectation``. The outcomes are written out by hand (not derived
from the permission table) so a change to the table that opens a door shows up here.
"""

from __future__ import annotations

from typing import Any

import pytest

from datacapt.permissions import StudyRole
from datacapt.resources import (
    ApplicationResource,
    ApplyArea,
    ApplyResource,
    DesignResource,
    ExportResource,
    ExportsResource,
    FormDesignResource,
    FormEntryResource,
    ImportResource,
    ImportsResource,
    MessagesResource,
    NotificationResource,
    PaymentOrderResource,
    PaymentsResource,
    PersonResource,
    ProductResource,
    ProductsResource,
    QueriesResource,
    QueryResource,
    RandomisationResource,
    RecruitmentResource,
    RecruitmentsResource,
    ReportsResource,
    RepositoryResource,
    Resource,
    Root,
    ScheduleResource,
    SiteResource,
    SitesResource,
    StudyResource,
    SubjectResource,
    SubjectsResource,
    SupplyResource,
    TenantResource,
    ThreadResource,
    VersionResource,
    VersionsResource,
    VisitResource,
    WithdrawalArea,
    WithdrawalResource,
)
from datacapt.resources.consent import (
    ConsentRecordResource,
    ConsentResource,
    ConsentVersionResource,
)
from datacapt.resources.subject_area import (
    QuestionnaireResource,
    SubjectArea,
    SubjectConsentResource,
    SubjectConsentsResource,
    SubjectHome,
    SubjectMessagesResource,
    SubjectThreadResource,
)
from tests.factories import (
    APPLICATION_IDS,
    CONSENT_RECORD_IDS,
    CONSENT_VERSION_ID,
    EXPORT_ID,
    IMPORT_ID,
    NOTIFICATION_ID,
    PERSONS,
    RECRUITMENT_TOKEN,
    THREAD_IDS,
    add_consent,
    add_export,
    add_import,
    add_notification,
    add_payment_order,
    add_persons,
    add_product,
    add_queries,
    add_recruitment,
    add_threads,
    build_world,
    csrf_token,
    login,
)

LOGIN = "login"  # a 303 to the sign-in page, with came_from
SITE_STAFF = ("investigator", "sub_investigator", "coordinator")  # restricted to par01
OTHERS = ("monitor", "data_manager", "sponsor_viewer", "auditor")  # every site
ROLES = (
    "anonymous",
    "nobody",
    "foreign",
    "system_admin",
    "tenant_admin",
    "study_admin",
    *SITE_STAFF,
    *OTHERS,
    "dpo",  # the tenant's data protection officer: no study role
)
assert set(SITE_STAFF + OTHERS + ("study_admin",)) == {role.value for role in StudyRole}


def outcomes(
    *,
    anonymous: Any = LOGIN,
    nobody: Any = 404,
    foreign: Any = 404,
    admins: Any = 200,
    study_admin: Any = 200,
    site_staff: Any = 200,
    others: Any = 200,
    dpo: Any = None,
) -> dict[str, Any]:
    """``dpo``: a member of the tenant holding no study role; unless told, as ``nobody``
    (whatever a study or its sites hold is unknown to them)."""
    table = {
        "anonymous": anonymous,
        "nobody": nobody,
        "foreign": foreign,
        "system_admin": admins,
        "tenant_admin": admins,
        "study_admin": study_admin,
    }
    table.update(dict.fromkeys(SITE_STAFF, site_staff))
    table.update(dict.fromkeys(OTHERS, others))
    table["dpo"] = nobody if dpo is None else dpo
    return table


def everyone(outcome: Any, anonymous: Any = None) -> dict[str, Any]:
    table = dict.fromkeys(ROLES, outcome)
    table["anonymous"] = outcome if anonymous is None else anonymous
    return table


#: Where each resource type is found in the test world, by variant.
PLACES = {
    Root: {"": "/"},
    # The subjects' area: a staff session counts for nothing there (its own identity).
    SubjectArea: {"": "/p/"},
    SubjectHome: {"": "/p/s/"},
    QuestionnaireResource: {"": "/p/s/1/"},
    TenantResource: {"": "/acme/"},
    StudyResource: {"": "/acme/demo/"},
    SitesResource: {"": "/acme/demo/sites/"},
    SiteResource: {"own": "/acme/demo/sites/par01/", "other": "/acme/demo/sites/ber01/"},
    SubjectsResource: {"": "/acme/demo/subjects/"},
    SubjectResource: {
        "own": "/acme/demo/subjects/par01-0001/",
        "other": "/acme/demo/subjects/ber01-0001/",
    },
    DesignResource: {"": "/acme/demo/design/"},
    FormDesignResource: {"": "/acme/demo/design/forms/demographics/"},
    ScheduleResource: {"": "/acme/demo/design/schedule/"},
    VersionsResource: {"": "/acme/demo/design/versions/"},
    VersionResource: {"": "/acme/demo/design/versions/1/"},
    VisitResource: {
        "own": "/acme/demo/subjects/par01-0001/screening/",
        "other": "/acme/demo/subjects/ber01-0001/screening/",
    },
    FormEntryResource: {
        "own": "/acme/demo/subjects/par01-0001/screening/demographics/",
        "other": "/acme/demo/subjects/ber01-0001/screening/demographics/",
    },
    QueriesResource: {"": "/acme/demo/queries/"},
    QueryResource: {"own": "/acme/demo/queries/1/", "other": "/acme/demo/queries/2/"},
    ExportsResource: {"": "/acme/demo/exports/"},
    ExportResource: {"": f"/acme/demo/exports/{EXPORT_ID}/"},
    ReportsResource: {"": "/acme/demo/reports/"},
    ImportsResource: {"": "/acme/demo/imports/"},
    ImportResource: {"": f"/acme/demo/imports/{IMPORT_ID}/"},
    NotificationResource: {"": f"/acme/notifications/{NOTIFICATION_ID}/"},
    RepositoryResource: {"": "/acme/repository/"},
    PersonResource: {
        "own": f"/acme/repository/{PERSONS['par01']}/",
        "other": f"/acme/repository/{PERSONS['ber01']}/",
    },
    MessagesResource: {"": "/acme/demo/messages/"},
    ThreadResource: {
        "own": f"/acme/demo/messages/{THREAD_IDS['par01']}/",
        "other": f"/acme/demo/messages/{THREAD_IDS['ber01']}/",
    },
    RandomisationResource: {"": "/acme/demo/randomisation/"},
    ConsentResource: {"": "/acme/demo/consent/"},
    ConsentVersionResource: {"": f"/acme/demo/consent/versions/{CONSENT_VERSION_ID}/"},
    ConsentRecordResource: {
        "own": f"/acme/demo/consent/records/{CONSENT_RECORD_IDS['par01']}/",
        "other": f"/acme/demo/consent/records/{CONSENT_RECORD_IDS['ber01']}/",
    },
    SubjectConsentsResource: {"": "/p/s/consent/"},
    SubjectMessagesResource: {"": "/p/s/messages/"},
    SubjectThreadResource: {"": f"/p/s/messages/{THREAD_IDS['par01']}/"},
    SubjectConsentResource: {"": f"/p/s/consent/{CONSENT_RECORD_IDS['par01']}/"},
    PaymentsResource: {"": "/acme/demo/payments/"},
    PaymentOrderResource: {"": "/acme/demo/payments/1/"},
    ProductsResource: {"": "/acme/products/"},
    ProductResource: {"": "/acme/products/P1/"},
    SupplyResource: {"": "/acme/demo/supply/"},
    RecruitmentsResource: {"": "/acme/demo/recruitment/"},
    RecruitmentResource: {"": "/acme/demo/recruitment/1/"},
    ApplicationResource: {
        "own": f"/acme/demo/recruitment/1/{APPLICATION_IDS['par01']}/",
        "other": f"/acme/demo/recruitment/1/{APPLICATION_IDS['ber01']}/",
    },
    # The public application page: a staff session counts for nothing there.
    ApplyArea: {"": "/apply/"},
    ApplyResource: {"": f"/apply/{RECRUITMENT_TOKEN}/"},
    # A person's withdrawal page: its token is an HMAC, so a made-up one (the page of a real
    # one is in test_recruitment_campaigns).
    WithdrawalArea: {"": "/apply/contact/"},
    WithdrawalResource: {"": f"/apply/contact/1-{'0' * 32}/"},
}

POST_BODIES = {
    "login": {},
    "logout": {},
    "language": {"language": "fr", "came_from": "/"},
    "preferences": {"language": "fr", "timezone": "Europe/Paris"},
}


def designer(outcome: Any) -> dict[str, dict[str, Any]]:
    """A design view: study administrators only; whoever sees the study is refused (403)."""
    return {"": outcomes(admins=403, study_admin=outcome, site_staff=403, others=403)}


def subject_read(outcome: Any) -> dict[str, dict[str, Any]]:
    """Reading a subject's pages: whoever sees the subject."""
    hidden = {"admins": 404, "study_admin": 404}
    return {
        "own": outcomes(**hidden, site_staff=outcome, others=outcome),
        "other": outcomes(**hidden, site_staff=404, others=outcome),
    }


def subject_action(outcome: Any) -> dict[str, dict[str, Any]]:
    """Changing a subject's data: site staff at its site; readers of it are refused (403)."""
    hidden = {"admins": 404, "study_admin": 404}
    return {
        "own": outcomes(**hidden, site_staff=outcome, others=403),
        "other": outcomes(**hidden, site_staff=404, others=403),
    }


def query_raiser(outcome: Any) -> dict[str, dict[str, Any]]:
    """Raising, closing, re-opening queries: monitors and data managers, at every site."""
    table = subject_action(403)
    for variant in table.values():
        variant.update(monitor=outcome, data_manager=outcome)
    return table


def only(holder: str, outcome: Any, *, site: bool = True) -> dict[str, dict[str, Any]]:
    """A monitoring action below a subject: only ``holder`` gets ``outcome``; whoever else sees
    the subject is refused (403). ``site`` says whether the holder is restricted to par01."""
    hidden = {"admins": 404, "study_admin": 404}
    own = outcomes(**hidden, site_staff=403, others=403)
    other = outcomes(**hidden, site_staff=404, others=403)
    own[holder] = outcome
    other[holder] = 404 if site else outcome
    return {"own": own, "other": other}


def site_only(holder: str, outcome: Any, *, site: bool = True) -> dict[str, dict[str, Any]]:
    """A monitoring screen or bulk action of a site: as :func:`only`, but administrators see
    the site (403 rather than 404)."""
    table = only(holder, outcome, site=site)
    for variant in table.values():
        variant.update(dict.fromkeys(("system_admin", "tenant_admin", "study_admin"), 403))
    return table


#: What a study administrator gets from each designer view when the request carries no form
#: data (the draft's lock missing → 409, unknown element → 404, validation → 422).
DESIGN_VIEWS = {
    (DesignResource, "", "GET"): 200,
    (DesignResource, "start-draft", "POST"): 409,
    (DesignResource, "discard-draft", "POST"): 409,
    (DesignResource, "add-form", "POST"): 422,
    (DesignResource, "languages", "POST"): 422,
    (DesignResource, "publish", "GET"): 200,
    (DesignResource, "publish", "POST"): 409,
    (DesignResource, "import", "GET"): 200,
    (DesignResource, "import", "POST"): 409,
    (DesignResource, "export", "GET"): 404,
    (FormDesignResource, "", "GET"): 200,
    (FormDesignResource, "settings", "POST"): 422,
    (FormDesignResource, "delete", "POST"): 409,
    (FormDesignResource, "move", "POST"): 409,
    (FormDesignResource, "add-section", "POST"): 409,
    (FormDesignResource, "add-subsection", "POST"): 404,
    (FormDesignResource, "group", "GET"): 404,
    (FormDesignResource, "group", "POST"): 404,
    (FormDesignResource, "delete-group", "POST"): 404,
    (FormDesignResource, "block", "GET"): 200,
    (FormDesignResource, "block", "POST"): 404,
    (FormDesignResource, "move-block", "POST"): 404,
    (FormDesignResource, "place-block", "POST"): 404,
    (FormDesignResource, "duplicate-block", "POST"): 404,
    (FormDesignResource, "delete-block", "POST"): 404,
    (FormDesignResource, "check-expression", "POST"): 200,
    (FormDesignResource, "preview", "GET"): 200,
    (FormDesignResource, "preview", "POST"): 200,
    (ScheduleResource, "", "GET"): 200,
    (ScheduleResource, "visit", "POST"): 422,
    (ScheduleResource, "visit-action", "POST"): 404,
    (ScheduleResource, "assign", "POST"): 409,
    (VersionsResource, "", "GET"): 200,
    (VersionResource, "", "GET"): 200,
}


def data_managers_only(outcome: Any) -> dict[str, dict[str, Any]]:
    """Imports: the study's data managers; to everyone else they do not exist (404)."""
    return {
        "": {
            **outcomes(admins=404, study_admin=404, site_staff=404, others=404),
            "data_manager": outcome,
        }
    }


def export_readers(outcome: Any, *, read_only: Any = None) -> dict[str, dict[str, Any]]:
    """Exports: the study's data managers get ``outcome``; its monitors and sponsor viewers see
    them read-only (``read_only``, else ``outcome``); to everyone else they do not exist (404)."""
    readers = outcome if read_only is None else read_only
    return {
        "": {
            **outcomes(admins=404, study_admin=404, site_staff=404, others=404),
            "data_manager": outcome,
            "monitor": readers,
            "sponsor_viewer": readers,
        }
    }


def randomisation_managers(outcome: Any) -> dict[str, dict[str, Any]]:
    """The study's randomisation page: its administrators (who hold the lists); to everyone
    else, blinded, it does not exist (404)."""
    return {"": outcomes(admins=404, study_admin=outcome, site_staff=404, others=404)}


def product_managers(outcome: Any) -> dict[str, dict[str, Any]]:
    """The organisation's product catalogue: its administrators; to everyone else it does not
    exist (404)."""
    return {"": outcomes(admins=outcome, study_admin=404, site_staff=404, others=404)}


def kit_handlers(outcome: Any) -> dict[str, dict[str, Any]]:
    """A site's kits: its site staff; whoever else sees the site is refused (403)."""
    refused = {"admins": 403, "study_admin": 403, "others": 403}
    return {
        "own": outcomes(**refused, site_staff=outcome),
        "other": outcomes(**refused, site_staff=404),
    }


def auditors_only() -> dict[str, dict[str, Any]]:
    """A study's audit trail: its (unrestricted) auditors; whoever else sees the study gets 403,
    administrators included (their own page is the tenant's trail)."""
    return {
        "": {**outcomes(admins=403, study_admin=403, site_staff=403, others=403), "auditor": 200}
    }


def tenant_admins_only() -> dict[str, dict[str, Any]]:
    """A tenant's audit trail: its administrators; members of its studies get 403."""
    return {"": outcomes(study_admin=403, site_staff=403, others=403)}


def messengers(outcome: Any) -> dict[str, dict[str, Any]]:
    """Staff messages: site staff at their sites, monitors and data managers everywhere; whoever
    else sees the study is refused (403)."""
    refused = {"sponsor_viewer": 403, "auditor": 403}
    return {
        "own": outcomes(admins=403, study_admin=403, site_staff=outcome, others=outcome) | refused,
        "other": outcomes(admins=403, study_admin=403, site_staff=404, others=outcome) | refused,
    }


#: A notification: its reader (the par01 coordinator) alone; not found for anyone else.
OWNER_ONLY = everyone(404, anonymous=LOGIN) | {"coordinator": 303}


def dpo_only(outcome: Any) -> dict[str, dict[str, Any]]:
    """The DPO's pages of the repository: the tenant's DPO; its other members get 403."""
    return {"": outcomes(admins=403, study_admin=403, site_staff=403, others=403, dpo=outcome)}


def person_pii(outcome: Any) -> dict[str, dict[str, Any]]:
    """A person of the repository: site staff of the site that registered them (who see
    personal data); whoever else does not find them, administrators and the DPO included."""
    hidden = {"admins": 404, "study_admin": 404, "others": 404}
    return {
        "own": outcomes(**hidden, site_staff=outcome),
        "other": outcomes(**hidden, site_staff=404),
    }


def recruitment_managers(outcome: Any) -> dict[str, dict[str, Any]]:
    """A study's recruitments as their administrators change them; whoever else sees the study
    is refused (403)."""
    return {"": outcomes(admins=403, study_admin=outcome, site_staff=403, others=403)}


def recruiters(outcome: Any) -> dict[str, dict[str, Any]]:
    """A recruitment's pipeline: site staff (each seeing their sites' applications); whoever
    else sees the study is refused (403)."""
    return {"": outcomes(admins=403, study_admin=403, site_staff=outcome, others=403)}


def application_followers(outcome: Any) -> dict[str, dict[str, Any]]:
    """An application (an applicant's identity and answers): site staff of its site; to
    everyone else it does not exist (404)."""
    hidden = {"admins": 404, "study_admin": 404, "others": 404}
    return {
        "own": outcomes(**hidden, site_staff=outcome),
        "other": outcomes(**hidden, site_staff=404),
    }


#: (resource type, view name, method) → variant → role → outcome.
EXPECTED: dict[tuple[type, str, str], dict[str, dict[str, Any]]] = {
    (RepositoryResource, "", "GET"): {"": outcomes(dpo=200)},
    (RepositoryResource, "register", "GET"): {
        "": outcomes(admins=403, study_admin=403, others=403, dpo=403)
    },
    (RepositoryResource, "register", "POST"): {
        "": outcomes(admins=403, study_admin=403, site_staff=422, others=403, dpo=403)
    },
    (RepositoryResource, "access-log", "GET"): dpo_only(200),
    (RepositoryResource, "access-log.csv", "GET"): dpo_only(200),
    (RepositoryResource, "erasure-requests", "GET"): dpo_only(200),
    (RepositoryResource, "decide", "POST"): dpo_only(404),
    (RepositoryResource, "retention", "GET"): dpo_only(200),
    (RepositoryResource, "retention", "POST"): dpo_only(422),
    (PersonResource, "", "GET"): person_pii(200),
    (PersonResource, "edit", "GET"): person_pii(200),
    (PersonResource, "edit", "POST"): person_pii(422),
    (PersonResource, "link", "POST"): person_pii(422),
    (PersonResource, "erasure", "POST"): person_pii(303),
    (PersonResource, "bundle", "POST"): person_pii(303),
    (PersonResource, "release", "POST"): person_pii(404),
    (PersonResource, "bundle-file", "GET"): person_pii(404),
    (Root, "", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "login", "GET"): {"": everyone(303, anonymous=200)},
    (Root, "login", "POST"): {"": everyone(422)},
    (Root, "logout", "GET"): {"": everyone(200, anonymous=303)},
    (Root, "logout", "POST"): {"": everyone(303)},
    (Root, "language", "POST"): {"": everyone(303)},
    (Root, "preferences", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "preferences", "POST"): {"": everyone(303, anonymous=LOGIN)},
    (Root, "notifications", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "notification-bell", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "notifications-read", "POST"): {"": everyone(303, anonymous=LOGIN)},
    (Root, "notification-preferences", "POST"): {"": everyone(303, anonymous=LOGIN)},
    (NotificationResource, "read", "POST"): {"": OWNER_ONLY},
    (NotificationResource, "open", "POST"): {"": OWNER_ONLY},
    (MessagesResource, "", "GET"): {"": messengers(200)["own"]},
    (MessagesResource, "start", "POST"): {"": messengers(422)["own"]},
    (ThreadResource, "", "GET"): messengers(200),
    (ThreadResource, "reply", "POST"): messengers(422),
    (ThreadResource, "attachment", "GET"): messengers(404),  # no such file
    # Second sign-in steps: without a pending sign-in, back to the password step.
    (Root, "login-code", "GET"): {"": everyone(303)},
    (Root, "login-code", "POST"): {"": everyone(303)},
    (Root, "login-enrol", "GET"): {"": everyone(303)},
    (Root, "login-enrol", "POST"): {"": everyone(303)},
    (Root, "two-factor", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "two-factor", "POST"): {"": everyone(400, anonymous=LOGIN)},
    (Root, "sign-in-again", "GET"): {"": everyone(200)},
    (Root, "sign-in-again", "POST"): {"": everyone(422)},
    (Root, "keep-alive", "POST"): {"": everyone(204, anonymous=LOGIN)},
    (Root, "sessions", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "sessions", "POST"): {"": everyone(400, anonymous=LOGIN)},
    # Probes for load balancers: public, whoever asks.
    (Root, "healthz", "GET"): {"": everyone(200)},
    (Root, "readyz", "GET"): {"": everyone(200)},
    # Metrics: only with a token configured (the tests configure none).
    (Root, "metrics", "GET"): {"": everyone(404)},
    (StudyResource, "invitations", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "invitations", "POST"): {
        "": outcomes(admins=400, study_admin=400, site_staff=403, others=403)
    },
    (StudyResource, "api-keys", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "issue-api-key", "POST"): {
        "": outcomes(admins=422, study_admin=422, site_staff=403, others=403)
    },
    (StudyResource, "revoke-api-key", "POST"): {
        "": outcomes(admins=303, study_admin=303, site_staff=403, others=403)
    },
    # The subjects' area answers a staff session as nobody: the same page to everyone.
    (SubjectArea, "", "GET"): {"": everyone(404)},
    (SubjectArea, "start", "GET"): {"": everyone(404)},
    (SubjectArea, "start", "POST"): {"": everyone(404)},
    # A subject account's sign-in: no identity needed (a staff session is nobody here); empty
    # credentials are refused like wrong ones.
    (SubjectArea, "login", "GET"): {"": everyone(200)},
    (SubjectArea, "login", "POST"): {"": everyone(422)},
    (SubjectHome, "", "GET"): {"": everyone(404)},
    (SubjectHome, "account", "GET"): {"": everyone(404)},
    (SubjectHome, "account", "POST"): {"": everyone(404)},
    (SubjectHome, "sign-out", "POST"): {"": everyone(404)},
    (QuestionnaireResource, "", "GET"): {"": everyone(404)},
    (QuestionnaireResource, "evaluate", "POST"): {"": everyone(404)},
    (QuestionnaireResource, "save", "POST"): {"": everyone(404)},
    (Root, "invitation", "GET"): {"": everyone(404)},
    (Root, "invitation", "POST"): {"": everyone(404)},
    (TenantResource, "security", "GET"): {
        "": outcomes(study_admin=403, site_staff=403, others=403)
    },
    (TenantResource, "security", "POST"): {
        "": outcomes(admins=303, study_admin=403, site_staff=403, others=403)
    },
    (Root, "password", "GET"): {"": everyone(200, anonymous=LOGIN)},
    (Root, "password", "POST"): {"": everyone(422, anonymous=LOGIN)},
    (Root, "password-strength", "POST"): {"": everyone(200)},
    (Root, "forgot-password", "GET"): {"": everyone(200)},
    (Root, "forgot-password", "POST"): {"": everyone(422)},
    (Root, "reset-password", "GET"): {"": everyone(404)},
    (Root, "reset-password", "POST"): {"": everyone(404)},
    (TenantResource, "", "GET"): {"": outcomes()},
    # Role administration: organisation members for its administrators; study members for
    # study administrators too. Without form data: no such member (404), or the form's 422.
    (TenantResource, "members", "GET"): {"": outcomes(study_admin=403, site_staff=403, others=403)},
    (TenantResource, "grant-admin", "POST"): {
        "": outcomes(admins=404, study_admin=403, site_staff=403, others=403)
    },
    (TenantResource, "revoke-admin", "POST"): {
        "": outcomes(admins=404, study_admin=403, site_staff=403, others=403)
    },
    (TenantResource, "grant-dpo", "POST"): {
        "": outcomes(admins=404, study_admin=403, site_staff=403, others=403)
    },
    (TenantResource, "revoke-dpo", "POST"): {
        "": outcomes(admins=404, study_admin=403, site_staff=403, others=403)
    },
    (StudyResource, "members", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "grant-role", "POST"): {
        "": outcomes(admins=422, study_admin=422, site_staff=403, others=403)
    },
    (StudyResource, "change-role", "POST"): {
        "": outcomes(admins=404, study_admin=404, site_staff=403, others=403)
    },
    (StudyResource, "revoke-role", "POST"): {
        "": outcomes(admins=404, study_admin=404, site_staff=403, others=403)
    },
    (StudyResource, "", "GET"): {"": outcomes()},
    # Opening studies and sites: organisation administrators; keeping them: study
    # administrators too. (A POST without form data: 422.)
    (TenantResource, "new-study", "GET"): {
        "": outcomes(study_admin=403, site_staff=403, others=403)
    },
    (TenantResource, "new-study", "POST"): {
        "": outcomes(admins=422, study_admin=403, site_staff=403, others=403)
    },
    (SitesResource, "new", "GET"): {"": outcomes(study_admin=403, site_staff=403, others=403)},
    (SitesResource, "new", "POST"): {
        "": outcomes(admins=422, study_admin=403, site_staff=403, others=403)
    },
    (SiteResource, "edit", "GET"): {
        "own": outcomes(site_staff=403, others=403),
        "other": outcomes(site_staff=404, others=403),
    },
    (SiteResource, "edit", "POST"): {
        "own": outcomes(admins=422, study_admin=422, site_staff=403, others=403),
        "other": outcomes(admins=422, study_admin=422, site_staff=404, others=403),
    },
    (StudyResource, "settings", "GET"): {"": outcomes(site_staff=403, others=403)},
    # Automations: the study's administrators (and the organisation's). Without form data a
    # new rule is refused (422); without a rule's id there is no rule (404).
    (StudyResource, "automations", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "automation-new", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "automation-new", "POST"): {
        "": outcomes(admins=422, study_admin=422, site_staff=403, others=403)
    },
    (StudyResource, "automation", "GET"): {
        "": outcomes(admins=404, study_admin=404, site_staff=403, others=403)
    },
    (StudyResource, "automation", "POST"): {
        "": outcomes(admins=404, study_admin=404, site_staff=403, others=403)
    },
    (StudyResource, "automation-enabled", "POST"): {
        "": outcomes(admins=404, study_admin=404, site_staff=403, others=403)
    },
    (StudyResource, "automation-runs", "GET"): {"": outcomes(site_staff=403, others=403)},
    (StudyResource, "settings", "POST"): {
        "": outcomes(admins=422, study_admin=422, site_staff=403, others=403)
    },
    (TenantResource, "audit", "GET"): tenant_admins_only(),
    (TenantResource, "audit-export", "GET"): tenant_admins_only(),
    # Worklists: whoever reads the study's subjects; @@worklist names its list after it.
    (StudyResource, "worklists", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (StudyResource, "worklist", "GET"): {
        "": outcomes(admins=403, study_admin=403, site_staff=404, others=404)
    },
    (StudyResource, "audit", "GET"): auditors_only(),
    (StudyResource, "audit-export", "GET"): auditors_only(),
    (SitesResource, "", "GET"): {"": outcomes()},
    (SiteResource, "", "GET"): {"own": outcomes(), "other": outcomes(site_staff=404)},
    (SubjectsResource, "", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (SubjectResource, "", "GET"): {
        "own": outcomes(admins=404, study_admin=404),
        "other": outcomes(admins=404, study_admin=404, site_staff=404),
    },
    **{key: designer(outcome) for key, outcome in DESIGN_VIEWS.items()},
    # Subjects and data entry. Site staff are restricted to par01; the other study roles
    # read every site; administrators and the designer see no subject (404 under one).
    (SubjectsResource, "dashboard", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (SubjectsResource, "enrol", "GET"): {"": outcomes(admins=403, study_admin=403, others=403)},
    (SubjectsResource, "enrol", "POST"): {
        "": outcomes(admins=403, study_admin=403, site_staff=422, others=403)
    },
    (SubjectResource, "status", "POST"): subject_action(422),
    (SubjectResource, "contact", "GET"): subject_action(200),
    (SubjectResource, "contact", "POST"): subject_action(303),
    (SubjectResource, "epro-link", "GET"): subject_action(200),
    (SubjectResource, "epro-link", "POST"): subject_action(200),
    (SubjectResource, "epro-schedule", "POST"): subject_action(422),
    (SubjectResource, "epro-send", "POST"): subject_action(404),
    # Entering a questionnaire on the subject's behalf (no occurrence named: 404).
    (SubjectResource, "epro-on-behalf", "GET"): subject_action(404),
    (SubjectResource, "epro-on-behalf", "POST"): subject_action(404),
    (SubjectResource, "add-visit", "POST"): subject_action(404),
    (VisitResource, "", "GET"): subject_read(200),
    (VisitResource, "add-row", "POST"): subject_action(404),
    (VisitResource, "visit-date", "POST"): subject_action(422),  # no date: 422
    (FormEntryResource, "", "GET"): subject_read(200),
    (FormEntryResource, "evaluate", "POST"): subject_action(200),
    (FormEntryResource, "save", "POST"): subject_action(303),
    (FormEntryResource, "history", "GET"): subject_read(404),
    (FormEntryResource, "file", "GET"): subject_read(404),
    (FormEntryResource, "remove", "POST"): subject_action(404),
    # Queries: whoever reads a subject reads its queries; monitors and data managers raise,
    # close and re-open them; site staff answer. (A POST without a message: 422.)
    (FormEntryResource, "queries", "GET"): subject_read(200),
    (FormEntryResource, "raise-query", "POST"): query_raiser(422),
    # Queries on a whole visit or on the subject, as on a form.
    (VisitResource, "queries", "GET"): subject_read(200),
    (VisitResource, "raise-query", "POST"): query_raiser(422),
    (SubjectResource, "queries", "GET"): subject_read(200),
    (SubjectResource, "raise-query", "POST"): query_raiser(422),
    (QueriesResource, "", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (QueriesResource, "export", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (QueriesResource, "metrics", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (QueriesResource, "close", "POST"): {
        "": {
            **outcomes(admins=403, study_admin=403, site_staff=403, others=403),
            "monitor": 422,
            "data_manager": 422,
        }
    },
    (QueryResource, "", "GET"): subject_read(200),
    (QueryResource, "answer", "POST"): subject_action(422),
    (QueryResource, "close", "POST"): query_raiser(422),
    (QueryResource, "reopen", "POST"): query_raiser(422),
    # Monitoring. Without form data: no value ticked → 422, a form or visit not entered yet →
    # 404, no subject chosen or no password → 422. Freezing, locking and unlocking are one view
    # each (the form's ``action``), each under its own permission; the data manager (who holds
    # both) freezes the screening visit with its queried consent form (303), cannot lock it
    # with a query open nor unlock it without a reason (422), and finds no data on a form not
    # entered yet or with no subject chosen (422).
    (FormEntryResource, "verify", "POST"): only("monitor", 422, site=False),
    (FormEntryResource, "review", "POST"): only("data_manager", 303, site=False),
    (FormEntryResource, "data-state?action=freeze", "POST"): only("data_manager", 422, site=False),
    (FormEntryResource, "data-state?action=lock", "POST"): only("data_manager", 422, site=False),
    (FormEntryResource, "data-state?action=unlock", "POST"): only("data_manager", 422, site=False),
    (FormEntryResource, "sign", "GET"): only("investigator", 404),
    (FormEntryResource, "sign", "POST"): only("investigator", 404),
    (VisitResource, "verify", "POST"): only("monitor", 422, site=False),
    (VisitResource, "data-state?action=freeze", "POST"): only("data_manager", 303, site=False),
    (VisitResource, "data-state?action=lock", "POST"): only("data_manager", 422, site=False),
    (VisitResource, "data-state?action=unlock", "POST"): only("data_manager", 422, site=False),
    (VisitResource, "sign", "GET"): only("investigator", 200),
    (VisitResource, "sign", "POST"): only("investigator", 422),
    (SubjectResource, "data-state?action=freeze", "POST"): only("data_manager", 303, site=False),
    (SubjectResource, "data-state?action=lock", "POST"): only("data_manager", 422, site=False),
    (SubjectResource, "data-state?action=unlock", "POST"): only("data_manager", 422, site=False),
    (SubjectResource, "sign", "GET"): only("investigator", 200),
    (SubjectResource, "sign", "POST"): only("investigator", 422),
    # Calendars: whoever reads the site's subjects; site staff book (no data: 422, no id: 404).
    (SiteResource, "calendar", "GET"): {
        "own": outcomes(admins=403, study_admin=403),
        "other": outcomes(admins=403, study_admin=403, site_staff=404),
    },
    (SiteResource, "book", "GET"): {
        "own": outcomes(admins=403, study_admin=403, others=403),
        "other": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
    },
    (SiteResource, "book", "POST"): {
        "own": outcomes(admins=403, study_admin=403, site_staff=422, others=403),
        "other": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
    },
    (SiteResource, "appointment-status", "POST"): {
        "own": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
        "other": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
    },
    (SubjectResource, "appointments", "GET"): subject_read(200),
    **{
        (SiteResource, "reschedule", method): {
            "own": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
            "other": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
        }
        for method in ("GET", "POST")
    },
    (SiteResource, "calendar-settings", "GET"): {
        "own": outcomes(site_staff=403, others=403),
        "other": outcomes(site_staff=404, others=403),
    },
    (SiteResource, "calendar-settings", "POST"): {
        "own": outcomes(admins=422, study_admin=422, site_staff=403, others=403),
        "other": outcomes(admins=422, study_admin=422, site_staff=404, others=403),
    },
    (SiteResource, "calendar-feed", "POST"): {
        "own": outcomes(admins=403, study_admin=403, site_staff=200, others=403),
        "other": outcomes(admins=403, study_admin=403, site_staff=404, others=403),
    },
    (SiteResource, "sdv", "GET"): site_only("monitor", 200, site=False),
    (SiteResource, "verify", "POST"): site_only("monitor", 422, site=False),
    (SiteResource, "locking", "GET"): site_only("data_manager", 200, site=False),
    (SiteResource, "data-state?action=freeze", "POST"): site_only("data_manager", 422, site=False),
    (SiteResource, "data-state?action=lock", "POST"): site_only("data_manager", 422, site=False),
    (SiteResource, "data-state?action=unlock", "POST"): site_only("data_manager", 422, site=False),
    (SiteResource, "sign", "GET"): site_only("investigator", 200),
    (SiteResource, "sign", "POST"): site_only("investigator", 422),
    # Exports (a POST without a format: 422); monitors and sponsor viewers read them.
    (ExportsResource, "", "GET"): export_readers(200),
    (ExportsResource, "start", "POST"): export_readers(422, read_only=403),
    (ExportResource, "row", "GET"): export_readers(200),
    (ExportResource, "download", "GET"): export_readers(200),
    (ExportResource, "retry", "POST"): export_readers(409, read_only=403),  # done: nothing to retry
    (ExportsResource, "save-definition", "POST"): export_readers(422, read_only=403),
    (ExportsResource, "definition", "GET"): export_readers(
        404, read_only=403
    ),  # no id: no definition
    (ExportsResource, "definition", "POST"): export_readers(404, read_only=403),
    (ExportsResource, "run-definition", "POST"): export_readers(404, read_only=403),
    (ExportsResource, "delete-definition", "POST"): export_readers(404, read_only=403),
    # Reports: whoever reads the study's subjects, narrowed to their sites (a download that
    # names no report: 400).
    (ReportsResource, "", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (ReportsResource, "summary", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (ReportsResource, "epro-compliance", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (ReportsResource, "download", "GET"): {
        "": outcomes(admins=403, study_admin=403, site_staff=400, others=400)
    },
    # Imports (a POST without a file: 422; confirming an import whose dry run refused rows: 409).
    (ImportsResource, "", "GET"): data_managers_only(200),
    (ImportsResource, "upload", "POST"): data_managers_only(422),
    (ImportResource, "", "GET"): data_managers_only(200),
    (ImportResource, "report", "GET"): data_managers_only(200),
    (ImportResource, "confirm", "POST"): data_managers_only(409),
    # Randomisation. Without a design: the design form's 422, nothing to act on (404); a
    # subject's panel for whoever reads it, randomising (refused without a design: 422) for
    # site staff at its site.
    (RandomisationResource, "", "GET"): randomisation_managers(200),
    (RandomisationResource, "design", "POST"): randomisation_managers(422),
    (RandomisationResource, "generate", "POST"): randomisation_managers(404),
    (RandomisationResource, "import", "POST"): randomisation_managers(404),
    (RandomisationResource, "go-live", "POST"): randomisation_managers(404),
    (RandomisationResource, "in-error", "POST"): randomisation_managers(404),
    (RandomisationResource, "simulate", "GET"): randomisation_managers(404),
    (RandomisationResource, "list", "GET"): randomisation_managers(404),
    (SubjectResource, "randomisation", "GET"): subject_read(200),
    (SubjectResource, "randomise", "POST"): subject_action(422),
    (SubjectResource, "unblind", "POST"): only("investigator", 404),  # nothing to unblind
    # eConsent. The dashboard: whoever lists the study's subjects (narrowed to their sites);
    # documents: study administrators (a live version takes no change: 409; publishing it
    # again: 404); settings: who manages the study (no method chosen: 422). A record waiting
    # for the countersignature: site staff at its site walk no flow (404); investigators
    # countersign (no password: 422) or reject (no reason: 422); no PDF yet (404).
    (ConsentResource, "", "GET"): {"": outcomes(admins=403, study_admin=403)},
    (ConsentResource, "documents", "GET"): designer(200),
    (ConsentResource, "documents", "POST"): designer(422),
    (ConsentResource, "settings", "POST"): {
        "": outcomes(admins=422, study_admin=422, site_staff=403, others=403)
    },
    (ConsentVersionResource, "", "GET"): designer(200),
    (ConsentVersionResource, "save", "POST"): designer(409),
    (ConsentVersionResource, "publish", "POST"): designer(404),
    (ConsentVersionResource, "new-version", "POST"): designer(303),
    (ConsentRecordResource, "", "GET"): subject_read(200),
    **{
        (ConsentRecordResource, name, method): subject_action(404)
        for name in ("read", "quiz", "review", "sign")
        for method in ("GET", "POST")
    },
    (ConsentRecordResource, "done", "GET"): subject_action(200),
    (ConsentRecordResource, "countersign", "POST"): only("investigator", 422),
    (ConsentRecordResource, "reject", "POST"): only("investigator", 422),
    (ConsentRecordResource, "withdraw", "POST"): subject_action(422),
    (ConsentRecordResource, "pdf", "GET"): subject_action(404),
    (SubjectResource, "consent", "GET"): subject_read(200),
    (SubjectResource, "consent-start", "POST"): subject_action(422),
    # The subjects' side answers a staff session as nobody.
    (SubjectArea, "consent-start", "GET"): {"": everyone(404)},
    (SubjectArea, "consent-start", "POST"): {"": everyone(404)},
    (SubjectConsentsResource, "", "GET"): {"": everyone(404)},
    (SubjectMessagesResource, "", "GET"): {"": everyone(404)},
    (SubjectThreadResource, "", "GET"): {"": everyone(404)},
    (SubjectThreadResource, "reply", "POST"): {"": everyone(404)},
    (SubjectThreadResource, "attachment", "GET"): {"": everyone(404)},
    **{
        (SubjectConsentResource, name, method): {"": everyone(404)}
        for name, method in (
            ("", "GET"),
            ("read", "GET"),
            ("read", "POST"),
            ("quiz", "GET"),
            ("quiz", "POST"),
            ("review", "GET"),
            ("review", "POST"),
            ("sign", "GET"),
            ("sign", "POST"),
            ("done", "GET"),
            ("identity", "GET"),
            ("identity", "POST"),
            ("identity-code", "POST"),
            ("pdf", "GET"),
        )
    },
    # Payments: the study's plan and orders for its administrators alone (404 to everyone
    # else, as randomisation); an empty plan form is refused (422), nothing is earned (422),
    # no line is named (404), the draft order's subject has no bank details (422), a draft is
    # not exported (422), nor paid (422). A subject's bank details: masked to whoever reads the
    # subject, shown in full and changed by site staff (personal data) at their site.
    (PaymentsResource, "", "GET"): randomisation_managers(200),
    (PaymentsResource, "plan", "POST"): randomisation_managers(422),
    (PaymentsResource, "create-order", "POST"): randomisation_managers(422),
    (PaymentOrderResource, "", "GET"): randomisation_managers(200),
    (PaymentOrderResource, "line", "POST"): randomisation_managers(404),
    (PaymentOrderResource, "validate", "POST"): randomisation_managers(422),
    (PaymentOrderResource, "export", "POST"): randomisation_managers(422),
    (PaymentOrderResource, "paid", "POST"): randomisation_managers(422),
    (SubjectResource, "bank-details", "GET"): subject_read(200),
    (SubjectResource, "bank-details", "POST"): subject_action(422),
    (SubjectResource, "bank-details-shown", "GET"): subject_action(200),
    (SubjectResource, "messages", "GET"): subject_read(200),
    # Supplies. Without form data: the form's 422; no shipment or kit named: 404. The supply
    # page names arms: only the study's administrators find it; a subject's kits panel for
    # whoever reads it, allocating (refused before randomisation: 422) for its site's staff.
    (ProductsResource, "", "GET"): product_managers(200),
    (ProductsResource, "add", "POST"): product_managers(422),
    (ProductResource, "", "GET"): product_managers(200),
    (ProductResource, "edit", "POST"): product_managers(422),
    (ProductResource, "add-batch", "POST"): product_managers(422),
    (SupplyResource, "", "GET"): randomisation_managers(200),
    (SupplyResource, "kit-type", "POST"): randomisation_managers(422),
    (SupplyResource, "map", "POST"): randomisation_managers(422),
    (SupplyResource, "import", "POST"): randomisation_managers(422),
    (SupplyResource, "new-shipment", "POST"): randomisation_managers(422),
    (SupplyResource, "ship", "POST"): randomisation_managers(404),
    (SupplyResource, "cancel-shipment", "POST"): randomisation_managers(404),
    (SupplyResource, "level", "POST"): randomisation_managers(422),
    (SupplyResource, "invalidate", "POST"): randomisation_managers(422),
    (SiteResource, "kits", "GET"): kit_handlers(200),
    (SiteResource, "receive", "POST"): kit_handlers(404),
    (SiteResource, "invalidate-kit", "POST"): kit_handlers(404),
    (SubjectResource, "kits", "GET"): subject_read(200),
    (SubjectResource, "allocate-kit", "POST"): subject_action(422),
    (SubjectResource, "return-kit", "POST"): subject_action(404),
    # Recruitment. Its list for whoever sees the study; without form data: the form's 422 (a
    # missing reason for an override or a move); a campaign of the open recruitment is queued.
    # The public page for everyone, signed in or not: an empty application is refused (422);
    # /apply/ alone names no recruitment (404).
    (RecruitmentsResource, "", "GET"): {"": outcomes()},
    (RecruitmentsResource, "new", "GET"): recruitment_managers(200),
    (RecruitmentsResource, "new", "POST"): recruitment_managers(422),
    (RecruitmentResource, "", "GET"): recruiters(200),
    (RecruitmentResource, "edit", "GET"): recruitment_managers(200),
    (RecruitmentResource, "edit", "POST"): recruitment_managers(422),
    (RecruitmentResource, "campaign", "POST"): recruitment_managers(303),
    (ApplicationResource, "", "GET"): application_followers(200),
    (ApplicationResource, "override", "POST"): application_followers(422),
    (ApplicationResource, "move", "POST"): application_followers(422),
    (ApplicationResource, "link-person", "POST"): application_followers(422),
    (ApplyArea, "", "GET"): {"": everyone(404)},
    (ApplyResource, "", "GET"): {"": everyone(200)},
    (ApplyResource, "", "POST"): {"": everyone(422)},
    (ApplyResource, "evaluate", "POST"): {"": everyone(200)},
    (ApplyResource, "thanks", "GET"): {"": everyone(200)},
    (WithdrawalArea, "", "GET"): {"": everyone(404)},
    (WithdrawalResource, "", "GET"): {"": everyone(404)},
    (WithdrawalResource, "", "POST"): {"": everyone(404)},
}

# The DPO is a member of the tenant: its home page opens; its administration refuses them (403)
for (resource, name, method), variants in EXPECTED.items():
    if resource is TenantResource:
        variants[""]["dpo"] = 200 if (name, method) == ("", "GET") else 403


def registered_views(registry) -> set[tuple[type, str, str]]:
    found = set()
    for entry in registry.introspector.get_category("views"):
        view = entry["introspectable"]
        if view["exception_only"] or view["route_name"] or not isinstance(view["context"], type):
            continue
        if not issubclass(view["context"], tuple(PLACES)):
            continue
        methods = view["request_methods"] or ("GET",)
        if isinstance(methods, str):
            methods = (methods,)
        method = "GET" if "GET" in methods else methods[0]
        name = view["name"]
        params = view["request_param"]  # one view per value of a form field: the URL carries it
        if params:
            name += "?" + "&".join([params] if isinstance(params, str) else sorted(params))
        found.add((view["context"], name, method))
    return found


def test_every_view_has_an_expectation(registry):
    assert registered_views(registry) == set(EXPECTED)


def test_every_view_names_a_permission(registry):
    for entry in registry.introspector.get_category("views"):
        view = entry["introspectable"]
        context = view["context"]
        if view["exception_only"] or not (
            isinstance(context, type) and issubclass(context, Resource)
        ):
            continue
        permissions = [r for r in entry["related"] if r.category_name == "permissions"]
        assert permissions, f"{view['context'].__name__} @@{view['name']} has no permission"


def check(testapp, method: str, url: str, body: dict[str, str], token: str) -> Any:
    if method == "GET":
        response = testapp.get(url, status="*")
    else:
        response = testapp.post(url, {**body, "csrf_token": token}, status="*")
    if response.status_int == 303 and "/login?came_from=" in response.location:
        return LOGIN
    return response.status_int


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(testapp, dbsession, registry, role):
    world = build_world(dbsession, registry)
    add_queries(dbsession, world)
    add_export(dbsession, registry, world)
    add_import(dbsession, world)
    add_notification(dbsession, world)
    add_threads(dbsession, world)
    add_consent(dbsession, world)
    add_payment_order(dbsession, world)
    add_persons(dbsession, registry, world)
    add_product(dbsession, world)
    add_recruitment(dbsession, registry, world)
    failures = []
    token = None
    for (resource, name, method), variants in EXPECTED.items():
        for variant, by_role in variants.items():
            if token is None:
                if role != "anonymous":
                    testapp.reset()
                    assert login(testapp, world.users[role].email).status_int == 303
                token = csrf_token(testapp)
            url = PLACES[resource][variant] + name
            got = check(testapp, method, url, POST_BODIES.get(name, {}), token)
            if got != by_role[role]:
                failures.append(f"{method} {url}: expected {by_role[role]}, got {got}")
            if name == "logout" and method == "POST":
                token = None  # signed out: sign in again before the next request
    assert not failures, f"{role}:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ["anonymous", "nobody", "foreign", "coordinator"])
def test_unknown_and_foreign_keys_look_the_same(testapp, dbsession, registry, role):
    """Whether a tenant, study, site or subject exists is not told by the answer."""
    world = build_world(dbsession, registry)
    if role != "anonymous":
        login(testapp, world.users[role].email)
    if role == "foreign":  # the globex user probing acme
        pairs = [
            ("/acme/", "/no-such-tenant/"),
            ("/acme/demo/", "/globex/no-such-study/"),
            ("/acme/demo/sites/par01/", "/acme/demo/sites/no-such-site/"),
            ("/acme/demo/subjects/par01-0001/", "/acme/demo/subjects/no-such-subject/"),
        ]
    else:  # acme users probing globex, and the other site of acme
        pairs = [
            ("/globex/", "/no-such-tenant/"),
            ("/globex/other/", "/acme/no-such-study/"),
            ("/acme/demo/sites/lyo01/", "/acme/demo/sites/no-such-site/"),
            ("/acme/demo/subjects/lyo01-0001/", "/acme/demo/subjects/no-such-subject/"),
        ]
    expected_missing = LOGIN if role == "anonymous" else 404
    for existing_elsewhere, missing in pairs:
        assert check(testapp, "GET", missing, {}, "") == expected_missing, missing
        assert check(testapp, "GET", existing_elsewhere, {}, "") == expected_missing

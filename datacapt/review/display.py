"""What pages show of signatures: every signature of a node, valid or broken, with the signer's
printed name, the date and time, and the meaning (21 CFR Part 11 §11.50)."""

from __future__ import annotations

from pyramid.request import Request
from sqlalchemy import select

from datacapt.models import Signature, SignatureScope, SignedForm
from datacapt.resources import FormEntryResource, SubjectResource, VisitResource


def signatures_of(request: Request, context: object) -> list[Signature]:
    """The signatures of a form (any that covers it), a visit, or a casebook; newest first."""
    query = select(Signature).order_by(Signature.signed_at.desc(), Signature.id.desc())
    if isinstance(context, FormEntryResource) and context.instance is not None:
        covering = select(SignedForm.signature_id).where(
            SignedForm.form_instance_id == context.instance.id
        )
        query = query.where(Signature.id.in_(covering))
    elif isinstance(context, VisitResource) and context.instance is not None:
        query = query.where(
            Signature.scope == SignatureScope.VISIT,
            Signature.visit_instance_id == context.instance.id,
        )
    elif isinstance(context, SubjectResource):
        query = query.where(
            Signature.scope == SignatureScope.CASEBOOK,
            Signature.subject_id == context.subject.id,
        )
    else:
        return []
    return list(request.dbsession.scalars(query))

"""An order's bank files: SEPA credit transfer (ISO 20022 ``pain.001.001.03``) and CSV.

They carry what a bank needs and nothing else: the debtor (the study's paying account), and per
payee the account holder, IBAN, amount and a reference (``DC-<study>-<order>-<line>`` and the
plan's remittance text). No subject label, site or visit enters them: the files join nobody's
identity to their trial data.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime

from anyascii import anyascii
from lxml import etree

from datacapt.i18n import _
from datacapt.models import PaymentOrder, PaymentPlan
from datacapt.payments import bank, money
from datacapt.payments.services import Payee, Refused

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
#: The SEPA character set (EPC's Latin subset); anything else becomes a space.
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


def sepa_text(text: str, limit: int) -> str:
    """``text`` in the SEPA character set (``Zoë Łukasz`` → ``Zoe Lukasz``), at most ``limit``."""
    cleaned = " ".join(_NOT_SEPA.sub(" ", anyascii(text)).split())
    return cleaned[:limit].strip() or "-"


def check_sepa(order: PaymentOrder, plan: PaymentPlan | None, payees: Sequence[Payee]) -> None:
    """What a SEPA file needs, or :class:`Refused` naming what is missing."""
    if order.currency != "EUR":
        raise Refused(_("SEPA transfers are in euros: export this order as CSV."))
    if plan is None or not (plan.debtor_name and plan.debtor_iban):
        raise Refused(_("Enter the paying account (name and IBAN) in the plan first."))
    if any(not bank.in_sepa_zone(payee.iban) for payee in payees):
        raise Refused(_("An IBAN of the order is outside the SEPA area: export it as CSV."))


def pain001(
    order: PaymentOrder,
    plan: PaymentPlan,
    payees: Sequence[Payee],
    created: datetime,
    execution: date,
) -> bytes:
    """The order as a ``pain.001.001.03`` document: one payment information block (the
    study's account), one transfer per payee."""
    check_sepa(order, plan, payees)
    total = sum(payee.cents for payee in payees)
    control_sum = money.plain(total, order.currency)
    reference = sepa_text(plan.reference or "Compensation", 100)
    message_id = f"DC-{order.study_id}-{order.number}-{created:%Y%m%d%H%M%S}"

    def sub(
        parent: etree._Element, tag: str, text: str | None = None, **attributes: str
    ) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    document = etree.Element(f"{{{NAMESPACE}}}Document", nsmap={None: NAMESPACE})
    initiation = sub(document, "CstmrCdtTrfInitn")
    header = sub(initiation, "GrpHdr")
    sub(header, "MsgId", message_id)
    sub(header, "CreDtTm", created.strftime("%Y-%m-%dT%H:%M:%S"))
    sub(header, "NbOfTxs", str(len(payees)))
    sub(header, "CtrlSum", control_sum)
    sub(sub(header, "InitgPty"), "Nm", sepa_text(plan.debtor_name, 70))
    information = sub(initiation, "PmtInf")
    sub(information, "PmtInfId", f"DC-{order.study_id}-{order.number}")
    sub(information, "PmtMtd", "TRF")
    sub(information, "BtchBookg", "true")
    sub(information, "NbOfTxs", str(len(payees)))
    sub(information, "CtrlSum", control_sum)
    sub(sub(sub(information, "PmtTpInf"), "SvcLvl"), "Cd", "SEPA")
    sub(information, "ReqdExctnDt", execution.isoformat())
    sub(sub(information, "Dbtr"), "Nm", sepa_text(plan.debtor_name, 70))
    sub(sub(sub(information, "DbtrAcct"), "Id"), "IBAN", plan.debtor_iban)
    institution = sub(sub(information, "DbtrAgt"), "FinInstnId")
    if plan.debtor_bic:
        sub(institution, "BIC", plan.debtor_bic)
    else:  # IBAN-only (the EPC's rule since 2016)
        sub(sub(institution, "Othr"), "Id", "NOTPROVIDED")
    sub(information, "ChrgBr", "SLEV")
    for payee in payees:
        transfer = sub(information, "CdtTrfTxInf")
        sub(sub(transfer, "PmtId"), "EndToEndId", payee.end_to_end_id)
        sub(
            sub(transfer, "Amt"),
            "InstdAmt",
            money.plain(payee.cents, order.currency),
            Ccy=order.currency,
        )
        sub(sub(transfer, "Cdtr"), "Nm", sepa_text(payee.holder, 70))
        sub(sub(sub(transfer, "CdtrAcct"), "Id"), "IBAN", payee.iban)
        sub(sub(transfer, "RmtInf"), "Ustrd", sepa_text(f"{reference} {order.number}", 140))
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


CSV_HEADER = ("end_to_end_id", "account_holder", "iban", "amount", "currency", "reference")


def csv_file(order: PaymentOrder, plan: PaymentPlan | None, payees: Sequence[Payee]) -> bytes:
    """The same transfers as CSV (UTF-8 with BOM, for spreadsheets); cells that a spreadsheet
    would read as a formula are quoted with a leading apostrophe."""
    reference = (plan.reference if plan else "") or "Compensation"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for payee in payees:
        writer.writerow(
            [
                _cell(payee.end_to_end_id),
                _cell(payee.holder),
                payee.iban,
                money.plain(payee.cents, order.currency),
                order.currency,
                _cell(f"{reference} {order.number}"),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

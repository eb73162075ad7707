"""Payments' small rules: IBANs (ISO 13616), currencies (ISO 4217) and amounts in cents, the
SEPA character set, and the bank files against the official pain.001.001.03 schema."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from datacapt.models import OrderState, PaymentOrder, PaymentPlan
from datacapt.payments import bank, files, money
from datacapt.payments.services import Payee, Refused, parse_earning, parse_plan, visit_earning
from datacapt.validation import ValidationError

XSD = Path(__file__).parents[1] / "data" / "sepa" / "pain.001.001.03.xsd"
VALID = {
    "FR7630006000011234567890189": "FR76 •••• •••• 0189",
    "DE89370400440532013000": "DE89 •••• •••• 3000",
    "GB82WEST12345698765432": "GB82 •••• •••• 5432",
    "PL61109010140000071219812874": "PL61 •••• •••• 2874",
}


@pytest.mark.parametrize("iban", VALID)
def test_valid_ibans_are_kept_compact_and_masked(iban):
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower()
    assert bank.clean_iban(spaced) == iban
    assert bank.mask(iban) == VALID[iban]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FR7630006000011234567890188", "not valid"),  # one digit changed: mod-97 fails
        ("DE89370400440532013001", "not valid"),
        ("FR76300060000112345678901", "length"),  # two characters short
        ("DE8937040044053201300000", "length"),
        ("XX8937040044053201300", "not valid"),  # no such country
        ("FR76-3000-6000", "letters and digits"),
        ("", "Enter the IBAN"),
        ("FR76" + "1" * 40, "34 at most"),
    ],
)
def test_wrong_ibans_are_refused_with_the_reason(text, message):
    with pytest.raises(ValidationError) as refused:
        bank.clean_iban(text)
    assert refused.value.field == "iban"
    assert message in refused.value.message.interpolate()


def test_the_mod_97_check_is_what_decides():
    """Every single-digit change of a valid IBAN's account number is caught."""
    iban = "DE89370400440532013000"
    for position in range(4, len(iban)):
        digit = int(iban[position])
        changed = iban[:position] + str((digit + 1) % 10) + iban[position + 1 :]
        with pytest.raises(ValidationError):
            bank.clean_iban(changed)


def test_holder_names_are_required_and_bounded():
    assert bank.clean_holder("  Zoë   Łukasz ") == "Zoë Łukasz"
    for text in ("", "   ", "x" * 71):
        with pytest.raises(ValidationError):
            bank.clean_holder(text)


@pytest.mark.parametrize("code", ["EUR", "eur", " CHF ", "PLN", "JPY", "KWD"])
def test_iso_4217_codes_are_accepted(code):
    assert money.clean_currency(code) == code.strip().upper()


@pytest.mark.parametrize("code", ["", "EU", "EURO", "XYZ", "E1R", "ÉUR"])
def test_other_currency_codes_are_refused(code):
    with pytest.raises(ValidationError) as refused:
        money.clean_currency(code)
    assert refused.value.field == "currency"


@pytest.mark.parametrize(
    ("text", "currency", "cents"),
    [
        ("25", "EUR", 2500),
        ("25.5", "EUR", 2550),
        ("25,50", "EUR", 2550),
        ("0.01", "EUR", 1),
        ("1 000", "EUR", 100000),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
    ],
)
def test_amounts_are_parsed_to_minor_units_without_floats(text, currency, cents):
    assert money.parse_amount(text, currency, "amount") == cents


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("-5", "EUR"),
        ("5.001", "EUR"),
        ("12.5", "JPY"),
        ("abc", "EUR"),
        ("1e3", "EUR"),
        ("10000000", "EUR"),
        ("", "EUR"),
        ("€5", "EUR"),
    ],
)
def test_wrong_amounts_are_refused(text, currency):
    with pytest.raises(ValidationError) as refused:
        money.parse_amount(text, currency, "visit-baseline")
    assert refused.value.field == "visit-baseline"


def test_amounts_are_shown_in_the_users_language():
    assert money.plain(2550, "EUR") == "25.50"
    assert money.plain(1500, "JPY") == "1500"
    assert money.shown(2550, "EUR", "fr") == "25,50\xa0€"
    assert money.shown(2550, "EUR", "en") == "€25.50"


def test_the_plan_form_names_every_wrong_field():
    values, errors = parse_plan(
        {
            "currency": "XYZ",
            "completion": "ten",
            "visit-baseline": "5.555",
            "debtor_iban": "FR7630006000011234567890188",
            "debtor_bic": "NOPE",
        },
        ["screening", "baseline"],
    )
    assert values is None
    assert set(errors) == {"currency", "completion", "visit-baseline", "debtor_iban", "debtor_bic"}
    values, errors = parse_plan(
        {
            "currency": "eur",
            "completion": "150",
            "visit-screening": "",
            "visit-baseline": "20,5",
            "debtor_name": "Acme CRO",
            "debtor_iban": "DE89 3704 0044 0532 0130 00",
        },
        ["screening", "baseline"],
    )
    assert errors == {}
    assert values.currency == "EUR" and values.completion_cents == 15000
    assert dict(values.visits) == {"baseline": 2050}
    assert values.debtor_iban == "DE89370400440532013000"


def test_earnings_name_their_visit_and_repeat():
    assert parse_earning(visit_earning("week:4", 2)) == ("visit", "week:4", 2)
    assert parse_earning("completion") == ("completion", None, 1)


def test_sepa_text_keeps_the_sepa_character_set():
    assert files.sepa_text("Zoë Łukasz-Müller & Søn <x>", 70) == "Zoe Lukasz-Muller Son x"
    assert files.sepa_text("人", 70) == "Ren"
    assert files.sepa_text("", 70) == "-"


def _order(currency="EUR"):
    return PaymentOrder(
        id=7, tenant_id=1, study_id=3, number=2, state=OrderState.VALIDATED, currency=currency
    )


def _plan(**changes):
    values = {
        "study_id": 3,
        "tenant_id": 1,
        "currency": "EUR",
        "debtor_name": "Acme CRO Sàrl",
        "debtor_iban": "DE89370400440532013000",
        "debtor_bic": "COBADEFFXXX",
        "reference": "Study compensation",
    }
    values.update(changes)
    return PaymentPlan(**values)


PAYEES = [
    Payee("DC-3-2-11", "Zoë Dupont", "FR7630006000011234567890189", 2550),
    Payee("DC-3-2-12", "Jan Kowalski", "PL61109010140000071219812874", 10000),
]


@pytest.mark.parametrize("bic", ["COBADEFFXXX", ""])
def test_the_sepa_file_validates_against_the_official_schema(bic):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    body = files.pain001(
        _order(),
        _plan(debtor_bic=bic),
        PAYEES,
        datetime(2026, 12, 4, 11, 0, tzinfo=UTC),
        date(2026, 12, 5),
    )
    document = etree.fromstring(body)
    schema.assertValid(document)
    ns = {"p": files.NAMESPACE}
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "2"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "125.50"
    amounts = [e.text for e in document.iterfind(".//p:InstdAmt", ns)]
    assert amounts == ["25.50", "100.00"]
    assert [e.get("Ccy") for e in document.iterfind(".//p:InstdAmt", ns)] == ["EUR", "EUR"]
    assert document.findtext(".//p:Cdtr/p:Nm", namespaces=ns) == "Zoe Dupont"
    assert document.findtext(".//p:ReqdExctnDt", namespaces=ns) == "2026-12-05"


def test_a_broken_file_would_fail_the_schema():
    """The schema check can fail: the test above is not vacuous."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    body = files.pain001(
        _order(), _plan(), PAYEES, datetime(2026, 12, 4, tzinfo=UTC), date(2026, 12, 5)
    )
    document = etree.fromstring(body)
    ns = {"p": files.NAMESPACE}
    debtor = document.find(".//p:Dbtr", ns)
    debtor.getparent().remove(debtor)  # a required element missing
    assert not schema.validate(document)
    assert "Dbtr" in str(schema.error_log.last_error)


def test_sepa_needs_euros_a_paying_account_and_sepa_ibans():
    with pytest.raises(Refused):
        files.pain001(_order("CHF"), _plan(), PAYEES, datetime.now(UTC), date.today())
    with pytest.raises(Refused):
        files.pain001(_order(), _plan(debtor_iban=""), PAYEES, datetime.now(UTC), date.today())
    brazil = [Payee("DC-1", "A", "BR1800360305000010009795493C1", 100)]
    with pytest.raises(Refused):
        files.pain001(_order(), _plan(), brazil, datetime.now(UTC), date.today())


def test_the_csv_file_holds_the_transfers_and_no_formula():
    payees = [*PAYEES, Payee("DC-3-2-13", "=HYPERLINK(1)", "DE89370400440532013000", 1)]
    body = files.csv_file(_order(), _plan(), payees).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == list(files.CSV_HEADER)
    assert rows[1] == [
        "DC-3-2-11",
        "Zoë Dupont",
        "FR7630006000011234567890189",
        "25.50",
        "EUR",
        "Study compensation 2",
    ]
    assert rows[3][1] == "'=HYPERLINK(1)"


CURRENCIES = sorted(currency.alpha_3 for currency in pycountry.currencies)


@given(
    currency=st.sampled_from(CURRENCIES),
    cents=st.integers(min_value=0, max_value=10**9 - 1),
    comma=st.booleans(),
)
def test_an_amount_written_as_files_write_it_reads_back_exactly(currency, cents, comma):
    digits = money.minor_digits(currency)
    if cents >= money.MAX_MAJOR_UNITS * 10**digits:
        return
    written = money.plain(cents, currency)
    assert money.parse_amount(written.replace(".", ",") if comma else written, currency, "a") == (
        cents
    )


@given(st.text(max_size=12))
def test_any_text_is_an_amount_in_ascii_digits_or_a_message_beside_the_field(text):
    field = None
    try:
        cents = money.parse_amount(text, "EUR", "amount")
    except ValidationError as error:
        field = error.field
    if field is None:
        assert 0 <= cents < money.MAX_MAJOR_UNITS * 100
        assert all(c in "0123456789., \u00a0" for c in text.strip())
    else:
        assert field == "amount"


def test_digits_of_other_scripts_are_not_amounts():
    with pytest.raises(ValidationError):
        money.parse_amount("١٢", "EUR", "amount")

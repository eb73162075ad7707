"""The demo study's design (version 1): a small but real hypertension follow-up.

It shows what the designer does: translated labels (en, fr), choices, branching (pregnancy only
for women), a calculated BMI with a warning check, a blocking check between two blood pressures,
ranges, a repeating adverse-event log, and a schedule with windows.
"""

from __future__ import annotations

import copy

from datacapt.ecrf.definition import (
    Alias,
    Choice,
    Definition,
    EditCheck,
    Form,
    Item,
    ItemType,
    Range,
    Schedule,
    SdvRequirement,
    Section,
    Severity,
    Static,
    SubSection,
    Validation,
    Visit,
)


def _text(en: str, fr: str) -> dict[str, str]:
    return {"en": en, "fr": fr}


def _choices(*pairs: tuple[str, str, str]) -> list[Choice]:
    return [Choice(code, _text(en, fr)) for code, en, fr in pairs]


def _form(
    name: str,
    title: dict[str, str],
    blocks: list,
    *,
    repeating_group: bool = False,
    section_title: dict[str, str] | None = None,
) -> Form:
    upper = name.upper()
    return Form(
        oid=f"F.{upper}",
        name=name,
        title=title,
        sections=[
            Section(
                oid=f"S.{upper}.1",
                title=section_title or {},
                subsections=[
                    SubSection(oid=f"G.{upper}.1", blocks=blocks, repeating=repeating_group),
                ],
            )
        ],
    )


DEMOGRAPHICS = _form(
    "demographics",
    _text("Demographics", "Données démographiques"),
    [
        Item(
            oid="I.INITIALS",
            name="initials",
            type=ItemType.TEXT,
            label=_text("Initials", "Initiales"),
            identifier=True,
            max_length=4,
            validation=Validation.REGEX,
            pattern="[A-Z]{2,4}",
            help=_text("2 to 4 capital letters", "2 à 4 lettres majuscules"),
        ),
        Item(
            oid="I.BIRTH_DATE",
            name="birth_date",
            type=ItemType.TEXT,
            label=_text("Date of birth", "Date de naissance"),
            validation=Validation.DATE,
            date_format="dmy",
            required=True,
            hard_range=Range("1900-01-01", None),
            aliases=[Alias("CDASH", "BRTHDAT")],
        ),
        Item(
            oid="I.SEX",
            name="sex",
            type=ItemType.SINGLE_CHOICE,
            widget="radio",
            label=_text("Sex", "Sexe"),
            required=True,
            choices=_choices(("1", "Male", "Masculin"), ("2", "Female", "Féminin")),
            aliases=[Alias("CDASH", "SEX")],
        ),
        Item(
            oid="I.PREGNANT",
            name="pregnant",
            type=ItemType.YES_NO,
            label=_text("Is the participant pregnant?", "La participante est-elle enceinte ?"),
            show_if="[sex] = '2'",
            required=True,
            edit_checks=[
                EditCheck(
                    "EC.1",
                    "[pregnant] = '1'",
                    _text(
                        "Pregnancy is an exclusion criterion: check the inclusion.",
                        "La grossesse est un critère d’exclusion : vérifiez l’inclusion.",
                    ),
                    Severity.WARNING,
                )
            ],
        ),
        Item(
            oid="I.HEIGHT_CM",
            name="height_cm",
            type=ItemType.TEXT,
            validation=Validation.INTEGER,
            required=True,
            missing_codes_allowed=True,
            label=_text("Height", "Taille"),
            units="cm",
            hard_range=Range("50", "250"),
            soft_range=Range("140", "210"),
        ),
        Item(
            oid="I.WEIGHT_KG",
            name="weight_kg",
            type=ItemType.TEXT,
            validation=Validation.NUMBER,
            decimals=1,
            missing_codes_allowed=True,
            label=_text("Weight", "Poids"),
            units="kg",
            hard_range=Range("20", "300"),
            soft_range=Range("40", "150"),
            help=_text("One decimal, e.g. 72.5", "Une décimale, ex. 72.5"),
        ),
        Item(
            oid="I.BMI",
            name="bmi",
            type=ItemType.CALCULATED,
            label=_text("Body mass index", "Indice de masse corporelle"),
            units="kg/m²",
            calculation="round([weight_kg] / ([height_cm] / 100) ^ 2, 1)",
            edit_checks=[
                EditCheck(
                    "EC.2",
                    "[bmi] > 40",
                    _text(
                        "BMI above 40: please confirm height and weight.",
                        "IMC supérieur à 40 : confirmez la taille et le poids.",
                    ),
                    Severity.WARNING,
                )
            ],
        ),
    ],
)

VITAL_SIGNS = _form(
    "vital_signs",
    _text("Vital signs", "Signes vitaux"),
    [
        Static(
            oid="T.VS.1",
            content=_text(
                "Measure after **5 minutes** seated, on the **same arm** at each visit.",
                "Mesurer après **5 minutes** en position assise, "
                "sur le **même bras** à chaque visite.",
            ),
        ),
        Item(
            oid="I.SYSTOLIC",
            name="systolic",
            type=ItemType.TEXT,
            validation=Validation.INTEGER,
            label=_text("Systolic blood pressure", "Pression artérielle systolique"),
            units="mmHg",
            required=True,
            hard_range=Range("60", "260"),
            soft_range=Range("90", "180"),
        ),
        Item(
            oid="I.DIASTOLIC",
            name="diastolic",
            type=ItemType.TEXT,
            validation=Validation.INTEGER,
            label=_text("Diastolic blood pressure", "Pression artérielle diastolique"),
            units="mmHg",
            required=True,
            hard_range=Range("30", "160"),
            edit_checks=[
                EditCheck(
                    "EC.3",
                    "[diastolic] >= [systolic]",
                    _text(
                        "The diastolic pressure must be below the systolic pressure.",
                        "La pression diastolique doit être inférieure à la systolique.",
                    ),
                    Severity.BLOCKING,
                )
            ],
        ),
        Item(
            oid="I.HEART_RATE",
            name="heart_rate",
            type=ItemType.TEXT,
            validation=Validation.INTEGER,
            missing_codes_allowed=True,
            label=_text("Heart rate", "Fréquence cardiaque"),
            units="bpm",
            hard_range=Range("20", "250"),
            soft_range=Range("45", "120"),
        ),
    ],
)

ADVERSE_EVENTS = _form(
    "adverse_events",
    _text("Adverse events", "Événements indésirables"),
    [
        Item(
            oid="I.AE_TERM",
            name="ae_term",
            type=ItemType.TEXT,
            label=_text("Adverse event", "Événement indésirable"),
            required=True,
            max_length=200,
        ),
        Item(
            oid="I.AE_START",
            name="ae_start",
            type=ItemType.TEXT,
            validation=Validation.DATE,
            date_format="dmy",
            label=_text("Start date", "Date de début"),
            required=True,
        ),
        Item(
            oid="I.AE_SEVERITY",
            name="ae_severity",
            type=ItemType.SINGLE_CHOICE,
            widget="radio",
            label=_text("Severity", "Sévérité"),
            choices=_choices(
                ("1", "Mild", "Légère"), ("2", "Moderate", "Modérée"), ("3", "Severe", "Sévère")
            ),
        ),
        Item(
            oid="I.AE_SERIOUS",
            name="ae_serious",
            type=ItemType.YES_NO,
            label=_text("Serious?", "Grave ?"),
            required=True,
        ),
    ],
    repeating_group=True,
)

CONSENT = _form(
    "consent",
    _text("Informed consent", "Consentement éclairé"),
    [
        Item(
            oid="I.CONSENT_DATE",
            name="consent_date",
            type=ItemType.TEXT,
            validation=Validation.DATE,
            date_format="dmy",
            label=_text("Date consent was signed", "Date de signature du consentement"),
            required=True,
        ),
        Item(
            oid="I.CONSENT_COPY",
            name="consent_copy",
            type=ItemType.ACKNOWLEDGEMENT,
            label=_text(
                "A copy of the signed consent was given to the participant",
                "Une copie du consentement signé a été remise au participant",
            ),
            required=True,
        ),
    ],
)


_DEMO = Definition(
    default_language="en",
    languages=["en", "fr"],
    forms=[CONSENT, DEMOGRAPHICS, VITAL_SIGNS, ADVERSE_EVENTS],
    schedule=Schedule(
        visits=[
            Visit(
                "V.SCREENING",
                "screening",
                _text("Screening", "Sélection"),
                day=-14,
                window_before=7,
                forms=["consent", "demographics", "vital_signs"],
            ),
            Visit(
                "V.BASELINE",
                "baseline",
                _text("Baseline", "Inclusion"),
                day=0,
                forms=["vital_signs"],
            ),
            Visit(
                "V.WEEK4",
                "week4",
                _text("Week 4", "Semaine 4"),
                day=28,
                window_before=3,
                window_after=3,
                forms=["vital_signs"],
            ),
        ],
        unscheduled_allowed=True,
        unscheduled_forms=["vital_signs", "adverse_events"],
    ),
)


#: A questionnaire the subject fills in through their link: page 2 asks how bad the pain is
#: only of those who said on page 1 that they have some.
WELLBEING = Form(
    oid="F.WELLBEING",
    name="wellbeing",
    title=_text("How are you today?", "Comment allez-vous aujourd’hui ?"),
    epro=True,
    sdv=SdvRequirement.NONE,
    sections=[
        Section(
            oid="S.WELLBEING.1",
            title=_text("Pain", "Douleur"),
            subsections=[
                SubSection(
                    oid="G.WELLBEING.1",
                    blocks=[
                        Item(
                            oid="I.PAIN",
                            name="pain",
                            type=ItemType.YES_NO,
                            label=_text(
                                "Did you have pain today?", "Avez-vous eu mal aujourd’hui ?"
                            ),
                            required=True,
                        ),
                    ],
                )
            ],
        ),
        Section(
            oid="S.WELLBEING.2",
            title=_text("Your day", "Votre journée"),
            subsections=[
                SubSection(
                    oid="G.WELLBEING.2",
                    blocks=[
                        Item(
                            oid="I.PAIN_SCORE",
                            name="pain_score",
                            type=ItemType.SINGLE_CHOICE,
                            widget="radio",
                            label=_text("How strong was the pain?", "Quelle était l’intensité ?"),
                            show_if="[pain] = '1'",
                            required=True,
                            choices=_choices(
                                ("1", "Mild", "Légère"),
                                ("2", "Moderate", "Modérée"),
                                ("3", "Severe", "Forte"),
                            ),
                        ),
                        Item(
                            oid="I.SLEEP",
                            name="sleep",
                            type=ItemType.SINGLE_CHOICE,
                            widget="radio",
                            label=_text("How did you sleep?", "Comment avez-vous dormi ?"),
                            choices=_choices(("1", "Well", "Bien"), ("2", "Badly", "Mal")),
                        ),
                    ],
                )
            ],
        ),
    ],
)


def demo_definition() -> Definition:
    """A new copy each time: callers edit it (the designer's tests, a study's draft), and the
    module's forms must stay as the demo has them."""
    return copy.deepcopy(_DEMO)


def epro_definition() -> Definition:
    """The demo design with the subjects' questionnaire, filled at baseline."""
    definition = demo_definition()
    definition.forms.append(copy.deepcopy(WELLBEING))
    next(v for v in definition.schedule.visits if v.name == "baseline").forms.append("wellbeing")
    return definition

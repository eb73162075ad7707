"""The password policy (ASVS L2: length, common passwords, personal data) and the strength guide."""

from __future__ import annotations

import pytest

from datacapt.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    check_password_rules,
    estimate_strength,
    password_problem,
)
from datacapt.validation import ValidationError

PERSONAL = ("ines.martin-dupont@example.org", "Inès Martin")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("eleven char", "Use at least 12 characters."),
        ("x" * (MAX_PASSWORD_LENGTH + 1), "Use at most 128 characters."),
        ("password1234", "one of the most common passwords"),
        ("PassWord1234", "one of the most common passwords"),
        ("qwertyuiopasdfghjkl", "one of the most common passwords"),
        ("ines.martin-dupont@example.org", "e-mail address or name"),
        ("INES.MARTIN-DUPONT@EXAMPLE.ORG", "e-mail address or name"),
        ("ines.martin-dupont", "e-mail address or name"),
        ("inès  martin", "e-mail address or name"),
    ],
)
def test_refused_passwords_say_why(password, message):
    problem = password_problem(password, PERSONAL)
    assert problem is not None
    assert message in problem.interpolate()


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "x" * MAX_PASSWORD_LENGTH,  # any characters, no composition rule
        "żółć gęślą jaźń 1",
        "ines martin likes long walks",  # containing a name is fine, being it is not
    ],
)
def test_accepted_passwords(password):
    assert password_problem(password, PERSONAL) is None


def test_the_error_names_the_form_field():
    with pytest.raises(ValidationError) as caught:
        check_password_rules("password1234", field="new_password")
    assert caught.value.field == "new_password"


def test_a_common_password_is_shown_as_weak_with_the_reason():
    strength = estimate_strength("password1234")
    assert strength.score == 0
    assert "most common" in strength.problem.interpolate()


def test_a_long_phrase_is_strong_and_needs_no_advice():
    strength = estimate_strength("violet tractor sings under the bridge")
    assert strength.score >= 3
    assert strength.problem is None and strength.advice is None
    assert strength.label.interpolate() in ("Strong", "Very strong")


def test_a_weak_but_allowed_password_gets_advice():
    strength = estimate_strength("bluebluebluebl")
    assert strength.problem is None
    assert strength.score < 3
    assert "more words" in strength.advice.interpolate()


def test_personal_data_lowers_the_estimate():
    assert estimate_strength("Inès Martin", PERSONAL).problem is not None


def test_an_oversized_password_is_refused_without_estimating():
    strength = estimate_strength("y" * 100_000)
    assert strength.score == 0
    assert "at most 128" in strength.problem.interpolate()

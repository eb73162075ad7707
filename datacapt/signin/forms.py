"""Parsing what the sign-in and password forms post, with an error per field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pyramid.i18n import TranslationString

from datacapt.accounts.passwords import MAX_PASSWORD_LENGTH
from datacapt.errors import safe_came_from
from datacapt.i18n import _
from datacapt.validation import EMAIL_PATTERN, MAX_EMAIL_LENGTH, normalize_email


@dataclass
class LoginForm:
    email: str = ""
    password: str = ""
    came_from: str = "/"
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> LoginForm:
        form = cls(
            email=normalize_email(data.get("email", ""))[: MAX_EMAIL_LENGTH + 1],
            password=data.get("password", ""),
            came_from=safe_came_from(data.get("came_from")),
        )
        if not form.email:
            form.errors["email"] = _("Enter your e-mail address.")
        elif len(form.email) > MAX_EMAIL_LENGTH:
            form.errors["email"] = _("Enter a valid e-mail address.")
        if not form.password:
            form.errors["password"] = _("Enter your password.")
        elif len(form.password) > MAX_PASSWORD_LENGTH:
            # Refused before hashing: an enormous password must not cost the server anything.
            form.errors["password"] = _("The e-mail address or password is incorrect.")
        return form


#: Longer than any TOTP or recovery code; anything longer is refused before any work.
MAX_CODE_LENGTH = 40


@dataclass
class CodeForm:
    """An authenticator code (or a recovery code, where one is accepted)."""

    code: str = ""
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> CodeForm:
        form = cls(code=" ".join(data.get("code", "").split())[: MAX_CODE_LENGTH + 1])
        if not form.code:
            form.errors["code"] = _("Enter the code.")
        elif len(form.code) > MAX_CODE_LENGTH:
            form.errors["code"] = _("This code is not valid, or it was used already.")
        return form


def _check_new_password(form: ChangePasswordForm | ResetPasswordForm) -> None:
    """Present and typed twice alike; the policy itself is the service's (``set_password``)."""
    if not form.new_password:
        form.errors["new_password"] = _("Enter a new password.")
    elif form.confirm_password != form.new_password:
        form.errors["confirm_password"] = _("The two passwords differ: type the same one twice.")


@dataclass
class ChangePasswordForm:
    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> ChangePasswordForm:
        form = cls(
            current_password=data.get("current_password", ""),
            new_password=data.get("new_password", ""),
            confirm_password=data.get("confirm_password", ""),
        )
        if not form.current_password:
            form.errors["current_password"] = _("Enter your current password.")
        elif len(form.current_password) > MAX_PASSWORD_LENGTH:
            form.errors["current_password"] = _("Your current password is incorrect.")
        _check_new_password(form)
        return form


@dataclass
class ResetPasswordForm:
    new_password: str = ""
    confirm_password: str = ""
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> ResetPasswordForm:
        form = cls(
            new_password=data.get("new_password", ""),
            confirm_password=data.get("confirm_password", ""),
        )
        _check_new_password(form)
        return form


@dataclass
class ForgotPasswordForm:
    email: str = ""
    errors: dict[str, TranslationString] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, str]) -> ForgotPasswordForm:
        form = cls(email=normalize_email(data.get("email", ""))[: MAX_EMAIL_LENGTH + 1])
        if not form.email:
            form.errors["email"] = _("Enter your e-mail address.")
        elif len(form.email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(form.email):
            form.errors["email"] = _("Enter a valid e-mail address.")
        return form

"""The hosted pages' texts, in the tenant's languages.

Every text a page shows has a key (``login.title``). The English defaults are below; a tenant
overrides any of them, per language, in its catalogue::

    settings:
      page_texts:
        cs:
          login.title: Přihlášení
          login.submit: Přihlásit se
        en:
          signup.intro: Join our mailing list.

The page's language is the first of: a ``lang`` (or ``Language``) query parameter, the
browser's ``Accept-Language``, the tenant's default language; each is matched against the
tenant's catalogue ``languages`` (``en-GB`` falls back to ``en``). A key missing in that language
falls back to the tenant's English text, then to the default below. Catalogue items with their
own translations (statements) come in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_TEXTS: dict[str, str] = {
    # shared
    "common.required": "required",
    "common.optional": "optional",
    "common.error_summary": "Please correct the highlighted fields.",
    "common.expired_form": "This form has expired. Reload the page and try again.",
    "common.too_many": "Too many attempts. Please wait a few minutes and try again.",
    "common.unavailable": "We could not do that just now. Please try again later.",
    "common.not_found": "Not found.",
    "common.bad_encoding": (
        "The form could not be read: it was not sent as UTF-8 text. Nothing was saved."
    ),
    "common.honeypot": "Leave this field empty",
    "common.captcha": "Please confirm you are not a robot.",
    "common.field.required": "This field is required.",
    "common.field.invalid": "This value is not valid.",
    "common.field.email": "Enter a valid email address.",
    "common.field.email_taken": "An account with this email address already exists.",
    "common.field.password": "Use 8 to 256 characters, with a digit and an upper-case letter, and not a common password.",
    "common.field.confirm": "The two passwords differ.",
    "common.field.date": "Enter a date (YYYY-MM-DD).",
    "common.field.number": "Enter a number.",
    "field.title": "Title",
    "field.first_name": "First name",
    "field.last_name": "Last name",
    "field.email": "Email address",
    "field.password": "Password",
    "field.new_password": "New password",
    "field.confirm": "Repeat the password",
    "field.phone": "Phone",
    "field.mobile": "Mobile",
    "field.birth_date": "Date of birth",
    "field.password_hint": "At least 8 characters, with a digit and an upper-case letter.",
    # LoginLogout.aspx
    "login.title": "Log in",
    "login.intro": "",
    "login.submit": "Log in",
    "login.failed": "The email address or password is not right.",
    "login.forgot": "Forgotten your password?",
    "login.signup": "Create an account",
    "login.magic.title": "Log in without a password",
    "login.magic.intro": "We will email you a link that logs you in.",
    "login.magic.submit": "Email me a link",
    "login.magic.sent": "If an account has this email address, we have sent it a link. It works once, for 15 minutes.",
    "login.magic.confirm": "Log in as the owner of this link",
    "login.magic.confirm_intro": "Press the button to finish logging in.",
    "login.magic.invalid": "This link is invalid or has expired. Ask for a new one.",
    "logout.title": "Your account",
    "logout.status": "You are logged in as {name} ({email}).",
    "logout.submit": "Log out",
    "logout.account": "My account",
    "logout.done": "You have logged out.",
    # signup.aspx
    "signup.title": "Sign up",
    "signup.intro": "",
    "signup.password_legend": "Create an account (optional)",
    "signup.password_hint": "Set a password to log in later; leave empty to only join the list.",
    "signup.submit": "Sign up",
    "signup.done": "Thank you. Your details were saved.",
    "signup.tags_legend": "{group}",
    "signup.statements_legend": "Keeping in touch",
    "signup.attributes_legend": "About you",
    "signup.error.NoFirstName": "Enter your first name.",
    "signup.error.NoLastName": "Enter your last name.",
    "signup.error.NoEmail": "Enter your email address.",
    "signup.error.InvalidEmail": "Enter a valid email address.",
    "signup.error.EmailExists": "An account with this email address already exists.",
    "signup.return_url": "The address to return to is not one of this venue's websites.",
    # MyAccount.aspx
    "account.title": "My account",
    "account.details": "Your details",
    "account.details.submit": "Save details",
    "account.saved": "Your changes were saved.",
    "account.preferences": "Contact preferences",
    "account.preferences.submit": "Save preferences",
    "account.addresses": "Addresses",
    "account.address.none": "You have no addresses yet.",
    "account.address.add": "Add an address",
    "account.address.save": "Save address",
    "account.address.delete": "Remove address",
    "account.address.billing": "Billing address",
    "account.address.delivery": "Delivery address",
    "account.address.line1": "Address line 1",
    "account.address.line2": "Address line 2",
    "account.address.town": "Town or city",
    "account.address.postcode": "Postcode",
    "account.address.country": "Country",
    "account.address.country_none": "(none)",
    "account.logout": "Log out",
    # ForgotPassword.aspx
    "forgot.title": "Forgotten your password?",
    "forgot.intro": "Enter your email address and we will send you a link to set a new password.",
    "forgot.submit": "Send the link",
    "forgot.sent": "If an account has this email address, we have sent it a link to set a new password. The link works for an hour.",
    "forgot.back": "Back to log in",
    # SetPassword.aspx
    "setpassword.title": "Set your password",
    "setpassword.submit": "Set password",
    "setpassword.done": "Your password has been set. You can now log in.",
    "setpassword.incomplete": "This link is incomplete. Ask for a new one from the log-in page.",
    "setpassword.invalid": "This link is invalid or has expired. Ask for a new one.",
    "setpassword.login": "Log in",
    # ConfirmNewsletter.aspx
    "newsletter.title": "Confirm your sign-up",
    "newsletter.intro": "Please confirm that you want to receive our news at this address.",
    "newsletter.submit": "Confirm my sign-up",
    "newsletter.done": "Thank you: your sign-up is confirmed.",
    "newsletter.incomplete": "This link is incomplete. Please use the whole link from the email.",
    "newsletter.invalid": "This link is invalid, has expired or was used already. Please sign up again.",
}


class Texts:
    """The texts of one page view: ``texts("login.title")`` or ``texts("x", name=...)``."""

    def __init__(self, language: str, overrides: Mapping[str, object]) -> None:
        self.language = language or "en"
        merged = dict(DEFAULT_TEXTS)
        for lang in ("en", self.language):
            table = overrides.get(lang)
            if isinstance(table, Mapping):
                merged.update({k: v for k, v in table.items() if isinstance(v, str)})
        self.table = merged

    def __call__(self, key: str, **values: object) -> str:
        text = self.table.get(key, key)
        if values:
            try:
                return text.format_map(values)
            except (KeyError, ValueError, IndexError):
                return text
        return text

    def has(self, key: str) -> bool:
        return bool(self.table.get(key))


def page_texts(settings: Mapping[str, object]) -> Mapping[str, object]:
    value = settings.get("page_texts")
    return value if isinstance(value, Mapping) else {}

"""Wire models in CareCloud's nouns and exact (snake_case) field names.

Bodies are read as JSON and validated here; every problem is reported at once, the vendor's
way: a name, a reason code (``required``, ``invalid_value_format``, ``not_allowed_value``,
``empty``) and the value sent (never for passwords).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

M = TypeVar("M", bound=BaseModel)
MAX_ITEMS = 1000
#: Values never echoed in an error.
SECRET_FIELDS = frozenset({"password", "current_password", "social_network_token", "value"})


class InvalidParams(Exception):
    """A request that breaks the wire format: a 400 listing every parameter at fault."""

    def __init__(self, params: list[dict[str, Any]]) -> None:
        super().__init__(", ".join(f"{p['name']}: {p['reason']}" for p in params))
        self.params = params


def param(name: str, reason: str, value: Any = "", message: str = "") -> dict[str, Any]:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return {"name": name, "reason": reason, "value": text[:200], "message": message or reason}


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=4000)


Short = Field(default=None, max_length=200)


# --- tokens -------------------------------------------------------------------------------------


class Device(_In):
    device_id: str = Field(min_length=1, max_length=200)
    device_system: str = Field(max_length=200)
    device_name: str = Field(max_length=200)
    device_type: str = Field(max_length=200)


class Setup(_In):
    language_id: str = Field(min_length=1, max_length=16)
    allowed_gps: StrictBool
    allowed_notifications: StrictBool


class TokenRequest(_In):
    device: Device
    setup: Setup
    external_application_id: str = Field(min_length=1, max_length=200)
    push_token: str | None = Field(default=None, max_length=500)


class TokenUpdate(_In):
    setup: Setup
    push_token: str | None = Field(default=None, max_length=500)


class LoginRequest(_In):
    login_type: Literal["email", "phone", "card"]
    login_value: str = Field(min_length=1, max_length=254)
    password: str = Field(max_length=256)


class PasswordSetupRequest(_In):
    email: str | None = Field(default=None, max_length=254)
    communication_channel_id: str | None = Field(default=None, max_length=200)
    recipient: str | None = Field(default=None, max_length=254)


# --- customers ----------------------------------------------------------------------------------


class Address(_In):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    address1: str | None = Short
    address2: str | None = Short
    address3: str | None = Short
    address4: str | None = Short
    address5: str | None = Short
    address6: str | None = Short
    address7: str | None = Short
    zip: str | None = Field(default=None, max_length=50)
    city: str | None = Short
    country_code: str | None = Field(default=None, max_length=2)


AgreementValue = Literal[0, 1, 2]


class CustomAgreement(_In):
    agreement_id: str = Field(max_length=100)
    agreement_value: AgreementValue


class Agreement(_In):
    agreement_gtc: AgreementValue | None = None
    agreement_profiling: AgreementValue | None = None
    agreement_marketing_communication: AgreementValue | None = None
    custom_agreements: list[CustomAgreement] = Field(default_factory=list, max_length=MAX_ITEMS)


class Consent(_In):
    consent_id: str = Field(max_length=100)
    consent_value: AgreementValue


class PersonalInformation(_In):
    gender: Literal[1, 2, 3, 4, 5] | None = None
    first_name: str | None = Short
    last_name: str | None = Short
    pre_nominals: str | None = Field(default=None, max_length=50)
    post_nominals: str | None = Field(default=None, max_length=50)
    birthdate: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=50)
    language_id: str = Field(min_length=1, max_length=16)
    store_id: str | None = Field(default=None, max_length=100)
    address: Address | None = None
    agreement: Agreement | None = None
    consents: list[Consent] | None = Field(default=None, max_length=MAX_ITEMS)


class CustomerBody(_In):
    personal_information: PersonalInformation


class CustomerSourceRecord(_In):
    customer_source_id: str = Field(min_length=1, max_length=100)
    external_id: str | None = Field(default=None, max_length=200)


class SocialNetworkCredentials(_In):
    social_network_id: str = Field(max_length=100)
    social_network_token: str = Field(max_length=2000)


PropertyValueType = str | int | float | bool | list[Any] | dict[str, Any] | None


class PropertyRecord(_In):
    property_id: str = Field(min_length=1, max_length=100)
    property_value: PropertyValueType = None


class NewCustomer(_In):
    customer: CustomerBody
    customer_source: CustomerSourceRecord
    password: str | None = Field(default=None, max_length=256)
    autologin: StrictBool
    social_network_credentials: SocialNetworkCredentials | None = None
    property_records: list[PropertyRecord] = Field(default_factory=list, max_length=MAX_ITEMS)
    referral_code: str | None = Field(default=None, max_length=100)


class CustomerUpdate(_In):
    customer: CustomerBody
    password: str | None = Field(default=None, max_length=256)
    #: Ours (the vendor's API has none): a new ``password`` needs the current one.
    current_password: str | None = Field(default=None, max_length=256)
    social_network_credentials: SocialNetworkCredentials | None = None
    property_records: list[PropertyRecord] = Field(default_factory=list, max_length=MAX_ITEMS)


class InterestRecord(_In):
    interest_id: str = Field(min_length=1, max_length=100)
    customer_id: str = Field(min_length=1, max_length=100)


class InterestRecordBody(_In):
    interest_record: InterestRecord


class PropertyRecordBody(_In):
    property_record: PropertyRecord


class PropertyRecordBatch(_In):
    property_records: list[PropertyRecord] = Field(max_length=MAX_ITEMS)
    error_processing: Literal[1, 2] = 1


class AdditionalAddress(_In):
    address_type: str = Field(min_length=1, max_length=100)
    address: Address


class AdditionalAddressBody(_In):
    additional_address: AdditionalAddress


class CustomerSourceRecordBody(_In):
    customer_source_record: CustomerSourceRecord


class ValidateCustomerData(_In):
    type: Literal["password", "referral_code"]
    value: str = Field(max_length=256)


class RegistrationAbility(_In):
    type: Literal["email", "phone"]
    value: str = Field(min_length=1, max_length=254)


class PartnerRecord(_In):
    partner_id: str = Field(max_length=100)


class NewsletterSignUp(_In):
    contact: str = Field(min_length=1, max_length=254)
    customer_source_id: str = Field(min_length=1, max_length=100)
    agreements: Agreement | None = None
    language_id: str | None = Field(default=None, max_length=16)
    partner_records: list[PartnerRecord] = Field(default_factory=list, max_length=MAX_ITEMS)


# --- responses (documentation only: the mappers build the bodies, in the vendor's order) ------


class BasicError(BaseModel):
    type: str
    exception: str
    title: str
    detail: str
    error_data: dict[str, Any]


class ErrorBody(BaseModel):
    error: BasicError


class IdData(BaseModel):
    data: dict[str, str]


# --- parsing ------------------------------------------------------------------------------------


def read_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise InvalidParams([param("body", "required", message="A JSON body is required.")])
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParams(
            [param("body", "invalid_value_format", message="The body is not valid JSON (UTF-8).")]
        ) from exc
    if not isinstance(data, dict):
        raise InvalidParams(
            [param("body", "invalid_value_format", message="A JSON object is required.")]
        )
    return data


_REASONS = {
    "missing": "required",
    "literal_error": "not_allowed_value",
    "enum": "not_allowed_value",
}


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "string_too_short" and error.get("input") == "":
        return "empty"
    return _REASONS.get(kind, "invalid_value_format")


def validation_params(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for error in errors[:MAX_ITEMS]:
        loc = [*prefix, *(str(p) for p in error["loc"])]
        name = ".".join(loc) or "body"
        secret = any(part in SECRET_FIELDS for part in loc)
        value = "" if secret or error["type"] == "missing" else error.get("input", "")
        out.append(param(name, _reason(error), value, str(error["msg"])))
    return out


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidParams(validation_params(exc.errors())) from exc


def parse(model: type[M], body: bytes) -> M:
    return validate(model, read_json(body))


def normalise_new_customer(data: dict[str, Any]) -> dict[str, Any]:
    """Seed 003's flat body -> the vendor's nested one (an extension; docs/carecloud.md):
    ``personal_information`` -> ``customer.personal_information``, the first of
    ``customer_sources`` -> ``customer_source``, ``additional_properties`` -> ``property_records``,
    and ``"password": ""`` -> no password."""
    if "customer" in data or "personal_information" not in data:
        return data
    out = {k: v for k, v in data.items() if k not in ("personal_information", "customer_sources")}
    out["customer"] = {"personal_information": data["personal_information"]}
    sources = data.get("customer_sources")
    if "customer_source" not in data and isinstance(sources, list) and sources:
        out["customer_source"] = sources[0]
    if "property_records" not in data and isinstance(data.get("additional_properties"), list):
        out["property_records"] = data["additional_properties"]
    if out.get("password") == "":
        out.pop("password")
    return out

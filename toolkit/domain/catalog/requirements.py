"""What an applicant gives a service: its fields, attachments and the conditions on them.

Split from `toolkit.domain.catalog.models` (which re-exports every name here) so each file keeps one
job: these models say what a request holds; ``models`` says how the SOP's steps handle it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from toolkit.domain.catalog.formats import FORMATS
from toolkit.errors import NotFoundError

# Kebab-case ids (services, steps, roles, SLA variants); snake-case names (fields, attachments),
# which become template and extra-vars keys.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=63)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Scalar = str | int | bool | None



class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldType(StrEnum):
    TEXT = "text"
    LONGTEXT = "longtext"
    HOSTNAME = "hostname"
    SLUG = "slug"
    INT = "int"
    BOOL = "bool"
    ENUM = "enum"
    EMAIL = "email"
    PHONE = "phone"
    IPV4 = "ipv4"
    CIDR = "cidr"
    DATE = "date"
    URL = "url"


# Length limits when a text field gives none; ``toolkit.domain.tickets.field_types`` enforces the same.
DEFAULT_MAX_LENGTH = {FieldType.TEXT: 200, FieldType.LONGTEXT: 4000}


class FieldSpec(_Frozen):
    """One item the applicant fills in. ``confidential`` fields (a reporter's identity and contact)
    are shown only to roles that handle the case: the SOPs guarantee the reporter's secrecy.

    ``format`` names a `toolkit.domain.catalog.formats` entry: the exact rule the playbook, template or gateway
    the value reaches will apply, so intake is never looser than execution. ``required_when`` makes an
    optional field required for some requests (the VPN product needs the site's LAN)."""

    name: Identifier
    label: Text
    type: FieldType
    required: bool = True
    choices: tuple[str, ...] | None = None
    min: int | None = None
    max: int | None = None
    max_length: int | None = Field(None, ge=1)
    default: Scalar = None
    confidential: bool = False
    help: str | None = None
    format: str | None = None
    required_when: Condition | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.format is not None:
            fmt = FORMATS.get(self.format)
            if fmt is None:
                raise ValueError(f"format: unknown format '{self.format}'; known: {', '.join(FORMATS)}")
            if self.type not in fmt.types:
                raise ValueError(f"format: '{self.format}' applies to type(s) {', '.join(sorted(fmt.types))}, "
                                 f"not '{self.type}'")
        if self.required_when is not None and self.required:
            raise ValueError("required_when: only for a field with required: false")
        if (self.type is FieldType.ENUM) != (self.choices is not None):
            raise ValueError("choices: required for type 'enum' and only for it")
        if self.choices is not None and (not self.choices or len(set(self.choices)) != len(self.choices)):
            raise ValueError("choices: must be non-empty and without duplicates")
        if (self.min is not None or self.max is not None) and self.type is not FieldType.INT:
            raise ValueError("min: min/max apply only to type 'int'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min: {self.min} is greater than max {self.max}")
        if self.default is not None and not self.accepts(self.default):
            raise ValueError(f"default: {self.default!r} is not a valid {self.type} value for this field")
        return self

    def accepts(self, value: Any) -> bool:
        """A coarse type check for values written *in the catalog* (defaults, conditions); ticket
        input is validated properly by ``toolkit.domain.tickets.field_types``."""
        if self.type is FieldType.BOOL:
            return isinstance(value, bool)
        if self.type is FieldType.INT:
            if not isinstance(value, int) or isinstance(value, bool):
                return False
            return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)
        if self.type is FieldType.ENUM:
            return value in (self.choices or ())
        return isinstance(value, str)

    @property
    def effective_max_length(self) -> int | None:
        return self.max_length or DEFAULT_MAX_LENGTH.get(self.type)


class AttachmentSpec(_Frozen):
    """A document the applicant attaches. ``required_when`` makes an optional one required for some
    requests, as for fields (Pusat Data's *dokumen persetujuan aplikasi*, SOP 002 step 4, for hosting)."""

    name: Identifier
    label: Text
    required: bool = True
    media_types: tuple[str, ...] = ()
    required_when: Condition | None = None

    @model_validator(mode="after")
    def _conditional(self) -> AttachmentSpec:
        if self.required_when is not None and self.required:
            raise ValueError("required_when: only for an attachment with required: false")
        return self


class Requirements(_Frozen):
    """The *persyaratan*: ``sop_text`` keeps the SOP's own wording for documents and the portal,
    ``fields``/``attachments`` are what the completeness check actually tests."""

    fields: tuple[FieldSpec, ...] = ()
    attachments: tuple[AttachmentSpec, ...] = ()
    sop_text: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> Requirements:
        for key, names in (("fields", [f.name for f in self.fields]),
                           ("attachments", [a.name for a in self.attachments])):
            for index, name in enumerate(names):
                if name in names[:index]:
                    raise ValueError(f"{key}.{index}.name: duplicate name '{name}'")
        return self

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise NotFoundError(f"no field '{name}'", field=name, known=[f.name for f in self.fields])

    @property
    def confidential_fields(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.confidential)


class Condition(_Frozen):
    """A test on one ticket field. Comparison is strict (``True`` does not equal ``1`` and
    ``"true"`` is not ``True``), so pass validated values with defaults filled in: a field that is
    absent is compared as ``None``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: Identifier
    equals: Scalar = None
    in_: tuple[Scalar, ...] | None = Field(None, alias="in")

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        has_in = self.in_ is not None
        # A dump of an 'in' condition carries "equals": null; that is not a second test.
        if ("equals" in self.model_fields_set and not (has_in and self.equals is None)) == has_in:
            raise ValueError("equals: give exactly one of 'equals' and 'in'")
        if self.in_ is not None and not self.in_:
            raise ValueError("in: must not be empty")
        return self

    @property
    def values(self) -> tuple[Scalar, ...]:
        return self.in_ if self.in_ is not None else (self.equals,)

    def matches(self, values: Mapping[str, Any]) -> bool:
        actual = values.get(self.field)
        return any(_same(actual, expected) for expected in self.values)

    def describe(self) -> str:
        if self.in_ is not None:
            return f"{self.field} in ({', '.join(_literal(v) for v in self.in_)})"
        return f"{self.field} == {_literal(self.equals)}"


def _same(actual: Any, expected: Scalar) -> bool:
    # bool and None are singletons; identity keeps True from equalling 1.
    if isinstance(actual, bool) or isinstance(expected, bool) or actual is None or expected is None:
        return actual is expected
    return bool(actual == expected)


def _literal(value: Scalar) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

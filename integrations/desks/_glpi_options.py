"""The options of the GLPI desk client (``desks.<name>.options`` of kind glpi): its own module so that the
client stays readable; `integrations.desks.glpi` re-exports `GlpiOptions`."""

from __future__ import annotations

from pydantic import Field, SecretStr

from toolkit.adapter_options import AdapterOptions
from toolkit.secret_types import SecretName, ServiceUrl


def secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)



class GlpiOptions(AdapterOptions):
    """``desks.<name>.options`` of kind glpi."""

    base_url: ServiceUrl = Field(description="the REST API, e.g. https://helpdesk.example.go.id/apirest.php")
    user_token_secret: SecretName | None = Field(
        default=None, description="settings.secrets entry holding the spbe account's API token (Remote access key)")
    app_token_secret: SecretName | None = Field(
        default=None, description="settings.secrets entry holding the API client's App-Token, if GLPI requires one")
    user_token: SecretStr | None = Field(default=None, description="the user token itself (prefer the secret name)")
    app_token: SecretStr | None = Field(default=None, description="the App-Token itself (prefer the secret name)")
    timezone: str = Field(default="UTC", description="GLPI's server time zone: the API's dates are local to it")
    web_url: ServiceUrl | None = Field(default=None, description="where people open GLPI; default: base_url's "
                                                                 "folder")
    fields_container: str | None = Field(
        default=None, description="the Fields plugin container (name or label) holding the request form on tickets")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    verify_tls: bool = True

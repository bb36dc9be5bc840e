"""Ticket fields become playbook variables only through these models: hostile values stop here."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from toolkit.actions.ansible.pusat_data_vars import BackupVars, MonitoringVars, ProvisionVars

PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - test value
BAD_HOSTNAMES = [
    "a;rm -rf /",
    "$(id)",
    "`id`",
    "pd-app-01\n",
    "pd\napp",
    "pd app",
    " pd-app-01",
    "a" * 300,
    "a" * 64 + ".example.id",
    "-pd",
    "pd-",
    "PD-APP-01",
    "pd..app",
    "",
    "pd_app",
]
BAD_APP_NAMES = [
    "../x",
    "x",
    "1app",
    "app;id",
    "app name",
    "App",
    "a" * 41,
    "app\n",
    "$(id)",
    "app/../../etc",
]


@pytest.mark.parametrize("hostname", BAD_HOSTNAMES)
def test_hostile_hostnames_are_rejected(hostname: str) -> None:
    with pytest.raises(ValidationError):
        ProvisionVars(ticket="PD-1", hostname=hostname, app_name="sipd")
    with pytest.raises(ValidationError):
        MonitoringVars(ticket="PD-1", hostname=hostname, opd="kominfo")


@pytest.mark.parametrize("app_name", BAD_APP_NAMES)
def test_hostile_app_names_are_rejected(app_name: str) -> None:
    with pytest.raises(ValidationError):
        ProvisionVars(ticket="PD-1", hostname="pd-app-01", app_name=app_name)
    with pytest.raises(ValidationError):
        BackupVars(ticket="PD-1", app_name=app_name, backup_password=PASSWORD)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_account", "root;id"),
        ("service_account", "Admin"),
        ("service_account", "a" * 33),
        ("app_dir", "/srv/apps/../../etc"),
        ("app_dir", "relative/dir"),
        ("app_dir", "/srv/apps/x;id"),
        ("mgmt_cidrs", ("10.0.0.1/24",)),
        ("mgmt_cidrs", ("not-a-net",)),
        ("mgmt_cidrs", ()),
        ("monitoring_cidrs", ("10.0.0.0/33",)),
        ("node_exporter_port", 0),
        ("node_exporter_port", 65536),
        ("web_stack", "apache2; id"),
        ("service_account_pubkey", "ssh-ed25519 AAAA\nssh-rsa BBBB"),
        ("service_account_pubkey", 'command="id" ssh-ed25519 AAAA'),
        ("ticket", "PD-1; id"),
        ("target", "all;id"),
        ("unexpected", "x"),
    ],
)
def test_other_fields_are_checked(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ProvisionVars(**{"ticket": "PD-1", "hostname": "pd-app-01", "app_name": "sipd", field: value})


def test_valid_provision_vars_become_prefixed_extra_vars() -> None:
    model = ProvisionVars(
        ticket="PD-2024.001",
        hostname="pd-app-01.pusatdata.gorontaloprov.go.id",
        app_name="sipd-keuangan",
        mgmt_cidrs=("10.10.0.0/16", "2001:DB8::/32"),
        service_account_pubkey="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@kominfo",
    )
    extra = model.to_extra_vars()
    assert extra["spbe_hostname"] == "pd-app-01.pusatdata.gorontaloprov.go.id"
    assert extra["spbe_mgmt_cidrs"] == ["10.10.0.0/16", "2001:db8::/32"]  # canonical, lower case
    assert extra["spbe_web_stack"] == "nginx"
    assert "spbe_app_dir" not in extra  # None: the playbook's default applies
    assert all(key.startswith("spbe_") for key in extra)


def test_models_are_frozen() -> None:
    model = MonitoringVars(ticket="PD-1", hostname="pd-app-01", opd="kominfo")
    with pytest.raises(ValidationError):
        model.hostname = "x;id"  # type: ignore[misc]


def test_backup_password_is_revealed_only_in_extra_vars() -> None:
    model = BackupVars(ticket="PD-1", app_name="sipd", backup_password=PASSWORD)
    assert PASSWORD not in repr(model)
    assert PASSWORD not in str(model.model_dump())
    assert PASSWORD not in model.model_dump_json()
    assert model.to_extra_vars()["spbe_backup_password"] == PASSWORD


@pytest.mark.parametrize("password", ["short", "x" * 300, "twelve-chars\nsecond-line", "nul\x00nul-nul-nul"])
def test_weak_or_multiline_passwords_are_rejected(password: str) -> None:
    with pytest.raises(ValidationError):
        BackupVars(ticket="PD-1", app_name="sipd", backup_password=password)

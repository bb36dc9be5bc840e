"""The lab's API gateway: the real Express Gateway started by `spbe lab up`, in front of the provider backend.

A key issued through the admin API gets through the real proxy to the backend (2xx); no key or a bad
key is refused (401). Both the admin API and the proxy listen on loopback only.
"""

from __future__ import annotations

import subprocess

import pytest
import requests

from integrations.gateway.express_gateway import ExpressGatewayAdapter
from lab.models import LabState
from tests.fixtures.lab import settings_for

pytestmark = pytest.mark.lab


def test_lab_gateway_passes_a_good_key_and_refuses_others(lab: LabState, tmp_path: object) -> None:
    assert lab.gateway is not None, lab.warnings
    settings = settings_for(lab, state_dir=tmp_path)
    assert settings.gateway.kind == "express_gateway"
    gateway = ExpressGatewayAdapter(settings, **settings.gateway.options)  # URLs from the lab's spbe.toml
    route = gateway.ensure_route("kependudukan")
    gateway.ensure_consumer("uji-lab")
    cred = gateway.issue_key_credential("uji-lab")
    gateway.restrict_to_api("uji-lab", "kependudukan")
    good = requests.get(route.url + "/warga", headers=gateway.auth_headers(cred), timeout=10)
    assert good.status_code == 200 and good.json()["path"] == "/kependudukan/warga"
    assert requests.get(route.url + "/warga", timeout=10).status_code == 401
    bad = {"Authorization": f"apiKey {cred.key_id}:wrong-secret"}
    assert requests.get(route.url + "/warga", headers=bad, timeout=10).status_code == 401


def test_lab_gateway_listens_on_loopback_only(lab: LabState) -> None:
    assert lab.gateway is not None
    ports = {u.rsplit(":", 1)[1] for u in (lab.gateway.admin_url, lab.gateway.proxy_url, lab.gateway.backend_url)}
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout.splitlines()
    ours = [line.split()[3] for line in listening if line.split()[3].rsplit(":", 1)[1] in ports]
    assert len(ours) == 3 and all(addr.startswith("127.0.0.1:") for addr in ours), ours

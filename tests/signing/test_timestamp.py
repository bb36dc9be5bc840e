"""A timestamp from the configured TSA (RFC 3161 over loopback HTTP) in every signature."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.signing.conftest import ANDI, CANARY, render_pdf
from tests.signing.tsa import LoopbackTsa
from tests.support.http_listener import Listener
from toolkit.bootstrap import App
from toolkit.errors import UnavailableError
from toolkit.settings import load_settings
from toolkit.signing.pdf import box_for


def test_signatures_carry_the_tsas_timestamp(state_dir: Path, tmp_path: Path) -> None:
    tsa = LoopbackTsa(tmp_path)
    listener = Listener(tsa, "tsa")
    listener.start()
    try:
        app = App(load_settings(state_dir=state_dir, signing={"kind": "pades", "options": {
            "tsa_url": listener.url + "/tsr", "extra_trust_roots": [str(tsa.root_pem)]}}))
        app.signing.ca.init("Diskominfo Uji")  # type: ignore[attr-defined]
        app.signing.enroll(ANDI, SecretStr(CANARY))
        signed = app.signing.sign(render_pdf(), ANDI, SecretStr(CANARY), box_for("andi", 0, 1))
        assert signed.timestamped and tsa.requests >= 1  # pyHanko also asks once to size the signature
        result = app.signing.verify(signed.content)
        assert result.ok and result.signatures[0].timestamped, result
        listener.stop()
        with pytest.raises(UnavailableError):  # the TSA is down: nothing is signed without its timestamp
            app.signing.sign(render_pdf(), ANDI, SecretStr(CANARY), box_for("andi", 0, 1))
        app.close()
    finally:
        listener.stop()

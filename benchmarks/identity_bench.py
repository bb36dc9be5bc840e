"""Benchmark: the identity adapter against the Keycloak FAKE, our token validation, and the vault.

What costs what on the SPLP path: creating a consumer client (a handful of admin calls), the
idempotent re-run, a client-credentials token, validating a token offline (signature with the cached
JWKS; the gateway may do this per request) and with introspection, and the vault's put and reveal
(AES-GCM plus an SQLite transaction and an audit entry). The Keycloak here is the fake from
tests/support (Keycloak cannot run on this machine), so HTTP round trips are loopback ones: the
figures bound our own overhead, not Keycloak's.

    python -m benchmarks.identity_bench [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from integrations.identity.keycloak import KeycloakIdentityProvider
from tests.support.keycloak_fake import KeycloakFake
from tests.support.keycloak_fake.seed import seed_realm
from toolkit.audit import AuditLog
from toolkit.ports.identity_provider import ConsumerClientSpec
from toolkit.settings import load_settings
from toolkit.vault import SecretVault, VaultMeta, generate_key

ADMIN_SECRET = "bench-admin-secret-0123456789"  # noqa: S105 - a throwaway for the fake


def _times(rounds: int, call: Callable[[int], object]) -> list[float]:
    out = []
    for i in range(rounds):
        started = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    rows: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp, KeycloakFake() as fake:
        seed_realm(fake, ADMIN_SECRET)
        os.environ["SPBE_IDP_ADMIN_SECRET"] = ADMIN_SECRET
        settings = load_settings(state_dir=tmp, identity={"server_url": fake.url, "realm": "spbe"})
        idp = KeycloakIdentityProvider(settings=settings)

        def spec(i: int) -> ConsumerClientSpec:
            return ConsumerClientSpec(client_id=f"bench-app-{i}", name=f"Bench {i}", api_role="kependudukan")

        def ensure(i: int) -> object:
            return idp.ensure_consumer_client(spec(i))

        rows.append(("create consumer client", "< 250 ms", _times(rounds, ensure)))
        rows.append(("re-run (idempotent)", "< 150 ms", _times(rounds, ensure)))
        secret = idp.client_secret("bench-app-0")
        rows.append(("client-credentials token", "< 100 ms",
                     _times(rounds, lambda i: idp.client_credentials_token("bench-app-0", secret))))
        token = idp.client_credentials_token("bench-app-0", secret).token
        idp.validate_token(token)  # fetch the JWKS once
        rows.append(("validate token offline", "< 2 ms",
                     _times(rounds * 20, lambda i: idp.validate_token(token, required_role="kependudukan"))))
        rows.append(("validate + introspect", "< 50 ms",
                     _times(rounds, lambda i: idp.validate_token(token, check_active=True))))
        vault = SecretVault(Path(tmp) / "vault.db", SecretStr(generate_key()), audit=AuditLog(Path(tmp) / "a.db"))
        meta = VaultMeta(recipient="andi", label="bench")
        rows.append(("vault put", "< 20 ms",
                     _times(rounds, lambda i: vault.put(f"T-{i}", "api_key", SecretStr(f"secret-{i:04d}"), meta=meta))))
        rows.append(("vault reveal", "< 20 ms", _times(rounds, lambda i: vault.reveal(f"T-{i}", "api_key", "andi"))))
    table = Table(title="Identity and vault (Keycloak fake on loopback)")
    for column in ("figure", "target", "median ms", "worst ms", "n"):
        table.add_column(column)
    for name, target, values in rows:
        table.add_row(name, target, f"{statistics.median(values):.2f}", f"{max(values):.2f}", str(len(values)))
    Console().print(table)


if __name__ == "__main__":
    main()

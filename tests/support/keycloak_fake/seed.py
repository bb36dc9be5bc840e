"""Fill a realm of the Keycloak fake the way an SPBE office would set up its Keycloak.

`seed_realm` creates the automation's admin client (realm-management roles) and, from a roles file
(default: the project's ``inventory/roles.yml``), one realm role per SOP role and one user per
person, with the person's roles, e-mail, names and the ``opd``/``title``/``unix_user``/``nip`` attributes
(each a list of one string, as Keycloak's UserRepresentation holds them). Users get the
password ``<username>-pw`` for the password grant (sessions for the logout tests).
"""

from __future__ import annotations

from pathlib import Path

import spbe_data
from integrations.identity.roles_file import KNOWN_ROLES, load_people
from tests.support.keycloak_fake.server import KeycloakFake

ADMIN_CLIENT_ID = "spbe-automation"
DEFAULT_REALM = "spbe"


def seed_realm(fake: KeycloakFake, admin_secret: str, *, realm: str = DEFAULT_REALM, role_prefix: str = "",
               roles_file: Path | None = None) -> None:
    fake.add_admin_client(realm, ADMIN_CLIENT_ID, admin_secret)
    with fake.lock:
        r = fake.realm(realm)
        for role in sorted(KNOWN_ROLES):
            r.add_role(f"{role_prefix}{role}", f"Peran SOP {role}")
        r.add_role("unrelated-app-role", "a role of another application")
        for person in load_people(roles_file or spbe_data.data_path("inventory", "roles.yml")).values():
            first, _, last = person.name.partition(" ")
            attributes = {k: [v] for k, v in (("opd", person.opd), ("title", person.title),
                                              ("unix_user", person.unix_user), ("nip", person.nip)) if v}
            r.add_user(person.username, email=person.email, first_name=first, last_name=last or None,
                       attributes=attributes, password=f"{person.username}-pw",
                       realm_roles={f"{role_prefix}{role}" for role in person.roles} | {"unrelated-app-role"})

"""Who is running this CLI command, as a `Principal`.

On a production control node the operating-system account *is* the proof: the person is the one
whose ``unix_user`` (roles file, or the Keycloak attribute) names the account that runs ``spbe``.
``--as USER`` proves nothing (anyone with a shell can type it), so it is honoured only where the
settings say the deployment is a lab or a demo, and every audit entry records which of the two it was.
"""

from __future__ import annotations

import os
import pwd

from toolkit.domain.principal import AuthMethod, Principal
from toolkit.errors import NotFoundError, PermissionDeniedError
from toolkit.ports.directory import Directory

LAB_DEPLOYMENTS = frozenset({"lab", "demo"})


def os_account() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def cli_principal(directory: Directory, deployment: str, as_user: str | None) -> Principal:
    if as_user is not None:
        if deployment not in LAB_DEPLOYMENTS:
            raise PermissionDeniedError(
                f"--as is honoured only in a lab or demo deployment (settings.deployment is '{deployment}'); "
                f"spbe acts as the person mapped to your OS account ({os_account()})", user=as_user)
        directory.person(as_user)  # an unknown name is refused here, before any command runs
        return Principal(user=as_user, auth=AuthMethod.LAB_AS)
    account = os_account()
    try:
        person = directory.person_for_unix_user(account)
    except NotFoundError:
        raise PermissionDeniedError(
            f"the OS account '{account}' acts as nobody: give a person 'unix_user: {account}' in the directory"
            + (" (or use --as USER in this lab)" if deployment in LAB_DEPLOYMENTS else ""), unix_user=account,
        ) from None
    return Principal(user=person.username, auth=AuthMethod.OS_USER)

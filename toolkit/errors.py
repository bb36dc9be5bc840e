"""One root error for the toolkit, with subclasses by meaning.

Every error knows the CLI exit code it maps to, so the CLI has exactly one place that turns
exceptions into exit codes (``toolkit.cli.main``). Errors carry structured context (``details``)
so callers and tests can inspect *what* was wrong without parsing the message. Messages must
never contain secrets: values that could be secret are passed through ``toolkit.masking`` first.
"""

from __future__ import annotations

from typing import Any


class ToolkitError(Exception):
    """Root of every error the toolkit raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return self.message


class InvalidInputError(ToolkitError):
    """Input failed validation. ``details['errors']`` lists ``(field, problem)`` pairs."""

    exit_code = 2


class NotFoundError(ToolkitError):
    """A named thing (service, ticket, job, host) does not exist."""

    exit_code = 3


class UnknownServiceError(NotFoundError):
    """The service id is not in the catalog."""


class PermissionDeniedError(ToolkitError):
    """The actor's role does not allow this step (wrong approver, requester approving own ticket)."""

    exit_code = 4


class AuthenticationError(PermissionDeniedError):
    """The caller did not prove who they are (bad, expired or revoked password, token or session): an
    HTTP front door answers 401, not 403. The message is the same for every cause, so it tells an
    attacker nothing about which usernames exist; the cause goes to ``details['reason']``, which the
    audit log and the server's own logs may read but a response must not echo."""


class ConflictError(ToolkitError):
    """The request contradicts current state (step not current, ticket closed, job not retryable)."""

    exit_code = 5


class IncompleteRequestError(InvalidInputError):
    """The completeness check failed; ``details['missing']`` names every missing requirement."""


class UnavailableError(ToolkitError):
    """An outside system could not be reached; the operation can be retried later."""

    exit_code = 6


class ActionFailedError(ToolkitError):
    """An action ran and failed (playbook failed, device refused the config)."""

    exit_code = 7


class ConfigurationError(ToolkitError):
    """Settings, catalog or inventory data is invalid or refers to something missing."""

    exit_code = 8


class IntegrityError(ToolkitError):
    """Tamper evidence: an audit chain or evidence bundle does not verify."""

    exit_code = 9

"""Keep secrets out of every line a person or a log can read.

A `Masker` is given every secret value the toolkit resolves (backup passwords, keys, tokens) and
replaces them wherever they appear: job logs, ticket comments, documents, exception messages.
Masking the value itself, rather than trusting each caller to avoid printing it, is what makes
the canary tests meaningful.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from pydantic import SecretStr

MASK = "********"
_MIN_SECRET_LEN = 4
_KEY_VALUE = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|private[_-]?key)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)


class Masker:
    def __init__(self, secrets: Iterable[str | SecretStr] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | SecretStr) -> None:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(value)

    def __call__(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, MASK)
        return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def last4(secret: str) -> str:
    """How a credential is shown to the applicant: enough to recognise it, not to use it."""
    return MASK + secret[-4:] if len(secret) > 8 else MASK

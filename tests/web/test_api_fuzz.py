"""The API fuzzed from its own OpenAPI document (schemathesis) against the live server: whatever a client
sends, the answer is never a server error, and every refusal is the JSON error body. Bounded and
derandomized, so the run stops by itself and a failure repeats. The operations are walked here with
hypothesis directly (schemathesis' pytest plugin does not load under this pytest)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.web.conftest import Front

EXAMPLES = 8


@pytest.mark.slow  # several processes or a whole-tree scan: the full suite runs it, the fast tier does not
def test_no_input_makes_a_server_error(front: Front) -> None:
    schema = schemathesis.openapi.from_url(front.api + "/openapi.json",
                                           headers={"Authorization": f"Bearer {front.token('sari')}"})
    headers = {user: {"Authorization": f"Bearer {front.token(user)}"} for user in ("sari", "andi")}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 25
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            for user in ("sari", "andi"):  # staff and an applicant reach different branches
                # Revoking the token in hand ends it: that route gets a token of its own each time, so the
                # operations after it are still fuzzed as a signed-in person.
                own = ({"Authorization": f"Bearer {front.token(user, expires='2h')}"} if case.path == "/me/token"
                       else headers[user])
                response = case.call(base_url=front.api, headers=own)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} as {user}: {response.status_code} "
                                    f"{response.text[:300]}")
                elif response.status_code >= 400:
                    assert set(response.json()) == {"error", "message", "fields"}, response.text[:300]

        check()
    assert not failures, "\n".join(failures[:20])

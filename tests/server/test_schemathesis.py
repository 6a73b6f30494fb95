"""Property-based run of the OpenAPI document against the live server.

Every operation is exercised with generated requests (bounded in examples so the run takes
seconds); no response may be a 5xx, and every response must conform to the document (status,
content type, body schema, headers); invalid requests must be refused. The one check left
out is "schema-valid data is accepted": validity also depends on things a schema cannot say
(a signature that verifies, an id that exists). The server runs in a background thread
because schemathesis drives it synchronously.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import positive_data_acceptance

from whatsapp_client.server.testing import ServerHandle, server_in_thread

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def live_server() -> Iterator[ServerHandle]:
    # Limits raised so generated traffic explores the API instead of hitting 429s only.
    with server_in_thread(
        login_attempts_per_address=100_000,
        login_attempts_per_username=100_000,
        registrations_per_address=100_000,
    ) as handle:
        yield handle


def _token(url: str) -> str:
    with requests.Session() as http:
        resp = http.post(
            f"{url}/api/auth/register",
            json={"username": "schemathesis", "password": "long enough"},
            timeout=30,
        )
    assert resp.status_code == 201
    value: str = resp.json()["token"]
    return value


def test_every_operation_conforms_and_never_fails(live_server: ServerHandle) -> None:
    headers = {"Authorization": f"Bearer {_token(live_server.url)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    assert len(operations) >= 26

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        run()

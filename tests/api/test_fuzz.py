"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis + hypothesis).

Whatever a client sends — any path parameter, any query value, any body — the API answers with a
documented status, never a 500, and every error is in the one JSON error shape.
"""

from __future__ import annotations

from fundgraph.api.app import create_app
from fundgraph.graph.stores.embedded.store import EmbeddedStore


def test_no_request_gets_a_server_error(built, api_settings):
    import schemathesis  # the dev extra: imported here so that collection works without it
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    store = EmbeddedStore(api_settings.home)
    store.replace(built)  # the real corpus graph
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api_settings, store))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"}, body
                assert set(body["error"]) == {"status", "code", "message", "detail"}
                assert body["error"]["status"] == response.status_code

        check()

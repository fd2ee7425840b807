"""Property-based run of the OpenAPI schema against the app in-process (schemathesis): whatever the input, the
API answers without a server error. Examples are bounded so the run stays well under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from coupler.demo import create_demo
from coupler.entrypoints.web.app import create_app

from .conftest import BASE_URL, TestClient


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.schemas.BaseSchema]:
    """The schema of one app on a private demo, its lifespan running for the whole module."""
    demo = create_demo(Path(tmp_path_factory.mktemp("schemathesis")) / "demo")
    app = create_app(demo.config)
    with TestClient(app, base_url=BASE_URL):  # runs the lifespan: the app opens the demo
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Host": "127.0.0.1"})
        yield schema


def test_no_input_makes_a_server_error(api_schema: schemathesis.schemas.BaseSchema) -> None:
    """Every operation of the schema, each with bounded generated examples. The operations are walked here rather
    than through schemathesis' pytest plugin, which reaches into pytest internals that newer pytest releases
    changed."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20, "the schema covers the API"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=BASE_URL)
            assert "is not served" not in response.text, "the request must reach the API, not stop at the Host check"
            case.validate_response(response, checks=[not_a_server_error])

        check()

"""Saved queries as CloudWatch query definitions: apply keeps them, `query --saved` runs them.

moto implements neither PutQueryDefinition nor DescribeQueryDefinitions (both answer
500), so these run against a real botocore client whose requests are answered by
botocore's Stubber, or, for the CLI, by a small in-memory stand-in for the service.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from botocore.stub import Stubber

import cwlogs.cli
from cwlogs.client import make_client
from cwlogs.errors import ConfigurationError
from cwlogs.manage import apply, get_query_definition

QUERY = "fields @timestamp, @message | filter level = 'error' | sort @timestamp desc"


@pytest.fixture(scope="module")
def client() -> Any:
    return make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9")


@pytest.fixture
def stub(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _config(**query: Any) -> dict[str, Any]:
    spec = {"name": "shop/{environment}/errors", "query": QUERY, "groups": ["/shop/{env}/api"]}
    return {"environment": "staging", "queries": [{**spec, **query}]}


def _describe(stub: Stubber, name: str, found: list[dict[str, Any]]) -> None:
    stub.add_response(
        "describe_query_definitions",
        {"queryDefinitions": found},
        {"queryDefinitionNamePrefix": name, "maxResults": 1000},
    )


class TestApplyKeepsQueryDefinitions:
    def test_new_query_is_created_with_its_groups(self, client: Any, stub: Stubber) -> None:
        """A query not in the account is put, named and scoped for the environment."""
        _describe(stub, "shop/staging/errors", [])
        stub.add_response(
            "put_query_definition",
            {"queryDefinitionId": "qd-1"},
            {
                "name": "shop/staging/errors",
                "queryString": QUERY,
                "logGroupNames": ["/shop/staging/api"],
            },
        )
        plan = apply(_config(), client=client)
        assert [(c.action, c.kind, c.name) for c in plan.changes] == [
            ("create", "saved query", "shop/staging/errors")
        ]

    def test_same_query_is_left_alone(self, client: Any, stub: Stubber) -> None:
        """An identical definition (among others sharing the prefix) is not put again."""
        same = {
            "queryDefinitionId": "qd-1",
            "name": "shop/staging/errors",
            "queryString": QUERY,
            "logGroupNames": ["/shop/staging/api"],
        }
        _describe(stub, "shop/staging/errors", [{**same, "name": "shop/staging/errors-old"}, same])
        plan = apply(_config(), client=client)
        assert (plan.changes, plan.unchanged) == ([], 1)

    def test_changed_query_replaces_the_definition(self, client: Any, stub: Stubber) -> None:
        """A different query string updates the existing definition by its ID."""
        old = {"queryDefinitionId": "qd-1", "name": "shop/staging/errors", "queryString": "x"}
        _describe(stub, "shop/staging/errors", [old])
        stub.add_response(
            "put_query_definition",
            {"queryDefinitionId": "qd-1"},
            {
                "name": "shop/staging/errors",
                "queryString": QUERY,
                "logGroupNames": ["/shop/staging/api"],
                "queryDefinitionId": "qd-1",
            },
        )
        plan = apply(_config(), client=client)
        assert [c.action for c in plan.changes] == ["update"]

    def test_dry_run_puts_nothing(self, client: Any, stub: Stubber) -> None:
        """A dry run only describes; the Stubber would fail on an unexpected put."""
        _describe(stub, "shop/staging/errors", [])
        plan = apply(_config(), dry_run=True, client=client)
        assert (plan.changed, plan.pending) == (True, 1)

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"query": ""}, "needs a query string"),
            ({"groups": "/shop/api"}, "a list of log group names"),
            ({"name": "shop/{region}"}, "uses {region}"),
            ({"limit": 5}, "unknown key(s) ['limit']"),
        ],
    )
    def test_bad_query_entries_are_refused(
        self, client: Any, stub: Stubber, query: dict[str, Any], message: str
    ) -> None:
        """Empty, mistyped or unknown entries are errors naming the problem, before any call."""
        with pytest.raises(ConfigurationError) as caught:
            apply(_config(**query), client=client)
        assert message in str(caught.value)

    def test_get_query_definition_is_exact(self, client: Any, stub: Stubber) -> None:
        """A name is looked up as a prefix; only the exact name is returned."""
        _describe(stub, "errors", [{"name": "errors-old", "queryString": "x"}])
        assert get_query_definition("errors", client=client) is None


class FakeLogs:
    """Answers a real client's requests by operation name, in whatever order they come."""

    def __init__(self, client: Any, definitions: list[dict[str, Any]]) -> None:
        self.definitions = definitions
        self.started: list[dict[str, Any]] = []
        client.meta.events.register_first("before-call.logs.*", self._answer)

    def _answer(self, model: Any, params: Any, **_: Any) -> Any:
        body = orjson.loads(params["body"] or b"{}")
        name = model.name
        if name == "DescribeQueryDefinitions":
            prefix = body.get("queryDefinitionNamePrefix", "")
            found = [d for d in self.definitions if d["name"].startswith(prefix)]
            return _ok({"queryDefinitions": found})
        if name == "DescribeLogGroups":
            prefix = body.get("logGroupNamePrefix", "")
            return _ok(
                {"logGroups": [{"logGroupName": "/shop/staging/api"}]}
                if "/shop/staging/api".startswith(prefix)
                else {"logGroups": []}
            )
        if name == "StartQuery":
            self.started.append(body)
            return _ok({"queryId": "q-1"})
        if name == "GetQueryResults":
            row = [{"field": "@message", "value": "boom"}]
            return _ok({"status": "Complete", "results": [row], "statistics": {}})
        raise AssertionError(f"unexpected call {name}")


def _ok(parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    http = SimpleNamespace(status_code=200, headers={})
    return http, {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}


class TestQuerySavedInTheAccount:
    def test_runs_the_definition_on_its_groups(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`query --saved NAME` without -g runs the account's definition on its groups."""
        client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9")
        fake = FakeLogs(
            client,
            [{"name": "shop/staging/errors", "queryString": QUERY,
              "logGroupNames": ["/shop/staging/api"]}],
        )  # fmt: skip
        monkeypatch.setattr("cwlogs.cli._context.make_client", lambda **_: client)
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        logger = logging.getLogger("cwlogs")
        saved = (list(logger.handlers), logger.level, logger.propagate)
        try:
            code = cwlogs.cli.main(["query", "--saved", "shop/staging/errors", "--format", "json"])
        finally:
            logger.handlers[:] = saved[0]
            logger.setLevel(saved[1])
            logger.propagate = saved[2]
        (started,) = fake.started
        assert (code, started["queryString"], started["logGroupNames"]) == (
            0,
            QUERY,
            ["/shop/staging/api"],
        )
        assert [orjson.loads(line)["@message"] for line in out.getvalue().splitlines()] == ["boom"]

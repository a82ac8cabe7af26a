"""Saved Logs Insights queries (query definitions): list, get by name, put.

>>> get_query_definition("shop/errors")["queryString"]  # doctest: +SKIP
'fields @timestamp, @message | filter level = "error"'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from cwlogs._aws.calls import call_api, paginate
from cwlogs._aws.client import resolve_client
from cwlogs.errors import InvalidParameterError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


def list_query_definitions(
    prefix: str | None = None, *, client: CloudWatchLogsClient | None = None
) -> Iterator[dict[str, Any]]:
    """The account's saved Logs Insights queries (query definitions) whose names start with
    ``prefix``: what the console's "Saved queries" shows, shared with the whole team.

    >>> [d["name"] for d in list_query_definitions("shop/")]  # doctest: +SKIP
    ['shop/errors', 'shop/slow']
    """
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"maxResults": 1000}
    if prefix:
        kwargs["queryDefinitionNamePrefix"] = prefix
    yield from paginate(
        "DescribeQueryDefinitions", c.describe_query_definitions, "queryDefinitions", kwargs
    )


def get_query_definition(
    name: str, *, client: CloudWatchLogsClient | None = None
) -> dict[str, Any] | None:
    """The saved query named exactly ``name`` (``queryString``, ``logGroupNames``, ...), or None.

    >>> get_query_definition("shop/errors")["queryString"]  # doctest: +SKIP
    'fields @timestamp, @message | filter level = "error"'
    """
    if not name:
        raise InvalidParameterError("a saved query needs a name", code="InvalidParameterException")
    # The name is used as a prefix, so "errors" also lists "errors-old": keep the exact one.
    return next(
        (d for d in list_query_definitions(name, client=client) if d.get("name") == name), None
    )


def put_query_definition(
    name: str,
    query: str,
    *,
    groups: Sequence[str] = (),
    definition_id: str | None = None,
    client: CloudWatchLogsClient | None = None,
) -> str:
    """Save (or, with ``definition_id``, replace) a Logs Insights query; returns its ID.

    >>> put_query_definition("shop/errors", "fields @message", groups=["/a"])  # doctest: +SKIP
    'a1b2c3d4-...'
    """
    if isinstance(groups, str):
        raise InvalidParameterError(
            f"groups must be a list of log group names, not the string {groups!r}",
            code="InvalidParameterException",
        )
    c = resolve_client(client)
    kwargs: dict[str, Any] = {"name": name, "queryString": query}
    if groups:
        kwargs["logGroupNames"] = list(groups)
    if definition_id:
        kwargs["queryDefinitionId"] = definition_id
    response = call_api("PutQueryDefinition", lambda: c.put_query_definition(**kwargs))
    return str(response.get("queryDefinitionId", ""))

"""Tool definitions so an LLM agent can investigate logs through cwlogs, with PII redacted.

:data:`TOOLS` holds JSON-schema descriptions (``name``, ``description``,
``input_schema``) of ``list_log_groups``, ``fetch_logs``, ``search_logs``,
``get_log_statistics`` and ``by_trace_id``; :func:`openai_tools` reshapes them for
function-calling APIs. :func:`dispatch` runs a call by name and returns plain JSON.
Bad arguments and service errors come back as ``{"error": {...}}`` so the agent can
correct itself; every message and field is passed through :class:`~cwlogs.redaction.Redactor`.

>>> [tool["name"] for tool in TOOLS]
['list_log_groups', 'fetch_logs', 'search_logs', 'get_log_statistics', 'by_trace_id']
>>> dispatch("no_such_tool", {})["error"]["type"]
'UnknownTool'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

from cwlogs._aws.client import resolve_client
from cwlogs.errors import CwlogsError
from cwlogs.manage import list_log_groups
from cwlogs.query import LogEvent, by_trace_id, filter_events, get_events, search, statistics
from cwlogs.redaction import Redactor

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["TOOLS", "ToolArgumentError", "dispatch", "openai_tools"]

#: Longest message text returned per event; agents rarely need more, and context is dear.
MAX_MESSAGE_CHARS: Final = 2000
_MAX_LIMIT: Final = 1000

_TIME_DOC: Final = (
    "Accepts ISO-8601 ('2024-05-01T12:00:00Z'), epoch milliseconds, or a time ago "
    "such as '15m', '2h', '1d', '1h ago', 'yesterday', 'now'."
)
_START: Final = {"type": "string", "description": "Start of the time range. " + _TIME_DOC}
_END: Final = {"type": "string", "description": "End of the time range (default now). " + _TIME_DOC}
_LIMIT: Final = {
    "type": "integer",
    "minimum": 1,
    "maximum": _MAX_LIMIT,
    "description": "Most events to return (default 100).",
}
_PATTERN: Final = {
    "type": "string",
    "description": (
        "CloudWatch Logs filter pattern: terms ('ERROR'), quoted phrases, "
        "'?ERROR ?WARN', or JSON like '{ $.level = \"error\" && $.status >= 500 }'."
    ),
}

TOOLS: Final[list[dict[str, Any]]] = [
    {
        "name": "list_log_groups",
        "description": "List CloudWatch log groups, optionally only those starting with a prefix.",
        "input_schema": {
            "type": "object",
            "properties": {
                "prefix": {"type": "string", "description": "Group name prefix, e.g. '/shop/'."},
                "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            },
            "additionalProperties": False,
        },
    },
    {
        "name": "fetch_logs",
        "description": (
            "Fetch log events from one log group (optionally one stream) in time order, "
            "the newest 'limit' kept, "
            "optionally filtered by a pattern. Defaults to the last hour."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "group": {"type": "string", "description": "Log group name."},
                "stream": {"type": "string", "description": "Only this log stream."},
                "pattern": _PATTERN,
                "start": _START,
                "end": _END,
                "limit": _LIMIT,
            },
            "required": ["group"],
            "additionalProperties": False,
        },
    },
    {
        "name": "search_logs",
        "description": (
            "Search one filter pattern across every log group whose name starts with one "
            "of the prefixes; results merged by time (the newest 'limit' kept)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "group_prefixes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": "Log group name prefixes, e.g. ['/shop/prod/'].",
                },
                "pattern": _PATTERN,
                "start": _START,
                "end": _END,
                "limit": _LIMIT,
            },
            "required": ["group_prefixes", "pattern"],
            "additionalProperties": False,
        },
    },
    {
        "name": "get_log_statistics",
        "description": (
            "Count a log group's events grouped by level, minute, hour or stream, "
            "to spot error spikes and noisy streams."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "group": {"type": "string", "description": "Log group name."},
                "by": {"type": "string", "enum": ["level", "minute", "hour", "stream"]},
                "start": _START,
                "end": _END,
            },
            "required": ["group"],
            "additionalProperties": False,
        },
    },
    {
        "name": "by_trace_id",
        "description": (
            "Follow one trace across services: every event carrying this trace_id in the "
            "given log groups, merged and sorted by time."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": "Log group names to correlate across.",
                },
                "trace_id": {"type": "string", "minLength": 1},
                "start": _START,
                "end": _END,
                "limit": _LIMIT,
            },
            "required": ["groups", "trace_id"],
            "additionalProperties": False,
        },
    },
]

_BY_NAME: Final = {tool["name"]: tool for tool in TOOLS}
_JSON_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "integer": (int,),
    "array": (list, tuple),
    "object": (dict,),
}


class ToolArgumentError(CwlogsError, ValueError):
    """Arguments that do not fit a tool's ``input_schema``."""


def openai_tools() -> list[dict[str, Any]]:
    """:data:`TOOLS` in the ``{"type": "function", "function": {...}}`` shape.

    >>> openai_tools()[0]["function"]["name"]
    'list_log_groups'
    """
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool["description"],
                "parameters": tool["input_schema"],
            },
        }
        for tool in TOOLS
    ]


def _check(name: str, schema: Mapping[str, Any], value: Any) -> None:
    expected = schema.get("type")
    kinds = _JSON_TYPES.get(str(expected))
    if kinds is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
        raise ToolArgumentError(f"{name} must be a {expected}, not {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise ToolArgumentError(f"{name} must be one of {schema['enum']}, not {value!r}")
    if expected == "integer":
        if "minimum" in schema and value < schema["minimum"]:
            raise ToolArgumentError(f"{name} must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ToolArgumentError(f"{name} must be <= {schema['maximum']}")
    if expected == "string" and len(value) < schema.get("minLength", 0):
        raise ToolArgumentError(f"{name} must not be empty")
    if expected == "array":
        if len(value) < schema.get("minItems", 0):
            raise ToolArgumentError(f"{name} needs at least {schema['minItems']} item(s)")
        for index, item in enumerate(value):
            _check(f"{name}[{index}]", schema.get("items", {}), item)


def _validate(tool: Mapping[str, Any], arguments: Mapping[str, Any]) -> None:
    schema = tool["input_schema"]
    properties = schema["properties"]
    unknown = sorted(set(arguments) - set(properties))
    if unknown:
        raise ToolArgumentError(
            f"{tool['name']} does not take {unknown}; it takes {sorted(properties)}"
        )
    missing = [key for key in schema.get("required", []) if key not in arguments]
    if missing:
        raise ToolArgumentError(f"{tool['name']} needs {missing}")
    for key, value in arguments.items():
        _check(key, properties[key], value)


class _Runner:
    def __init__(self, client: CloudWatchLogsClient, redactor: Redactor) -> None:
        self.client = client
        self.redactor = redactor

    def event(self, event: LogEvent) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timestamp": event.timestamp.isoformat(),
            "group": event.group,
            "stream": event.stream,
            "level": event.level,
            "service": event.service,
        }
        if event.fields is not None:
            fields = self.redactor.redact_event(event.fields)
            message = fields.pop("message", None)
            out["message"] = _clip(message if isinstance(message, str) else "")
            out["fields"] = fields
        else:
            out["message"] = _clip(self.redactor.redact_text(event.message))
        return out

    def events(self, events: list[LogEvent], limit: int) -> dict[str, Any]:
        return {
            # The newest `limit`, like the CLI's --limit; still in time order.
            "events": [self.event(e) for e in events[-limit:]],
            "count": min(len(events), limit),
            "truncated": len(events) > limit,
        }

    def list_log_groups(self, prefix: str | None = None, limit: int = 100) -> dict[str, Any]:
        groups = list(islice(list_log_groups(prefix, client=self.client), limit + 1))
        return {
            "log_groups": [
                {
                    "name": g["logGroupName"],
                    "retention_days": g.get("retentionInDays"),
                    "stored_bytes": g.get("storedBytes"),
                }
                for g in groups[:limit]
            ],
            "truncated": len(groups) > limit,
        }

    def fetch_logs(
        self,
        group: str,
        stream: str | None = None,
        pattern: str | None = None,
        start: str = "1h",
        end: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        if stream is not None and not pattern:
            # Read backwards so the newest `limit` come first, then restore time order.
            newest = get_events(
                group,
                stream,
                since=start,
                until=end,
                from_head=False,
                limit=limit + 1,
                client=self.client,
            )
            found = list(newest)[::-1]
        else:
            streams = [stream] if stream is not None else None
            found = list(
                filter_events(
                    group,
                    pattern,
                    streams,
                    since=start,
                    until=end,
                    limit=limit + 1,
                    client=self.client,
                )
            )
        return self.events(found, limit)

    def search_logs(
        self,
        group_prefixes: list[str],
        pattern: str,
        start: str = "1h",
        end: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        found = search(
            group_prefixes, pattern, since=start, until=end, limit=limit + 1, client=self.client
        )
        return self.events(found, limit)

    def get_log_statistics(
        self, group: str, by: str = "level", start: str = "1h", end: str | None = None
    ) -> dict[str, Any]:
        counts = statistics(group, since=start, until=end, by=by, client=self.client)  # type: ignore[arg-type]
        return {"group": group, "by": by, "counts": counts, "total": sum(counts.values())}

    def by_trace_id(
        self,
        groups: list[str],
        trace_id: str,
        start: str = "1h",
        end: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        found = by_trace_id(groups, trace_id, since=start, until=end, client=self.client)
        result = self.events(found, limit)
        result["trace_id"] = trace_id
        result["groups"] = sorted({e.group for e in found})
        return result


def _clip(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[:MAX_MESSAGE_CHARS] + f"... [{len(text) - MAX_MESSAGE_CHARS} more characters]"


def dispatch(
    name: str,
    arguments: Mapping[str, Any] | None = None,
    *,
    client: CloudWatchLogsClient | None = None,
    redactor: Redactor | None = None,
) -> dict[str, Any]:
    """Execute the tool ``name`` with ``arguments``; a JSON-serialisable dict, PII redacted.

    Errors the agent can act on (unknown tool, bad arguments, AWS errors such as a
    missing group or throttling) are returned as ``{"error": {"type", "message"}}``.

    >>> from cwlogs.simulate import replay
    >>> messages = ["ERROR card declined", "GET / 200", "ERROR upstream timeout"]
    >>> _ = replay(messages, ("/shop/prod/api", "web-1"), time_scale=0)
    >>> result = dispatch("fetch_logs", {"group": "/shop/prod/api", "pattern": "ERROR"})
    >>> result["count"], result["truncated"], [e["message"] for e in result["events"]]
    (2, False, ['ERROR card declined', 'ERROR upstream timeout'])
    >>> dispatch("fetch_logs", {"group": "/shop/prod/apii"})["error"]["message"]
    "log group '/shop/prod/apii' not found; did you mean /shop/prod/api?"
    """
    tool = _BY_NAME.get(name)
    if tool is None:
        return _error("UnknownTool", f"no tool named {name!r}; tools: {sorted(_BY_NAME)}")
    args = dict(arguments or {})
    try:
        _validate(tool, args)
        runner = _Runner(resolve_client(client), redactor or Redactor())
        method: Callable[..., dict[str, Any]] = getattr(runner, name)
        return method(**args)
    except CwlogsError as err:
        return _error(type(err).__name__, str(err))


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}

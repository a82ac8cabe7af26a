"""One PutLogEvents call, and what a refusal of it means.

:class:`FastPut` builds the request body with orjson and posts it through the client's
own signer and connection pool; botocore still does what it is good at (credentials and
their refresh, endpoint and region resolution, SigV4, error parsing). :func:`make_putter`
falls back to ``client.put_log_events`` (slower: botocore validates every event) when
``fast_send=False`` or the client lacks the internals the fast path needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from cwlogs._aws.retry import policy_for
from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.event import Prepared
from cwlogs._shipping.snapshot import ITEM_DATA, ITEM_TS
from cwlogs.errors import CwlogsError, InvalidParameterError, RequestError, RequestTooLargeError

#: ``put(group, stream, events)``: one PutLogEvents call; its parsed answer.
Putter = Callable[[str, str, list[Prepared]], dict[str, Any]]

_TARGET = "Logs_20140328.PutLogEvents"


def _accepted_body(content: bytes | None) -> dict[str, Any]:
    """The parsed body of a 200: the events were accepted whatever it says, so a body that
    is not a JSON object (an HTML page from a proxy) is an empty answer, never a reason
    to send the batch again (that would store it twice)."""
    if not content:
        return {}
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        warn_rate_limited(
            "send:unreadable",
            "PutLogEvents answered 200 with a body that is not JSON; "
            "counting the batch as delivered",
            interval=60.0,
        )
        return {}
    return parsed if isinstance(parsed, dict) else {}


#: Splits one export may make to isolate refused events; past it, a refusal that hits
#: every half looks systematic (a proxy rule, a bad setting), so the rest is kept for


def refusal_reason(err: CwlogsError) -> str | None:
    """The ``rejected`` reason when ``err`` refuses the request for what it carries (the
    same events would fail again), or None when sending again later may work.

    ``too_large`` (HTTP 413, an oversized request), ``invalid`` (InvalidParameter), or
    ``refused_<code>`` for any other client error without a retry policy (an unknown
    4xx code, or the bare HTTP status).
    """
    if isinstance(err, RequestTooLargeError):
        return "too_large"
    if isinstance(err, InvalidParameterError):
        return "too_large" if "too large" in err.message.lower() else "invalid"
    if type(err) is RequestError and policy_for(err).max_attempts == 1:
        code = "".join(c if c.isalnum() else "_" for c in (err.code or str(err.status or "")))
        return f"refused_{code or 'unknown'}"
    return None


class FastPut:
    """PutLogEvents without botocore's per-event parameter validation."""

    def __init__(self, client: Any) -> None:
        # Private botocore attributes: if any is missing we fall back to put_log_events.
        self.signer = client._request_signer
        self.http = client._endpoint.http_session
        self.url = client.meta.endpoint_url.rstrip("/") + "/"
        self.op = client.meta.service_model.operation_model("PutLogEvents")
        from botocore.parsers import create_parser

        self.parser = create_parser("json")
        self.user_agent = client.meta.config.user_agent or "cwlogs"

    def __call__(self, group: str, stream: str, events: list[Prepared]) -> dict[str, Any]:
        # One orjson pass over the whole batch: the events are JSON already, and orjson
        # escapes them into the body faster than a join of per-event fragments.
        body = orjson.dumps(
            {
                "logGroupName": group,
                "logStreamName": stream,
                "logEvents": [
                    {"timestamp": e[ITEM_TS], "message": e[ITEM_DATA].decode()} for e in events
                ],
            }
        )
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": _TARGET,
                "User-Agent": self.user_agent,
            },
        )
        self.signer.sign("PutLogEvents", request)
        response = self.http.send(request.prepare())
        if response.status_code == 200:
            return _accepted_body(response.content)
        error = self.parser.parse(
            {
                "status_code": response.status_code,
                "headers": response.headers,
                "body": response.content,
            },
            self.op.output_shape,
        )
        error.setdefault("ResponseMetadata", {})["HTTPStatusCode"] = response.status_code
        raise ClientError(error, "PutLogEvents")


def make_putter(client: Any, fast_send: bool = True) -> Putter:
    """The fast path for ``client`` (see :class:`FastPut`), or the public API."""
    if fast_send:
        try:
            return FastPut(client)
        except Exception:  # internals moved: the public API still works
            pass

    def put(group: str, stream: str, events: list[Prepared]) -> dict[str, Any]:
        return _as_dict(
            client.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": e[ITEM_TS], "message": e[ITEM_DATA].decode()} for e in events
                ],
            )
        )

    return put


def _as_dict(response: Any) -> dict[str, Any]:
    return dict(response) if isinstance(response, Mapping) else {}

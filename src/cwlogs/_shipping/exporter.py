"""The exporter for CloudWatch Logs: lazy client, group/stream creation, retries, breaker,
and the bisection that isolates the events a request was refused for.

Each PutLogEvents call goes through ``put.make_putter`` (the fast path, see ``put``),
inside ``retry.call_with_retries`` (one retry layer, per-code policy, deadline-aware).

>>> exporter = CloudWatchExporter(HandlerConfig.resolve(log_group="/app"))
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cwlogs._aws.awserrors import map_exception
from cwlogs._aws.retry import call_with_retries
from cwlogs._shipping.breaker import CircuitBreaker
from cwlogs._shipping.config import HandlerConfig, StreamNamer
from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.encode import render, render_item
from cwlogs._shipping.event import Event, Item, Prepared
from cwlogs._shipping.limits import EVENT_OVERHEAD, rejected_indexes
from cwlogs._shipping.protocol import ExportResult
from cwlogs._shipping.put import Putter, make_putter, refusal_reason
from cwlogs._shipping.snapshot import ITEM_DATA, ITEM_LOGGER, ITEM_TS
from cwlogs._shipping.text import clean_text
from cwlogs.client import make_client
from cwlogs.errors import (
    AuthenticationError,
    CwlogsError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
    ThrottlingError,
)

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

#: Splits one export may make to isolate refused events; past it, a refusal that hits
#: every half looks systematic (a proxy rule, a bad setting), so the rest is kept for
#: later rather than refused event by event.
_MAX_SPLITS = 64


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return type(value).__name__


class CloudWatchExporter:
    """The :class:`~cwlogs._shipping.protocol.Exporter` for CloudWatch Logs.

    Used by the worker thread only.
    """

    def __init__(
        self,
        config: HandlerConfig,
        *,
        boto3_client: CloudWatchLogsClient | None = None,
        boto3_session: Any = None,
        boto_config: Any = None,
        redactor: Any = None,
        static_fields: Mapping[str, Any] | None = None,
        fast_send: bool = True,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._given_client = boto3_client
        self._session = boto3_session
        self._boto_config = boto_config
        self._redactor = redactor
        self._static = dict(static_fields if static_fields is not None else config.static_fields)
        self._fast_send = fast_send
        self._rng = rng
        self._sleep = sleep
        self._namer = StreamNamer(config.log_stream)
        self.breaker = CircuitBreaker(
            config.breaker_threshold, config.breaker_reset, on_transition=self._on_transition
        )
        self._reset_connection_state()
        self.last_error: str | None = None
        self._pace = 0.0
        self._next_send_at = 0.0

    def _reset_connection_state(self) -> None:
        self._client: CloudWatchLogsClient | None = self._given_client
        self._put: Putter | None = None
        self._group_ready = False
        self._known_streams: set[str] = set()
        self._client_lock = threading.Lock()

    def reset_after_fork(self) -> None:
        # Pooled connections inherited from the parent must not be shared: an injected
        # client gets its pool emptied (the parent's copies stay open), ours is rebuilt.
        if self._given_client is not None:
            try:
                self._given_client._endpoint.http_session.close()  # type: ignore[attr-defined]
            except Exception:
                pass
        self._reset_connection_state()
        self._namer.reset()
        self.breaker = CircuitBreaker(
            self.config.breaker_threshold,
            self.config.breaker_reset,
            on_transition=self._on_transition,
        )

    # ------------------------------------------------------------------ encoding
    def prepare(self, item: Item) -> tuple[bytes, str, bool]:
        if type(item) is tuple:  # every log call's path: the handler's snapshot
            stream = self._stream_for(item[ITEM_LOGGER], item[ITEM_TS])
            data, truncated = render_item(item, self._static, self._redactor)
            return data, stream, truncated
        event: Event = item  # type: ignore[assignment]
        redactor = self._redactor
        if event.stream is None:
            stream = self._stream_for(event.logger, event.ts)
        else:  # routed by cwlogs itself (EMF metrics): nothing to redact
            stream, redactor = event.stream, None
        data, truncated = render(event, self._static, redactor)
        return data, stream, truncated

    def set_static_fields(self, fields: Mapping[str, Any]) -> None:
        """Replace the fields added to every JSON event (a ``JsonFormatter``'s, merged)."""
        self._static = dict(fields)

    def _stream_for(self, logger: str, ts: int) -> str:
        try:
            stream = self._namer.render(logger, ts)
        except Exception:  # a logger name that is not text
            stream = self._namer.render(clean_text(_text(logger)), ts)
        if not stream.isascii():  # a lone surrogate from the logger name cannot be sent
            stream = clean_text(stream)
        return stream

    # ------------------------------------------------------------------ client
    def client(self) -> CloudWatchLogsClient:
        """The boto3 client, built on first use (on the worker thread, never in ``__init__``)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    cfg = self.config
                    self._client = make_client(
                        region=cfg.region,
                        endpoint_url=cfg.endpoint_url,
                        profile=cfg.profile,
                        boto3_session=self._session,
                        boto_config=self._boto_config,
                    )
        return self._client

    def _putter(self) -> Putter:
        if self._put is None:
            self._put = make_putter(self.client(), self._fast_send)
        return self._put

    def _ensure_stream(self, stream: str) -> None:
        if stream in self._known_streams:
            return
        cfg = self.config
        client = self.client()
        if not self._group_ready:
            if cfg.create_log_group:
                tags = dict(cfg.log_group_tags)
                created = self._create(
                    lambda: (
                        client.create_log_group(logGroupName=cfg.log_group, tags=tags)
                        if tags
                        else client.create_log_group(logGroupName=cfg.log_group)
                    )
                )
                if created and cfg.retention_days:
                    client.put_retention_policy(
                        logGroupName=cfg.log_group, retentionInDays=cfg.retention_days
                    )
            self._group_ready = True
        if cfg.create_log_stream:
            self._create(
                lambda: client.create_log_stream(logGroupName=cfg.log_group, logStreamName=stream)
            )
        self._known_streams.add(stream)

    @staticmethod
    def _create(call: Callable[[], Any]) -> bool:
        """Run an idempotent create; True if it created something, False if it existed."""
        try:
            call()
        except ClientError as exc:
            err = map_exception(exc)
            if isinstance(err, ResourceAlreadyExistsError):
                return False
            raise err from exc
        return True

    # ------------------------------------------------------------------ sending
    def ready_at(self) -> float:
        return max(self.breaker.ready_at(), self._next_send_at)

    def state(self) -> dict[str, Any]:
        return {"breaker": self.breaker.status(), "last_error": self.last_error}

    def _on_transition(self, old: str, new: str, reason: str) -> None:
        level = 30 if new == "open" else 20
        warn_rate_limited(
            f"breaker:{new}",
            f"circuit breaker {old} -> {new} ({reason}); events are kept in the buffer",
            interval=5.0,
            level=level,
        )

    def export(self, stream: str, events: list[Prepared], deadline: float) -> ExportResult:
        result = ExportResult()
        if not events:
            return result
        if not self.breaker.allow():
            result.retry = events
            return result
        # A refusal of what the request carries (invalid, too large, an unknown 4xx) is
        # never retried as such: the batch is split until the refused events stand alone,
        # and those are rejected by reason while the rest goes out.
        pending: list[list[Prepared]] = [events]
        recreated = False
        splits = 0
        while pending:
            part = pending.pop()
            try:
                response = self._send_with_retries(stream, part, deadline, result)
            except ResourceNotFoundError as err:
                if not recreated and (
                    self.config.create_log_stream or self.config.create_log_group
                ):
                    # The stream (or group) was deleted under us: recreate it and resend.
                    recreated = True
                    self._known_streams.discard(stream)
                    self._group_ready = False
                    pending.append(part)
                    warn_rate_limited("recreate", f"{err.message}; recreating {stream!r}")
                    continue
                self._fail(err, result, part, pending)
                return result
            except CwlogsError as err:
                if err.code == "DataAlreadyAcceptedException":  # stored already (legacy)
                    response = {}
                    self.breaker.record_success()
                    self._account(part, response, result)
                    continue
                reason = refusal_reason(err) if err.operation == "PutLogEvents" else None
                if reason is not None and reason.startswith("refused_") and not err.code:
                    # A bare HTTP status with no AWS error code (a proxy's 404 or 407, a
                    # wrong URL) says nothing about the events: keep them, like an outage.
                    reason = None
                if reason is None or (len(part) > 1 and splits >= _MAX_SPLITS):
                    self._fail(err, result, part, pending)
                    return result
                self.last_error = err.message
                if len(part) == 1:
                    result.rejected.setdefault(reason, []).extend(part)
                    warn_rate_limited(
                        f"refused:{reason}",
                        f"PutLogEvents refused an event ({reason}): {err.message}",
                        interval=10.0,
                    )
                    continue
                splits += 1
                mid = len(part) // 2
                pending.append(part[mid:])
                pending.append(part[:mid])
                continue
            self.breaker.record_success()
            self._account(part, response, result)
        return result

    def _fail(
        self,
        err: CwlogsError,
        result: ExportResult,
        part: list[Prepared],
        pending: list[list[Prepared]],
    ) -> None:
        self.last_error = err.message
        self.breaker.record_failure(err.code or type(err).__name__)
        for rest in (part, *pending):
            result.retry.extend(rest)
        hint = " (check credentials)" if isinstance(err, AuthenticationError) else ""
        warn_rate_limited(
            f"send:{type(err).__name__}",
            f"PutLogEvents to {self.config.log_group} failed: {err.message}{hint}; "
            f"keeping {len(result.retry)} event(s) for a later attempt",
            interval=10.0,
        )

    def _account(
        self, part: list[Prepared], response: Mapping[str, Any], result: ExportResult
    ) -> None:
        refused = rejected_indexes(response.get("rejectedLogEventsInfo"), len(part))
        bad: set[int] = set()
        for reason, idx in refused.items():
            result.rejected.setdefault(reason, []).extend(part[i] for i in idx)
            bad.update(idx)
        ok = [e for i, e in enumerate(part) if i not in bad] if bad else part
        result.sent += len(ok)
        result.bytes_sent += sum(len(e[ITEM_DATA]) for e in ok) + EVENT_OVERHEAD * len(ok)
        result.calls += 1
        # Throttling slowed us down; each success relaxes the pace again.
        self._pace = self._pace / 2 if self._pace > 0.01 else 0.0
        self._next_send_at = time.monotonic() + self._pace if self._pace else 0.0

    def _send_with_retries(
        self, stream: str, part: list[Prepared], deadline: float, result: ExportResult
    ) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            try:
                self._ensure_stream(stream)
            except CwlogsError as err:
                err.operation = err.operation or "CreateLogStream"
                raise
            except Exception as exc:  # set-up, not the events: never a refusal of them
                raise map_exception(exc, "CreateLogStream") from exc
            try:
                return self._putter()(self.config.log_group, stream, part)
            except CwlogsError:
                raise
            except Exception as exc:
                raise map_exception(exc, "PutLogEvents") from exc

        def on_retry(err: CwlogsError, delay: float) -> None:
            result.retried += 1
            if isinstance(err, ThrottlingError):
                # Adaptive: fewer, fuller batches while the service pushes back.
                self._pace = min(max(self._pace * 2, 0.25), 5.0)

        return call_with_retries(
            attempt, deadline=deadline, sleep=self._sleep, rng=self._rng, on_retry=on_retry
        )

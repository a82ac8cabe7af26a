"""``CloudWatchHandler``: a stdlib logging handler that snapshots, enqueues, and returns.

Everything slow (JSON, redaction, batching, HTTP, retries) happens on one daemon
worker thread per handler. Nothing touches the network until the first record is
delivered, so ``dictConfig`` at import time is free.

>>> import logging, cwlogs
>>> handler = cwlogs.CloudWatchHandler(log_group="/myapp/prod", log_stream="{hostname}/{pid}")
>>> logging.getLogger().addHandler(handler)  # doctest: +SKIP
>>> logging.getLogger("api").info("order %s placed", 42, extra={"order_id": 42})  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from cwlogs._shipping.config import HandlerConfig, StreamNamer, as_bool
from cwlogs._shipping.diagnostics import warn_rate_limited
from cwlogs._shipping.encode import encode
from cwlogs._shipping.engine import Batcher
from cwlogs._shipping.event import Event
from cwlogs._shipping.exporter import CloudWatchExporter
from cwlogs._shipping.formatter import JsonFormatter, record_to_event
from cwlogs._shipping.metrics import emf_event
from cwlogs._shipping.snapshot import snapshot_fields
from cwlogs.context import current

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = [
    "CloudWatchHandler",
    "DroppedEvent",
    "flush_on_sigterm",
    "is_internal_logger",
    "make_redactor",
]

#: Loggers whose records are never shipped: shipping them could feed back into the
#: handler (botocore logs every request it makes for us at DEBUG).
_EXCLUDED_PREFIXES: Final = ("botocore", "boto3", "urllib3", "s3transfer", "cwlogs")

DroppedEvent = dict[str, Any]
OnDrop = Callable[[list[DroppedEvent], str], None]


def is_internal_logger(name: str) -> bool:
    """True for loggers whose records a handler must never ship (they could loop back)."""
    return any(name == p or name.startswith(p + ".") for p in _EXCLUDED_PREFIXES)


class CloudWatchHandler(logging.Handler):
    """Ship log records to a CloudWatch Logs group, in batches, from a background thread.

    Every option can come from an argument, a ``CWLOGS_<OPTION>`` environment variable,
    or its default, in that order; bad values raise :class:`cwlogs.ConfigurationError`.

    Where: ``log_group`` (required), ``log_stream`` (template, ``{hostname}/{pid}``),
    ``region``, ``endpoint_url``, ``profile``, or ``boto3_client`` / ``boto3_session`` /
    ``boto_config``; ``create_log_group`` / ``create_log_stream`` (True),
    ``retention_days``, ``log_group_tags``.
    Batching: ``flush_interval`` (5 s), ``max_batch_events`` (10,000),
    ``max_batch_bytes`` (1 MiB), ``fast_send`` (True).
    Overload: ``max_queue_bytes`` (10 MiB), ``backpressure`` (True: a full queue waits
    for room while the endpoint accepts batches), ``overflow`` (``drop_oldest`` when
    delivery is impossible; ``drop_newest``, ``block``), ``block_timeout`` (2 s),
    ``protect_level``.
    Exit: ``shutdown_timeout`` (5 s without progress), ``shutdown_cap`` (60 s in all).
    Content: ``service``, ``environment``, ``static_fields``, ``include_thread``,
    ``redact`` (True), ``formatter``. Health: ``breaker_threshold`` (5),
    ``breaker_reset`` (30 s), ``metrics_interval`` / ``metrics_namespace`` /
    ``metrics_stream``. Losses: ``on_drop(events, reason)``.
    The README's option table says more about each.

    >>> h = CloudWatchHandler(log_group="/app", endpoint_url="http://127.0.0.1:5000")
    >>> h.stats()["emitted"]
    0
    >>> h.close()
    """

    def __init__(
        self,
        log_group: str | None = None,
        log_stream: str | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        boto3_client: CloudWatchLogsClient | None = None,
        boto3_session: Any = None,
        boto_config: Config | None = None,
        create_log_group: bool | None = None,
        create_log_stream: bool | None = None,
        retention_days: int | None = None,
        log_group_tags: Mapping[str, str] | None = None,
        flush_interval: float | None = None,
        max_batch_events: int | None = None,
        max_batch_bytes: int | None = None,
        max_queue_bytes: int | None = None,
        overflow: str | None = None,
        backpressure: bool | None = None,
        block_timeout: float | None = None,
        protect_level: int | str | None = None,
        shutdown_timeout: float | None = None,
        shutdown_cap: float | None = None,
        service: str | None = None,
        environment: str | None = None,
        static_fields: Mapping[str, Any] | None = None,
        include_thread: bool | None = None,
        breaker_threshold: int | None = None,
        breaker_reset: float | None = None,
        metrics_interval: float | None = None,
        metrics_namespace: str | None = None,
        metrics_stream: str | None = None,
        redact: bool | str | Any = None,
        on_drop: OnDrop | None = None,
        formatter: logging.Formatter | None = None,
        level: int | str = logging.NOTSET,
        fast_send: bool = True,
    ) -> None:
        # Validate before logging.Handler.__init__ registers us for shutdown: a handler
        # that failed to build must not be closed (and crash) at exit.
        fields = dict(static_fields or {})
        if service:
            fields["service"] = service
        if environment:
            fields["environment"] = environment
        # Every HandlerConfig option is a parameter of this signature, under its own name
        # (a unit test holds them together): passed on as given, None meaning "not given".
        given = {k: v for k, v in locals().items() if k in HandlerConfig.__dataclass_fields__}
        given["static_fields"] = fields or None
        self.config = HandlerConfig.resolve(**given)
        cfg = self.config
        if redact is None:
            redact = os.environ.get("CWLOGS_REDACT", "true")
        self.redactor = make_redactor(redact)
        super().__init__(level)
        self._exporter = CloudWatchExporter(
            cfg,
            boto3_client=boto3_client,
            boto3_session=boto3_session,
            boto_config=boto_config,
            redactor=self.redactor,
            fast_send=fast_send,
        )
        self._user_on_drop = on_drop
        self._batcher = Batcher(
            self._exporter,
            cfg,
            on_drop=self._on_drop if on_drop is not None else None,
            name=f"cwlogs[{cfg.log_group}]",
        )
        self._excluded_cache: dict[str, bool] = {}
        self._include_thread = cfg.include_thread
        if formatter is not None:
            self.setFormatter(formatter)
        self._metrics_stop = threading.Event()
        if cfg.metrics_interval:
            threading.Thread(
                target=self._publish_metrics,
                args=(cfg.metrics_interval,),
                name=f"cwlogs[{cfg.log_group}]-metrics",
                daemon=True,
            ).start()

    def _publish_metrics(self, interval: float) -> None:
        """Every ``interval`` s, queue one EMF event with this handler's own health."""
        cfg = self.config
        namer = StreamNamer(cfg.metrics_stream, option="metrics_stream")
        previous: dict[str, Any] | None = None
        while not self._metrics_stop.wait(interval):
            try:
                now = self._batcher.stats()
                ts = time.time()
                doc = emf_event(now, previous, cfg.log_group, cfg.metrics_namespace, int(ts * 1000))
                previous = now
                ev = Event(
                    ts,
                    logging.INFO,
                    "INFO",
                    "cwlogs.metrics",
                    encode(doc).decode(),
                    None,
                    None,
                    preformatted=True,
                )
                ev.stream = namer.render("cwlogs.metrics", ev.ts)
                self._batcher.put(ev)
            except Exception as exc:  # health reporting must never hurt the application
                warn_rate_limited("metrics", f"cwlogs metrics emission failed: {exc!r}")

    # ------------------------------------------------------------------ logging.Handler
    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        if type(fmt) is logging.Formatter and fmt._fmt == logging.BASIC_FORMAT:
            # logging.basicConfig(handlers=[...]) stamps its default text format on every
            # handler without one; nobody chose it, so keep the JSON default.
            fmt = None
        super().setFormatter(fmt)
        if isinstance(fmt, JsonFormatter):
            # A JsonFormatter's fields join the worker-side JSON instead of formatting here.
            self._exporter.set_static_fields({**self.config.static_fields, **fmt.static_fields})

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        # The stdlib takes handler.lock around emit(); our emit is thread-safe on its
        # own (a short private lock), so callers never queue behind each other here.
        rv = self.filter(record) if self.filters else True
        if rv:
            if isinstance(rv, logging.LogRecord):
                record = rv
            self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = record.name
            excluded = self._excluded_cache.get(name)
            if excluded is None:
                excluded = self._excluded_cache[name] = is_internal_logger(name)
            if excluded:
                return
            fmt = self.formatter
            if fmt is None:  # the default: a tuple, made into an Event on the worker
                self._batcher.put_fields(snapshot_fields(record, current(), self._include_thread))
            else:
                self._batcher.put(
                    record_to_event(record, fmt, current(), with_thread=self._include_thread)
                )
        except Exception as exc:  # RecursionError too: a value nested too deep to render
            self._emit_unrenderable(record, exc)

    def _emit_unrenderable(self, record: logging.LogRecord, exc: Exception) -> None:
        """A record the normal path failed on (an odd logger name, a formatter that raised)
        is shipped through the careful snapshot, which never raises; else counted."""
        try:
            self._batcher.put_fields(snapshot_fields(record, current(), self._include_thread))
            warn_rate_limited(
                "unrenderable",
                f"a log record could not be rendered and was marked: {type(exc).__name__}",
            )
        except Exception as again:
            try:
                lost = Event(time.time(), logging.ERROR, "ERROR", "cwlogs", "<unrenderable record>",
                             None, None)  # fmt: skip
                self._batcher.count_drop("render_failed", [lost])
            except Exception:
                pass
            if isinstance(again, RecursionError):
                raise  # the stack itself is exhausted: as the stdlib does
            self.handleError(record)

    def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait until everything emitted before this call is delivered or accounted for.

        Returns False if ``timeout`` (default: ``shutdown_timeout``) passed first.

        >>> handler = CloudWatchHandler(log_group="/myapp/prod")
        >>> log = logging.getLogger("api")
        >>> log.addHandler(handler)
        >>> log.warning("order %s failed", 42)
        >>> handler.flush(timeout=2.0)
        True
        >>> log.removeHandler(handler)
        >>> handler.close()
        """
        try:
            return self._batcher.flush(timeout)
        except Exception:
            return False

    def close(self) -> None:
        """Drain while batches are accepted (``shutdown_timeout`` without progress, at most
        ``shutdown_cap`` in all), stop the worker, count what could not be sent.

        Called while logging is being reconfigured (``dictConfig``, ``basicConfig(force=True)``
        hold logging's module lock), it returns at once and the worker finishes the drain.
        """
        try:
            stop = getattr(self, "_metrics_stop", None)
            if stop is not None:
                stop.set()
            batcher = getattr(self, "_batcher", None)
            if batcher is not None:
                batcher.close()
        finally:
            super().close()

    # ------------------------------------------------------------------ cwlogs API
    def enqueue(self, event: Event) -> bool:
        """Queue an already-snapshotted :class:`~cwlogs.formatting.Event` (used by integrations
        such as the structlog sink, which skip the LogRecord detour). Never raises.

        >>> handler = CloudWatchHandler(log_group="/myapp/prod")
        >>> ev = Event(time.time(), 20, "INFO", "app", "hi", {"k": 1}, None)
        >>> handler.enqueue(ev)
        True
        >>> handler.close()
        """
        try:
            if self._excluded_cache.get(event.logger) or is_internal_logger(event.logger):
                return False
            return self._batcher.put(event)
        except Exception:
            return False

    def stats(self) -> dict[str, Any]:
        """Counters to alert on: emitted, sent, batches, bytes_sent, retried, truncated,
        dropped/rejected by reason, queue_depth, queue_bytes, breaker, last_error, redaction.

        >>> handler = CloudWatchHandler(log_group="/myapp/prod")
        >>> handler.enqueue(Event(time.time(), 20, "INFO", "app", "hi", None, None))
        True
        >>> handler.flush(timeout=2.0)
        True
        >>> stats = handler.stats()
        >>> stats["sent"], stats["dropped"], stats["queue_depth"]
        (1, {}, 0)
        >>> handler.close()
        """
        out = self._batcher.stats()
        if self.redactor is not None:
            out["redaction"] = self.redactor.stats()
        return out

    @property
    def client(self) -> CloudWatchLogsClient:
        """The boto3 client the handler sends with (built on first use)."""
        return self._exporter.client()

    def _on_drop(self, events: list[Event], reason: str) -> None:
        callback = self._user_on_drop
        if callback is None:
            return
        out: list[DroppedEvent] = []
        for ev in events:
            data, stream = ev.data, ev.stream
            if data is None:
                try:
                    data, stream, _ = self._exporter.prepare(ev)
                except Exception:  # what could not be encoded for sending (unencodable)
                    data = b"<event could not be encoded>"
            out.append(
                {
                    "reason": reason,
                    "timestamp": ev.ts,
                    "log_group": self.config.log_group,
                    "log_stream": stream,
                    "message": data.decode("utf-8", "replace"),
                }
            )
        callback(out, reason)

    def __repr__(self) -> str:
        return f"<CloudWatchHandler {self.config.log_group} ({logging.getLevelName(self.level)})>"


def flush_on_sigterm() -> None:
    """Deliver what this process queued when it gets SIGTERM, then let it die as it would.

    ``multiprocessing.Pool`` terminates its workers with SIGTERM when its ``with`` block
    ends, so records still queued in a worker would be lost: use this as the pool's
    initializer (or call it early, before the program starts threads of its own).

    >>> import multiprocessing, cwlogs
    >>> with multiprocessing.Pool(2, initializer=cwlogs.flush_on_sigterm) as pool:
    ...     pool.map(abs, [-1, -2])
    [1, 2]
    """
    import signal

    # A Python signal handler runs only when the main thread next runs Python code, and a
    # pool worker's main thread sits in a C-level wait: so SIGTERM is blocked here (and in
    # every thread started from now on) and a thread of ours waits for it instead.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_drain_on_sigterm, name="cwlogs-sigterm", daemon=True).start()


def _drain_on_sigterm() -> None:
    import signal

    from cwlogs._shipping.lifecycle import close_all

    signum = signal.sigwait({signal.SIGTERM})
    try:
        close_all()  # bounded by each handler's own shutdown deadlines
    finally:
        # Let the signal do what it would have done (the default: end the process).
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})
        signal.pthread_kill(threading.get_ident(), signum)


def make_redactor(redact: bool | str | Any) -> Any:
    """A Redactor from the ``redact`` option: True/"true" (the default preset), a preset
    name ("minimal", "default", "strict"), False, or a redactor of your own.

    >>> make_redactor("strict").redact_text("client=10.0.3.17") != "client=10.0.3.17"
    True
    """
    from cwlogs.redaction import PRESETS, Redactor

    if isinstance(redact, str):  # from dictConfig files or CWLOGS_REDACT
        preset = redact.strip().lower()
        if preset in PRESETS:
            return Redactor(preset=preset)
        redact = as_bool("redact", redact)
    if redact is False or redact is None:
        return None
    if redact is True:
        return Redactor()
    return redact

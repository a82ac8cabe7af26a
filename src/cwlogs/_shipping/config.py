"""Handler configuration: explicit argument > ``CWLOGS_*`` environment variable > default.

:class:`HandlerConfig` is the one object a handler resolves and hands to the engine
(which reads its :class:`EngineConfig` part) and the exporter. Every option is validated
at construction so bad configuration fails early, with a message naming the option;
nothing here touches the network.

>>> cfg = HandlerConfig.resolve(log_group="/app", flush_interval="2.5", environ={})
>>> (cfg.log_group, cfg.flush_interval, cfg.overflow)
('/app', 2.5, 'drop_oldest')
"""

from __future__ import annotations

import logging
import os
import re
import socket
import string
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cwlogs._shipping.limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    RETENTION_DAYS,
    sanitize_stream_name,
)
from cwlogs.errors import ConfigurationError

OVERFLOW_POLICIES: Final = ("drop_oldest", "drop_newest", "block")
DEFAULT_STREAM: Final = "{hostname}/{pid}"
_GROUP_RE: Final = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off", ""})


def as_bool(option: str, value: Any) -> bool:
    """``value`` (a bool, or text from a dictConfig file or an env var) as a bool;
    :class:`~cwlogs.ConfigurationError` naming ``option`` when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(option, f"expected a boolean, got {value!r}")


def _as_number(option: str, value: Any, kind: type, minimum: float, maximum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigurationError(option, f"expected a number, got {value!r}") from None
    if not minimum <= number <= maximum:
        raise ConfigurationError(option, f"must be between {minimum} and {maximum}, got {number}")
    return number


def _as_level(option: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise ConfigurationError(option, f"unknown level {value!r}")
    return level


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """The options the delivery engine (``engine.Batcher``) reads, with the handler's
    defaults: ``Batcher(exporter)`` runs with these, a handler passes its whole
    :class:`HandlerConfig`."""

    flush_interval: float = 5.0
    max_batch_events: int = MAX_BATCH_EVENTS
    max_batch_bytes: int = MAX_BATCH_BYTES
    max_queue_bytes: int = 10 * 1024 * 1024
    overflow: str = "drop_oldest"
    backpressure: bool = True
    block_timeout: float = 2.0
    protect_level: int | None = None
    shutdown_timeout: float = 5.0
    shutdown_cap: float = 60.0
    #: Events older than the group's retention are refused before sending.
    retention_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class HandlerConfig(EngineConfig):
    """Resolved, validated handler options (see ``CloudWatchHandler`` and the README's
    option table): one object, passed from the handler to the engine and the exporter."""

    log_group: str
    log_stream: str = DEFAULT_STREAM
    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    create_log_group: bool = True
    create_log_stream: bool = True
    log_group_tags: Mapping[str, str] = field(default_factory=dict)
    static_fields: Mapping[str, Any] = field(default_factory=dict)
    include_thread: bool = False
    breaker_threshold: int = 5
    breaker_reset: float = 30.0
    metrics_interval: float | None = None
    metrics_namespace: str = "cwlogs"
    metrics_stream: str = "{hostname}/{pid}/cwlogs-metrics"

    @classmethod
    def resolve(cls, *, environ: Mapping[str, str] | None = None, **kwargs: Any) -> HandlerConfig:
        """Merge arguments (None = not given) over ``CWLOGS_*`` env vars over defaults; validate."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            arg = kwargs.pop(name, None)
            if arg is not None:
                values[name] = arg
                continue
            env_value = env.get(f"CWLOGS_{name.upper()}")
            if env_value is not None:
                values[name] = env_value
        if kwargs:
            unknown = ", ".join(sorted(kwargs))
            raise ConfigurationError(unknown, "unknown option")
        # Static fields have their own shorthand env vars, as watchtower users expect.
        static = dict(values.pop("static_fields", None) or {})
        for key in ("service", "environment"):
            env_value = env.get(f"CWLOGS_{key.upper()}")
            if key not in static and env_value:
                static[key] = env_value
        values["static_fields"] = static
        return cls._validated(values)

    @classmethod
    def _validated(cls, v: dict[str, Any]) -> HandlerConfig:
        group = v.get("log_group")
        if not group:
            raise ConfigurationError(
                "log_group", "required: pass log_group= or set CWLOGS_LOG_GROUP"
            )
        group = str(group)
        if not _GROUP_RE.match(group):
            raise ConfigurationError(
                "log_group",
                f"{group!r} is not a valid log group name (1-512 chars of a-z A-Z 0-9 _ - / . #)",
            )
        v["log_group"] = group
        stream = str(v.get("log_stream", DEFAULT_STREAM))
        StreamNamer(stream)  # validates the template
        v["log_stream"] = stream
        if "metrics_stream" in v:
            v["metrics_stream"] = str(v["metrics_stream"])
            StreamNamer(v["metrics_stream"], option="metrics_stream")
        for name in ("create_log_group", "create_log_stream", "include_thread", "backpressure"):
            if name in v:
                v[name] = as_bool(name, v[name])
        if v.get("retention_days") is not None:
            days = _as_number("retention_days", v["retention_days"], int, 1, 3653)
            if days not in RETENTION_DAYS:
                raise ConfigurationError(
                    "retention_days",
                    f"{days} is not accepted by CloudWatch; valid values: "
                    + ", ".join(map(str, RETENTION_DAYS)),
                )
            v["retention_days"] = days
        numbers: dict[str, tuple[type, float, float]] = {
            "flush_interval": (float, 0.01, 86_400.0),
            "max_batch_events": (int, 1, MAX_BATCH_EVENTS),
            "max_batch_bytes": (int, 1024, MAX_BATCH_BYTES),
            "max_queue_bytes": (int, 64 * 1024, 2**40),
            "block_timeout": (float, 0.0, 3600.0),
            "shutdown_timeout": (float, 0.0, 3600.0),
            "shutdown_cap": (float, 0.0, 86_400.0),
            "breaker_threshold": (int, 1, 1_000_000),
            "breaker_reset": (float, 0.01, 86_400.0),
            "metrics_interval": (float, 0.05, 86_400.0),
        }
        for name, (kind, lo, hi) in numbers.items():
            if v.get(name) is not None:
                v[name] = _as_number(name, v[name], kind, lo, hi)
        overflow = str(v.get("overflow", "drop_oldest")).lower().replace("-", "_")
        if overflow not in OVERFLOW_POLICIES:
            raise ConfigurationError(
                "overflow", f"{overflow!r}; choose one of {', '.join(OVERFLOW_POLICIES)}"
            )
        v["overflow"] = overflow
        if "protect_level" in v:
            v["protect_level"] = _as_level("protect_level", v["protect_level"])
        tags = v.get("log_group_tags")
        if tags is not None:
            if isinstance(tags, str):  # env var form: "team=core,env=prod"
                pairs = [p.split("=", 1) for p in tags.split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ConfigurationError("log_group_tags", "expected key=value[,key=value]")
                tags = {k.strip(): val.strip() for k, val in pairs}
            if not isinstance(tags, Mapping):
                raise ConfigurationError("log_group_tags", "expected a mapping of str to str")
            v["log_group_tags"] = {str(k): str(val) for k, val in tags.items()}
        for name in ("region", "endpoint_url", "profile"):
            if v.get(name) is not None:
                v[name] = str(v[name])
        return cls(**v)


_STATIC_FIELDS: Final = frozenset({"hostname", "pid", "uuid", "process_name"})
_DYNAMIC_FIELDS: Final = frozenset({"logger", "date", "strftime"})


class StreamNamer:
    """Renders a stream-name template per event; static parts are computed once per process.

    Fields: ``{hostname}``, ``{pid}``, ``{uuid}`` (random per process), ``{process_name}``,
    ``{logger}``, ``{date}`` (UTC event date, ``{date:%Y/%m/%d}`` for any strftime).
    Characters CloudWatch refuses (``:`` ``*``) become ``_``.

    >>> StreamNamer("{logger}:x").render("api", 0)
    'api_x'
    """

    def __init__(self, template: str, *, option: str = "log_stream") -> None:
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ConfigurationError(option, f"bad template {template!r}: {exc}") from None
        names = {p[1] for p in parts if p[1] is not None}
        unknown = names - _STATIC_FIELDS - _DYNAMIC_FIELDS
        if unknown:
            raise ConfigurationError(
                option,
                f"unknown field(s) {', '.join(sorted(unknown))} in {template!r}; "
                "use hostname, pid, uuid, process_name, logger, date",
            )
        self.template = template
        self._dynamic = bool(names & _DYNAMIC_FIELDS)
        date_specs = [p[2] or "%Y-%m-%d" for p in parts if p[1] in ("date", "strftime")]
        self._granularity_ms = _granularity(date_specs)
        self._cache: dict[tuple[str, int], str] = {}
        self.reset()

    def reset(self) -> None:
        """Recompute per-process parts (after ``fork``)."""
        import multiprocessing

        self._static: dict[str, Any] = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "uuid": uuid.uuid4().hex,
            "process_name": multiprocessing.current_process().name,
        }
        self._cache.clear()
        self._fixed = None if self._dynamic else self._format("", 0)

    def _format(self, logger: str, ts_ms: int) -> str:
        date = _DateField(ts_ms)
        name = self.template.format(logger=logger, date=date, strftime=date, **self._static)
        return sanitize_stream_name(name)

    def render(self, logger: str, ts_ms: int) -> str:
        if self._fixed is not None:
            return self._fixed
        key = (logger, ts_ms // self._granularity_ms)
        name = self._cache.get(key)
        if name is None:
            if len(self._cache) > 4096:  # bound memory for high-cardinality logger names
                self._cache.clear()
            name = self._cache[key] = self._format(logger, ts_ms)
        return name


class _DateField:
    __slots__ = ("ts_ms",)

    def __init__(self, ts_ms: int) -> None:
        self.ts_ms = ts_ms

    def __format__(self, spec: str) -> str:
        return time.strftime(spec or "%Y-%m-%d", time.gmtime(self.ts_ms / 1000))


def _granularity(specs: list[str]) -> int:
    joined = "".join(specs)
    if any(d in joined for d in ("%S", "%f", "%s", "%c", "%X", "%T")):
        return 1000
    if "%M" in joined or "%R" in joined:
        return 60_000
    if any(d in joined for d in ("%H", "%I", "%p")):
        return 3_600_000
    return 86_400_000

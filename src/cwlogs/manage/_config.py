"""What :func:`~cwlogs.manage.apply` is asked for: the description read and checked.

A TOML/JSON/YAML file or a dict becomes :class:`GroupSpec` and :class:`QuerySpec` values,
with environments layered, ``{environment}`` filled in, built-in metric filters named and
alarm definitions built; every mistake is a :class:`~cwlogs.errors.ConfigurationError`
naming where it is. Nothing here talks to AWS.

>>> [s.name for s in group_specs({"groups": [{"name": "/{env}/api"}]}, "staging")]
['/staging/api']
"""

from __future__ import annotations

import importlib
import json
import os
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cwlogs.errors import ConfigurationError
from cwlogs.filterpattern import validate_pattern
from cwlogs.manage._filters import (
    MetricFilterSpec,
    error_count_filter,
    request_count_filter,
    status_5xx_filter,
)
from cwlogs.manage._groups import validate_retention

#: Retention each environment gets unless the configuration says otherwise.
DEFAULT_ENVIRONMENTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "staging": {"retention_days": 30},
    "production": {"retention_days": 90},
}

_BUILTIN_FILTERS: Final[dict[str, Callable[[str], MetricFilterSpec]]] = {
    "error_count": error_count_filter,
    "5xx_count": status_5xx_filter,
    "request_count": request_count_filter,
}
_GROUP_KEYS: Final = frozenset(
    {"name", "retention_days", "kms_key_id", "log_group_class", "tags", "metric_filters",
     "namespace", "alarms"}
)  # fmt: skip
_SETTING_KEYS: Final = frozenset(
    {"retention_days", "kms_key_id", "log_group_class", "tags", "namespace", "alarms"}
)
_TOP_KEYS: Final = _SETTING_KEYS | {"environment", "environments", "groups", "queries"}
_QUERY_KEYS: Final = frozenset({"name", "query", "groups"})
_ALARM_KEYS: Final = frozenset({"sns_topic", "error_count_per_minute", "error_rate_5xx_percent"})
_PLACEHOLDERS: Final = ("environment", "env")


@dataclass(frozen=True)
class AlarmSpec:
    """One CloudWatch alarm, as the keyword arguments of ``PutMetricAlarm``."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class GroupSpec:
    """What one log group should look like after :func:`apply`."""

    name: str
    retention_days: int | None = None
    kms_key_id: str | None = None
    log_group_class: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metric_filters: tuple[MetricFilterSpec, ...] = ()
    alarms: tuple[AlarmSpec, ...] = ()
    sns_topic: str | None = None


@dataclass(frozen=True)
class QuerySpec:
    """A saved Logs Insights query (a CloudWatch query definition) that :func:`apply` keeps."""

    name: str
    query: str
    groups: tuple[str, ...] = ()


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    """Read a provisioning description: a dict, or a ``.toml``, ``.json`` or ``.yaml`` file.

    TOML is read with ``tomllib`` (``tomli`` on Python 3.10, a cwlogs dependency there);
    YAML needs PyYAML, which cwlogs does not install.

    >>> load_config({"groups": [{"name": "/app"}]})["groups"][0]["name"]
    '/app'
    """
    if isinstance(source, Mapping):
        return dict(source)
    path = Path(source)
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError("config", f"cannot read {path}: {exc}") from exc
    if suffix == ".toml":
        toml = _toml_module()
        try:
            loaded: Any = toml.loads(raw.decode("utf-8"))
        except (toml.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    elif suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                "config",
                f"{path} is YAML, which needs PyYAML (pip install pyyaml); "
                "or use TOML, JSON or a dict",
            ) from exc
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    elif suffix == ".json":
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError("config", f"{path}: {exc}") from exc
    else:
        raise ConfigurationError("config", f"{path}: use a .toml, .json, .yaml file or a dict")
    if not isinstance(loaded, dict):
        raise ConfigurationError("config", f"{path}: the top level must be a table/mapping")
    return loaded


def _toml_module() -> Any:
    """``tomllib`` (Python 3.11+), else ``tomli``, the same parser, installed on 3.10."""
    try:
        import tomllib

        return tomllib
    except ImportError:
        pass
    try:
        # By name: mypy checks for 3.11, where tomli need not be installed.
        return importlib.import_module("tomli")
    except ImportError as exc:
        raise ConfigurationError(
            "config", "reading TOML on Python < 3.11 needs tomli (pip install tomli)"
        ) from exc


def _check_keys(where: str, given: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ConfigurationError(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key in ("tags", "alarms") and isinstance(value, Mapping):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def _expand_name(template: str, environment: str | None, where: str) -> str:
    """``{environment}`` (or ``{env}``) filled in; any other or unset placeholder refused.

    Left to ``str.format``, an unset environment would silently name a group ``/svc/x-``.
    """
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigurationError(
            where, f"{template!r}: {exc}; write a literal brace as {{{{ or }}}}"
        ) from exc
    for placeholder in fields:
        if placeholder not in _PLACEHOLDERS:
            raise ConfigurationError(
                where,
                f"{template!r} uses {{{placeholder}}}; the only placeholders are "
                + " and ".join(f"{{{p}}}" for p in _PLACEHOLDERS),
            )
        if not environment:
            raise ConfigurationError(
                where,
                f"{template!r} uses {{{placeholder}}} but no environment is set; "
                'pass environment= (CLI: --env) or set environment = "..." in the file',
            )
    return template.format(environment=environment or "", env=environment or "")


def _namespace_for(group: str) -> str:
    # Metric names are the same in every group, so the namespace keeps groups apart.
    return "LogMetrics/" + group.strip("/")


def _alarm_specs(
    group: str, namespace: str, alarms: Mapping[str, Any], topic: str
) -> list[AlarmSpec]:
    out: list[AlarmSpec] = []
    common = {"AlarmActions": [topic], "TreatMissingData": "notBreaching", "EvaluationPeriods": 1}
    per_minute = alarms.get("error_count_per_minute")
    if per_minute is not None:
        name = f"{group} error-count"
        out.append(
            AlarmSpec(
                name,
                {
                    "AlarmName": name,
                    "AlarmDescription": f"more than {per_minute} errors per minute in {group}",
                    "Namespace": namespace,
                    "MetricName": "ErrorCount",
                    "Statistic": "Sum",
                    "Period": 60,
                    "Threshold": float(per_minute),
                    "ComparisonOperator": "GreaterThanThreshold",
                    **common,
                },
            )
        )
    percent = alarms.get("error_rate_5xx_percent")
    if percent is not None:
        name = f"{group} 5xx-rate"

        def stat(metric_id: str, metric: str) -> dict[str, Any]:
            return {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {"Namespace": namespace, "MetricName": metric},
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }

        out.append(
            AlarmSpec(
                name,
                {
                    "AlarmName": name,
                    "AlarmDescription": f"more than {percent}% of requests answered 5xx in {group}",
                    "Metrics": [
                        {
                            "Id": "rate",
                            "Expression": "100 * errors / requests",
                            "Label": "5xx rate (%)",
                            "ReturnData": True,
                        },
                        stat("errors", "Status5xxCount"),
                        stat("requests", "RequestCount"),
                    ],
                    "Threshold": float(percent),
                    "ComparisonOperator": "GreaterThanThreshold",
                    **common,
                },
            )
        )
    return out


def group_specs(config: Mapping[str, Any], environment: str | None) -> list[GroupSpec]:
    _check_keys("config", config, _TOP_KEYS)
    environments = config.get("environments") or {}
    known = sorted({*DEFAULT_ENVIRONMENTS, *environments})
    if environment is not None and environment not in known:
        raise ConfigurationError(
            "environment",
            f"{environment!r} is not one of {known} (built in: {sorted(DEFAULT_ENVIRONMENTS)})",
        )
    env_layer = dict(environments.get(environment, {})) if environment else {}
    _check_keys(f"environments.{environment}", env_layer, _SETTING_KEYS)
    base = _merge(
        DEFAULT_ENVIRONMENTS.get(environment or "", {}),
        {k: v for k, v in config.items() if k in _SETTING_KEYS},
        env_layer,
    )
    groups = config.get("groups")
    if groups is None and config.get("queries"):
        return []  # a file of saved queries only
    if not isinstance(groups, list) or not groups:
        raise ConfigurationError("groups", "list at least one group ([[groups]] name = ...)")
    specs: list[GroupSpec] = []
    for index, raw in enumerate(groups):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise ConfigurationError(f"groups[{index}]", "each group needs a name")
        _check_keys(f"groups[{index}]", raw, _GROUP_KEYS)
        merged = _merge(base, raw)
        name = _expand_name(str(merged["name"]), environment, f"groups[{index}].name")
        retention = merged.get("retention_days")
        if retention is not None:
            validate_retention(retention)
        namespace = str(merged.get("namespace") or _namespace_for(name))
        wanted: list[Any] = list(merged.get("metric_filters") or [])
        alarms = dict(merged.get("alarms") or {})
        _check_keys(f"{name}.alarms", alarms, _ALARM_KEYS)
        # An alarm is useless without the metric it watches, so alarms bring their filters.
        if alarms.get("error_count_per_minute") is not None:
            wanted.append("error_count")
        if alarms.get("error_rate_5xx_percent") is not None:
            wanted += ["5xx_count", "request_count"]
        filters: dict[str, MetricFilterSpec] = {}
        for item in wanted:
            spec = _filter_spec(name, namespace, item)
            filters.setdefault(spec.name, spec)
        alarm_specs: list[AlarmSpec] = []
        topic = alarms.get("sns_topic")
        if alarms.keys() - {"sns_topic"}:
            if not topic:
                raise ConfigurationError(f"{name}.alarms", "alarms need an sns_topic (name or ARN)")
            # The ARN is filled in once the topic is resolved; the name stands in until then.
            alarm_specs = _alarm_specs(name, namespace, alarms, str(topic))
        tags = merged.get("tags") or {}
        specs.append(
            GroupSpec(
                name=name,
                retention_days=retention,
                kms_key_id=merged.get("kms_key_id"),
                log_group_class=merged.get("log_group_class"),
                tags={str(k): str(v) for k, v in tags.items()},
                metric_filters=tuple(filters.values()),
                alarms=tuple(alarm_specs),
                sns_topic=str(topic) if alarm_specs else None,
            )
        )
    return specs


def query_specs(config: Mapping[str, Any], environment: str | None) -> list[QuerySpec]:
    raw = config.get("queries") or []
    if not isinstance(raw, list):
        raise ConfigurationError(
            "queries", "a list of tables ([[queries]] name = ..., query = ...)"
        )
    specs: list[QuerySpec] = []
    for index, item in enumerate(raw):
        where = f"queries[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigurationError(where, f"not a table: {item!r}")
        _check_keys(where, item, _QUERY_KEYS)
        name, query, groups = item.get("name"), item.get("query"), item.get("groups", [])
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"{where}.name", "each saved query needs a name")
        if not isinstance(query, str) or not query.strip():
            raise ConfigurationError(f"{where}.query", f"{name!r} needs a query string")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ConfigurationError(f"{where}.groups", "a list of log group names")
        specs.append(
            QuerySpec(
                name=_expand_name(name, environment, f"{where}.name"),
                query=query,
                groups=tuple(_expand_name(g, environment, f"{where}.groups") for g in groups),
            )
        )
    return specs


def _filter_spec(group: str, namespace: str, item: Any) -> MetricFilterSpec:
    if isinstance(item, str):
        make = _BUILTIN_FILTERS.get(item)
        if make is None:
            raise ConfigurationError(
                f"{group}.metric_filters",
                f"unknown built-in {item!r}; use one of {sorted(_BUILTIN_FILTERS)} or a table",
            )
        return make(namespace)
    if isinstance(item, Mapping):
        try:
            spec = MetricFilterSpec(
                name=str(item["name"]),
                pattern=str(item["pattern"]),
                metric_name=str(item["metric_name"]),
                namespace=str(item.get("namespace", namespace)),
                value=str(item.get("value", "1")),
                default_value=item.get("default_value"),
                unit=item.get("unit"),
                dimensions=item.get("dimensions"),
            )
        except KeyError as exc:
            raise ConfigurationError(
                f"{group}.metric_filters", f"a metric filter table needs {exc.args[0]!r}"
            ) from exc
        validate_pattern(spec.pattern)
        return spec
    raise ConfigurationError(f"{group}.metric_filters", f"not a filter: {item!r}")

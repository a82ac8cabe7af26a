"""Declarative provisioning: :func:`apply` makes an account match a description.

The description is read by :mod:`cwlogs.manage._config`; each difference becomes a
:class:`~cwlogs.manage._plan.Change` and, unless it is a dry run, the call that makes it.

>>> from pathlib import Path
>>> _ = Path("logs.toml").write_text('''
... tags = { team = "shop" }
... [[groups]]
... name = "/shop/{environment}/api"
... metric_filters = ["error_count"]
... ''')
>>> plan = apply("logs.toml", environment="staging")
>>> plan.changed
True
>>> apply("logs.toml", environment="staging").changed
False
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from cwlogs._aws.calls import call_api
from cwlogs._aws.client import resolve_client, sibling_client
from cwlogs.manage._config import (
    AlarmSpec,
    GroupSpec,
    QuerySpec,
    group_specs,
    load_config,
    query_specs,
)
from cwlogs.manage._filters import MetricFilterSpec, describe_metric_filters, put_metric_filter
from cwlogs.manage._groups import (
    create_log_group,
    describe_log_group,
    log_group_tags,
    set_retention,
    tag_log_group,
)
from cwlogs.manage._plan import Change, Plan, subset_equal
from cwlogs.manage._query_definitions import get_query_definition, put_query_definition

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


class _Provisioner:
    def __init__(
        self,
        plan: Plan,
        logs: CloudWatchLogsClient,
        cloudwatch: Any,
        sns: Any,
    ) -> None:
        self.plan = plan
        self.logs = logs
        self.cloudwatch = cloudwatch
        self.sns = sns
        self._topics: dict[str, str] = {}

    def change(
        self, action: Literal["create", "update", "drift"], kind: str, name: str, detail: str = ""
    ) -> None:
        self.plan.changes.append(Change(action, kind, name, detail))

    @property
    def live(self) -> bool:
        return not self.plan.dry_run

    def group(self, spec: GroupSpec) -> None:
        current = describe_log_group(spec.name, client=self.logs)
        if current is None:
            days = spec.retention_days
            parts = [f"retention {days} d" if days else "no retention"]
            if spec.kms_key_id:
                parts.append("KMS")
            if spec.tags:
                parts.append(f"{len(spec.tags)} tag(s)")
            self.change("create", "log group", spec.name, ", ".join(parts))
            if self.live:
                create_log_group(
                    spec.name,
                    tags=spec.tags,
                    kms_key_id=spec.kms_key_id,
                    log_group_class=spec.log_group_class,
                    retention_days=spec.retention_days,
                    client=self.logs,
                )
        else:
            self._existing_group(spec, current)
        for mf in spec.metric_filters:
            self.metric_filter(spec.name, mf, exists=current is not None)
        for alarm in spec.alarms:
            self.alarm(alarm, spec.sns_topic or "")

    def _existing_group(self, spec: GroupSpec, current: Mapping[str, Any]) -> None:
        have = current.get("retentionInDays")
        if spec.retention_days is not None and have != spec.retention_days:
            detail = f"{have or 'forever'} -> {spec.retention_days} d"
            self.change("update", "retention", spec.name, detail)
            if self.live:
                set_retention(spec.name, spec.retention_days, client=self.logs)
        else:
            self.plan.unchanged += 1
        if spec.kms_key_id and current.get("kmsKeyId") != spec.kms_key_id:
            self.change("update", "kms key", spec.name, f"-> {spec.kms_key_id}")
            if self.live:
                key = spec.kms_key_id
                call_api(
                    "AssociateKmsKey",
                    lambda: self.logs.associate_kms_key(logGroupName=spec.name, kmsKeyId=key),
                )
        have_class = current.get("logGroupClass")
        if spec.log_group_class and have_class and have_class != spec.log_group_class:
            self.change(
                "drift",
                "log group class",
                spec.name,
                f"is {have_class}, wanted {spec.log_group_class}; the class is fixed at creation",
            )
        if spec.tags:
            tags = log_group_tags(spec.name, client=self.logs)
            missing = {k: v for k, v in spec.tags.items() if tags.get(k) != v}
            if missing:
                detail = ", ".join(f"{k}={v}" for k, v in missing.items())
                self.change("update", "tags", spec.name, detail)
                if self.live:
                    tag_log_group(spec.name, missing, client=self.logs)
            else:
                self.plan.unchanged += 1

    def metric_filter(self, group: str, spec: MetricFilterSpec, *, exists: bool) -> None:
        current = None
        if exists:
            current = next(
                (
                    f
                    for f in describe_metric_filters(group, prefix=spec.name, client=self.logs)
                    if f.get("filterName") == spec.name
                ),
                None,
            )
        if current is None:
            self.change("create", "metric filter", f"{group}:{spec.name}", spec.pattern)
        elif current.get("filterPattern") != spec.pattern or not subset_equal(
            [spec.transformation()], current.get("metricTransformations")
        ):
            self.change("update", "metric filter", f"{group}:{spec.name}", spec.pattern)
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            put_metric_filter(group, spec, client=self.logs)

    def query(self, spec: QuerySpec) -> None:
        current = get_query_definition(spec.name, client=self.logs)
        detail = f"{len(spec.groups)} log group(s)" if spec.groups else "no default log groups"
        if current is None:
            self.change("create", "saved query", spec.name, detail)
        elif current.get("queryString") != spec.query or sorted(
            current.get("logGroupNames") or []
        ) != sorted(spec.groups):
            self.change("update", "saved query", spec.name, detail)
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            put_query_definition(
                spec.name,
                spec.query,
                groups=spec.groups,
                definition_id=current.get("queryDefinitionId") if current else None,
                client=self.logs,
            )

    def topic_arn(self, topic: str) -> str:
        if topic.startswith("arn:"):
            return topic
        if topic in self._topics:
            return self._topics[topic]
        arn = self._find_topic(topic)
        if arn is None:
            self.change("create", "sns topic", topic)
            if self.live:
                arn = str(
                    call_api("CreateTopic", lambda: self.sns.create_topic(Name=topic))["TopicArn"]
                )
            else:
                arn = f"arn:aws:sns:{self.logs.meta.region_name}:<account>:{topic}"
        self._topics[topic] = arn
        return arn

    def _find_topic(self, name: str) -> str | None:
        kwargs: dict[str, Any] = {}
        while True:
            page = call_api("ListTopics", lambda: self.sns.list_topics(**kwargs))
            for entry in page.get("Topics", []):
                arn = str(entry.get("TopicArn", ""))
                if arn.rsplit(":", 1)[-1] == name:
                    return arn
            token = page.get("NextToken")
            if not token:
                return None
            kwargs["NextToken"] = token

    def alarm(self, spec: AlarmSpec, topic: str) -> None:
        params = {**spec.params, "AlarmActions": [self.topic_arn(topic)]}
        found = call_api(
            "DescribeAlarms", lambda: self.cloudwatch.describe_alarms(AlarmNames=[spec.name])
        ).get("MetricAlarms", [])
        if not found:
            self.change("create", "alarm", spec.name, str(params.get("AlarmDescription", "")))
        elif not subset_equal(params, found[0]):
            self.change("update", "alarm", spec.name, str(params.get("AlarmDescription", "")))
        else:
            self.plan.unchanged += 1
            return
        if self.live:
            call_api("PutMetricAlarm", lambda: self.cloudwatch.put_metric_alarm(**params))


def apply(
    config: str | os.PathLike[str] | Mapping[str, Any],
    *,
    environment: str | None = None,
    dry_run: bool = False,
    client: CloudWatchLogsClient | None = None,
    cloudwatch_client: Any = None,
    sns_client: Any = None,
) -> Plan:
    """Make the account match ``config`` (a dict or a TOML/JSON/YAML path); report what changed.

    Idempotent: a second run with the same config returns a plan with no changes. Groups
    and tags not in the config are left alone. ``dry_run`` changes nothing. Nothing is
    printed: ``str(plan)`` is the plan of a dry run or the confirmation of a real one.
    See the README for the configuration format.

    >>> config = {
    ...     "tags": {"team": "shop"},
    ...     "groups": [{"name": "/shop/{environment}/api", "metric_filters": ["error_count"]}],
    ... }
    >>> print(apply(config, environment="staging", dry_run=True))
    cwlogs plan (staging) [dry run: nothing was changed]
      + create log group /shop/staging/api: retention 30 d, 1 tag(s)
      + create metric filter /shop/staging/api:error-count: { $.level = "error" }
      2 to change, 0 unchanged
    >>> plan = apply(config, environment="staging")
    >>> plan.changed, plan.pending
    (True, 2)
    >>> print(apply(config, environment="staging"))
    cwlogs applied (staging)
      nothing to change; 3 already matched
    """
    loaded = load_config(config)
    env = environment or loaded.get("environment")
    specs = group_specs(loaded, env)
    queries = query_specs(loaded, env)
    logs = resolve_client(client)
    needs_alarms = any(spec.alarms for spec in specs)
    cloudwatch = cloudwatch_client
    sns = sns_client
    if needs_alarms:
        cloudwatch = cloudwatch or sibling_client(logs, "cloudwatch")
        sns = sns or sibling_client(logs, "sns")
    plan = Plan(environment=env, dry_run=dry_run)
    provisioner = _Provisioner(plan, logs, cloudwatch, sns)
    for spec in specs:
        provisioner.group(spec)
    for query in queries:
        provisioner.query(query)
    return plan

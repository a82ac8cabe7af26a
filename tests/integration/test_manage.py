"""Management and declarative provisioning against a real endpoint (moto behind the proxy)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from cwlogs._shipping.limits import RETENTION_DAYS
from cwlogs.errors import (
    ConfigurationError,
    InvalidParameterError,
    ResourceAlreadyExistsError,
    ResourceNotFoundError,
)
from cwlogs.filterpattern import FilterPatternError
from cwlogs.manage import (
    MetricFilterSpec,
    apply,
    create_log_group,
    create_log_stream,
    delete_log_group,
    delete_log_stream,
    delete_metric_filter,
    delete_subscription_filter,
    describe_log_group,
    describe_metric_filters,
    describe_subscription_filters,
    ensure_log_stream,
    error_count_filter,
    get_retention,
    list_log_groups,
    list_log_streams,
    log_group_exists,
    log_group_tags,
    put_metric_filter,
    put_subscription_filter,
    remove_retention,
    request_count_filter,
    set_retention,
    status_5xx_filter,
)

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0b1f4b1c-1111-2222-3333-444455556666"


@pytest.fixture(scope="module")
def cloudwatch(endpoint: Any) -> Any:
    return boto3.client("cloudwatch", endpoint_url=endpoint.url, region_name="us-east-1")


class TestLogGroups:
    def test_create_with_tags_kms_and_class(self, logs: Any, group: str) -> None:
        """The group exists afterwards with its KMS key and tags."""
        created = create_log_group(
            group,
            tags={"team": "shop"},
            kms_key_id=KMS_KEY,
            log_group_class="STANDARD",
            client=logs,
        )
        found = describe_log_group(group, client=logs)
        assert (True, KMS_KEY, {"team": "shop"}) == (
            created,
            found and found.get("kmsKeyId"),
            log_group_tags(group, client=logs),
        )

    def test_creating_twice_raises_unless_exist_ok(self, logs: Any, group: str) -> None:
        """A second create raises ResourceAlreadyExistsError; exist_ok returns False instead."""
        create_log_group(group, client=logs)
        with pytest.raises(ResourceAlreadyExistsError):
            create_log_group(group, client=logs)
        assert create_log_group(group, exist_ok=True, client=logs) is False

    def test_delete_and_exists(self, logs: Any, group: str) -> None:
        """A deleted group no longer exists; deleting it again needs missing_ok."""
        create_log_group(group, client=logs)
        assert log_group_exists(group, client=logs)
        delete_log_group(group, client=logs)
        with pytest.raises(ResourceNotFoundError):
            delete_log_group(group, client=logs)
        assert (False, False) == (
            log_group_exists(group, client=logs),
            delete_log_group(group, missing_ok=True, client=logs),
        )

    def test_exists_needs_the_exact_name(self, logs: Any, group: str) -> None:
        """A group whose name merely starts with the one asked for does not count."""
        create_log_group(f"{group}-longer", client=logs)
        assert log_group_exists(group, client=logs) is False

    def test_list_with_prefix_reads_every_page(self, logs: Any, group: str) -> None:
        """Five groups at two per page are all listed, and only those under the prefix."""
        names = [f"{group}/{i}" for i in range(5)]
        for name in names:
            create_log_group(name, client=logs)
        listed = [g["logGroupName"] for g in list_log_groups(f"{group}/", page_size=2, client=logs)]
        assert names == listed


class TestLogStreams:
    def test_create_list_delete(self, logs: Any, group: str) -> None:
        """Streams are created, listed across pages by prefix, and deleted."""
        create_log_group(group, client=logs)
        for name in ("web-1", "web-2", "web-3", "worker-1"):
            create_log_stream(group, name, client=logs)
        delete_log_stream(group, "web-2", client=logs)
        listed = [
            s["logStreamName"] for s in list_log_streams(group, "web", page_size=1, client=logs)
        ]
        assert ["web-1", "web-3"] == listed

    def test_ensure_creates_group_and_stream_once(self, logs: Any, group: str) -> None:
        """ensure_log_stream creates what is missing, and is a no-op the second time."""
        first = ensure_log_stream(group, "replay", client=logs)
        second = ensure_log_stream(group, "replay", client=logs)
        assert (True, False, ["replay"]) == (
            first,
            second,
            [s["logStreamName"] for s in list_log_streams(group, client=logs)],
        )


class TestRetention:
    def test_round_trip(self, logs: Any, group: str) -> None:
        """Set, read back, remove: the group keeps events forever again."""
        create_log_group(group, client=logs)
        set_retention(group, 30, client=logs)
        kept = get_retention(group, client=logs)
        remove_retention(group, client=logs)
        assert (30, None) == (kept, get_retention(group, client=logs))

    def test_invalid_value_is_rejected_with_the_valid_ones(self, logs: Any, group: str) -> None:
        """45 days is refused before the call (moto would accept it), naming 1 .. 3653."""
        create_log_group(group, retention_days=14, client=logs)
        with pytest.raises(InvalidParameterError) as info:
            set_retention(group, 45, client=logs)
        assert (True, 14) == (
            ", ".join(str(d) for d in RETENTION_DAYS) in str(info.value),
            get_retention(group, client=logs),
        )

    def test_invalid_retention_on_create_leaves_nothing_behind(self, logs: Any, group: str) -> None:
        """A bad retention on create fails before the group is made."""
        with pytest.raises(InvalidParameterError):
            create_log_group(group, retention_days=10, client=logs)
        assert log_group_exists(group, client=logs) is False


class TestMetricFilters:
    def test_round_trip_of_the_standard_alert_filters(self, logs: Any, group: str) -> None:
        """The error, 5xx and request filters are stored as given, and deleted again."""
        create_log_group(group, client=logs)
        specs = [
            error_count_filter("Shop"),
            status_5xx_filter("Shop"),
            request_count_filter("Shop"),
        ]
        for spec in specs:
            put_metric_filter(group, spec, client=logs)
        stored = {f["filterName"]: f for f in describe_metric_filters(group, client=logs)}
        delete_metric_filter(group, "5xx-count", client=logs)
        remaining = [f["filterName"] for f in describe_metric_filters(group, client=logs)]
        assert (
            {
                "error-count": ('{ $.level = "error" }', "ErrorCount"),
                "5xx-count": ("{ $.status >= 500 }", "Status5xxCount"),
                "request-count": ("{ $.status > 0 }", "RequestCount"),
            },
            ["error-count", "request-count"],
        ) == (
            {
                name: (f["filterPattern"], f["metricTransformations"][0]["metricName"])
                for name, f in stored.items()
            },
            sorted(remaining),
        )

    def test_malformed_pattern_is_refused_locally(self, logs: Any, group: str) -> None:
        """moto stores any pattern; cwlogs refuses one AWS would refuse."""
        create_log_group(group, client=logs)
        with pytest.raises(FilterPatternError):
            put_metric_filter(group, MetricFilterSpec("bad", "{ $.level = ", "M", "N"), client=logs)
        assert [] == describe_metric_filters(group, client=logs)


class TestSubscriptionFilters:
    def test_round_trip_to_a_kinesis_stream(self, logs: Any, endpoint: Any, group: str) -> None:
        """A subscription to a (moto) Kinesis stream is stored, described and deleted."""
        kinesis = boto3.client("kinesis", endpoint_url=endpoint.url, region_name="us-east-1")
        name = group.replace("/", "-").strip("-")[-60:]
        kinesis.create_stream(StreamName=name, ShardCount=1)
        arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
        role = "arn:aws:iam::123456789012:role/cwl-to-kinesis"
        create_log_group(group, client=logs)
        put_subscription_filter(group, "errors", "ERROR", arn, role_arn=role, client=logs)
        stored = describe_subscription_filters(group, client=logs)
        delete_subscription_filter(group, "errors", client=logs)
        assert ([("errors", "ERROR", arn)], []) == (
            [(f["filterName"], f["filterPattern"], f["destinationArn"]) for f in stored],
            describe_subscription_filters(group, client=logs),
        )


def _config(group: str, **top: Any) -> dict[str, Any]:
    return {
        "environment": "staging",
        "tags": {"team": "shop"},
        "environments": {
            "staging": {},
            "production": {"kms_key_id": KMS_KEY, "tags": {"tier": "critical"}},
        },
        "alarms": {
            "sns_topic": group.replace("/", "-").strip("-")[-200:],
            "error_count_per_minute": 10,
            "error_rate_5xx_percent": 5,
        },
        "groups": [
            {"name": f"{group}/{{environment}}/api", "metric_filters": ["error_count"]},
            {"name": f"{group}/{{environment}}/worker", "retention_days": 7},
        ],
        **top,
    }


class TestApply:
    def test_second_run_changes_nothing(self, logs: Any, cloudwatch: Any, group: str) -> None:
        """The same config applied twice: the first run creates, the second changes nothing."""
        first = apply(_config(group), client=logs, cloudwatch_client=cloudwatch)
        second = apply(_config(group), client=logs, cloudwatch_client=cloudwatch)
        assert (True, False, []) == (first.changed, second.changed, second.changes)

    def test_staging_gets_30_days_production_90_with_kms(self, logs: Any, group: str) -> None:
        """Environment defaults apply: 30 days staging, 90 days plus KMS in production."""
        apply(_config(group, alarms={}), client=logs)
        apply(_config(group, alarms={}), environment="production", client=logs)
        staging = describe_log_group(f"{group}/staging/api", client=logs) or {}
        production = describe_log_group(f"{group}/production/api", client=logs) or {}
        assert (30, 90, KMS_KEY, 7) == (
            staging.get("retentionInDays"),
            production.get("retentionInDays"),
            production.get("kmsKeyId"),
            get_retention(f"{group}/production/worker", client=logs),
        )

    def test_alarms_watch_the_filters_and_notify_sns(
        self, logs: Any, cloudwatch: Any, group: str
    ) -> None:
        """Error-count and 5xx-rate alarms exist, with their thresholds and the SNS action."""
        apply(_config(group), client=logs)
        api = f"{group}/staging/api"
        alarms = cloudwatch.describe_alarms(AlarmNamePrefix=api)["MetricAlarms"]
        filters = sorted(f["filterName"] for f in describe_metric_filters(api, client=logs))
        by_name = {a["AlarmName"]: a for a in alarms}
        errors, rate = by_name[f"{api} error-count"], by_name[f"{api} 5xx-rate"]
        assert (
            ["5xx-count", "error-count", "request-count"],
            (10.0, "ErrorCount", 60),
            (5.0, "100 * errors / requests"),
            True,
        ) == (
            filters,
            (errors["Threshold"], errors["MetricName"], errors["Period"]),
            (rate["Threshold"], rate["Metrics"][0]["Expression"]),
            errors["AlarmActions"][0].startswith("arn:aws:sns:"),
        )

    def test_drift_is_reported_and_repaired(self, logs: Any, group: str) -> None:
        """A retention changed by hand is put back, and the plan says so."""
        config = _config(group, alarms={})
        apply(config, client=logs)
        set_retention(f"{group}/staging/api", 1, client=logs)
        plan = apply(config, client=logs)
        assert (
            [("update", "retention", f"{group}/staging/api")],
            30,
        ) == (
            [(c.action, c.kind, c.name) for c in plan.changes],
            get_retention(f"{group}/staging/api", client=logs),
        )

    def test_dry_run_plans_and_changes_nothing(
        self, logs: Any, group: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A dry run reports what it would create, creates nothing and prints nothing."""
        plan = apply(_config(group, alarms={}), dry_run=True, client=logs)
        assert (True, True, False, "") == (
            plan.changed,
            f"+ create log group {group}/staging/api" in str(plan),
            log_group_exists(f"{group}/staging/api", client=logs),
            capsys.readouterr().out,
        )

    def test_real_run_confirms_what_it_applied(self, logs: Any, group: str) -> None:
        """A real run's report says it applied the changes; a dry run's says nothing changed."""
        config = {"groups": [{"name": group, "retention_days": 7}]}
        dry = str(apply(config, dry_run=True, client=logs)).splitlines()
        real = str(apply(config, client=logs)).splitlines()
        again = str(apply(config, client=logs)).splitlines()
        assert (
            (
                "cwlogs plan (no environment) [dry run: nothing was changed]",
                "1 to change, 0 unchanged",
            ),
            ("cwlogs applied (no environment)", "applied 1 change(s); 0 already matched"),
            "nothing to change; 1 already matched",
        ) == ((dry[0], dry[-1].strip()), (real[0], real[-1].strip()), again[-1].strip())

    def test_built_in_environment_needs_no_section(self, logs: Any, group: str) -> None:
        """`production` is built in: usable when the file defines only `[environments.staging]`."""
        config = {
            "environments": {"staging": {"retention_days": 14}},
            "groups": [{"name": f"{group}/{{environment}}/api"}],
        }
        apply(config, environment="production", client=logs)
        assert get_retention(f"{group}/production/api", client=logs) == 90

    def test_unknown_environment_lists_the_known_ones(self, logs: Any, group: str) -> None:
        """An environment neither built in nor defined is refused, naming both kinds."""
        config = {"environments": {"qa": {}}, "groups": [{"name": group}]}
        with pytest.raises(ConfigurationError, match=r"'prod' is not one of \['production', 'qa'"):
            apply(config, environment="prod", client=logs)

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("{group}/x-{{environment}}", "uses {environment} but no environment is set"),
            ("{group}/{{env}}", "uses {env} but no environment is set"),
            ("{group}/{{region}}", "uses {region}; the only placeholders are"),
            ("{group}/{{environment", "write a literal brace"),
        ],
        ids=["unset-environment", "unset-env", "unknown", "unbalanced"],
    )
    def test_unfilled_placeholder_is_refused(
        self, logs: Any, group: str, name: str, message: str
    ) -> None:
        """A name whose placeholder cannot be filled is an error naming it; nothing is created."""
        with pytest.raises(ConfigurationError, match=re.escape(message)):
            apply({"groups": [{"name": name.format(group=group)}]}, client=logs)
        assert list(list_log_groups(group, client=logs)) == []

    def test_toml_file(self, logs: Any, group: str, tmp_path: Path) -> None:
        """A TOML description is applied like a dict."""
        path = tmp_path / "logs.toml"
        path.write_text(
            f'environment = "production"\n'
            f"[[groups]]\n"
            f'name = "{group}/{{environment}}/api"\n'
            f'metric_filters = ["5xx_count"]\n'
            f'tags = {{ owner = "ops" }}\n'
        )
        apply(path, client=logs)
        name = f"{group}/production/api"
        assert (90, {"owner": "ops"}, ["5xx-count"]) == (
            get_retention(name, client=logs),
            log_group_tags(name, client=logs),
            [f["filterName"] for f in describe_metric_filters(name, client=logs)],
        )

    def test_bad_config_fails_before_any_change(self, logs: Any, group: str) -> None:
        """An invalid retention anywhere in the config stops apply before it touches AWS."""
        config = _config(group, alarms={})
        config["groups"][1]["retention_days"] = 45
        with pytest.raises(InvalidParameterError, match="valid values"):
            apply(config, client=logs)
        assert log_group_exists(f"{group}/staging/api", client=logs) is False

    def test_unknown_keys_are_named(self, logs: Any, group: str) -> None:
        """A typo in the config is reported with the allowed keys."""
        with pytest.raises(ConfigurationError, match="retention_dayz"):
            apply({"groups": [{"name": group, "retention_dayz": 30}]}, client=logs)

"""Least-privilege IAM policies for the three ways cwlogs uses CloudWatch Logs.

* ``writer``: what :class:`cwlogs.CloudWatchHandler` calls (PutLogEvents; CreateLogStream,
  CreateLogGroup and PutRetentionPolicy only when the handler is allowed to create them);
* ``reader``: what ``tail``, ``search``, ``query``, ``trace`` and the query functions call;
* ``apply``: what :func:`cwlogs.manage.apply` calls.

Each policy is scoped to the log groups given (names or ``*``/``?`` patterns). Where IAM
evaluates an action is taken from the Service Authorization Reference ("Actions,
resources, and condition keys for Amazon CloudWatch Logs"): some actions name a log
group, some a log stream, and some (DescribeLogGroups, StopQuery, the query-definition
actions) support no resource-level permission and need ``"Resource": "*"``.

>>> policy = policy_for("writer", ["/shop/prod/api"], region="eu-west-1", account="123456789012")
>>> allows(policy, "logs:PutLogEvents",
...        "arn:aws:logs:eu-west-1:123456789012:log-group:/shop/prod/api:log-stream:web-1")
True
>>> allows(policy, "logs:PutLogEvents",
...        "arn:aws:logs:eu-west-1:123456789012:log-group:/shop/prod/db:log-stream:web-1")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, Literal

from cwlogs.errors import ConfigurationError

__all__ = [
    "RESOURCE_KIND",
    "ROLES",
    "allows",
    "group_arns",
    "partition_for",
    "policy_for",
    "resource_arn",
    "role_actions",
]

Role = Literal["writer", "reader", "apply"]
Kind = Literal["group", "stream", "account"]

ROLES: Final[tuple[Role, ...]] = ("writer", "reader", "apply")

#: Which resource IAM checks for each CloudWatch Logs action cwlogs uses.
RESOURCE_KIND: Final[Mapping[str, Kind]] = {
    # log-group ARN
    "AssociateKmsKey": "group",
    "CreateLogGroup": "group",
    "DescribeLogStreams": "group",
    "DescribeMetricFilters": "group",
    "FilterLogEvents": "group",
    "GetQueryResults": "group",
    "ListTagsForResource": "group",
    "PutMetricFilter": "group",
    "PutRetentionPolicy": "group",
    "StartLiveTail": "group",
    "StartQuery": "group",
    "TagLogGroup": "group",
    "TagResource": "group",
    # log-stream ARN
    "CreateLogStream": "stream",
    "GetLogEvents": "stream",
    "PutLogEvents": "stream",
    # no resource-level permission: "*"
    "DescribeLogGroups": "account",
    "DescribeQueryDefinitions": "account",
    "PutQueryDefinition": "account",
    "StopQuery": "account",
}

_READER: Final = (
    "DescribeLogGroups",  # resolving names, prefixes and wildcards; `groups`
    "DescribeLogStreams",  # `streams`, last event times
    "FilterLogEvents",  # tail, search, trace
    "GetLogEvents",  # reading one stream
    "StartLiveTail",  # tail -f
    "StartQuery",  # query, trace, statistics
    "GetQueryResults",
    "StopQuery",  # a query interrupted or timed out
    "DescribeQueryDefinitions",  # query --saved NAME from the account
)
_APPLY: Final = (
    "DescribeLogGroups",
    "CreateLogGroup",
    "TagLogGroup",  # CreateLogGroup with tags authorizes both tagging actions
    "TagResource",
    "ListTagsForResource",
    "PutRetentionPolicy",
    "DescribeMetricFilters",
    "PutMetricFilter",
    "DescribeQueryDefinitions",
    "PutQueryDefinition",
)
_GROUP_NAME: Final = re.compile(r"[A-Za-z0-9._/#*?-]{1,512}")
_ACCOUNT: Final = re.compile(r"\d{12}|\*")


def role_actions(
    role: Role,
    *,
    create_group: bool = True,
    create_stream: bool = True,
    retention: bool = False,
    tags: bool = False,
    kms: bool = False,
) -> tuple[str, ...]:
    """The CloudWatch Logs API actions ``role`` calls (without the ``logs:`` prefix).

    The keyword arguments describe the writer's handler (``create_log_group``,
    ``create_log_stream``, ``retention_days``, ``log_group_tags``) and whether ``apply``
    sets KMS keys; a writer that creates nothing needs only PutLogEvents.

    >>> role_actions("writer", create_group=False, create_stream=False)
    ('PutLogEvents',)
    """
    if role == "writer":
        actions = ["PutLogEvents"]
        if create_stream:
            actions.append("CreateLogStream")
        if create_group:
            actions.append("CreateLogGroup")
            if retention:
                actions.append("PutRetentionPolicy")
            if tags:
                actions += ["TagLogGroup", "TagResource"]
        return tuple(actions)
    if role == "reader":
        return _READER
    if role == "apply":
        return (*_APPLY, "AssociateKmsKey") if kms else _APPLY
    raise ConfigurationError("role", f"{role!r} is not one of {list(ROLES)}")


def partition_for(region: str) -> str:
    """The ARN partition of ``region`` (``aws`` unless it is a China or GovCloud region)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def group_arns(
    groups: Iterable[str], *, region: str = "*", account: str = "*", streams: bool = False
) -> list[str]:
    """Log-group ARNs (or, with ``streams``, the ARNs of all their streams) for IAM.

    A trailing ``/`` means every group under the prefix; ``*`` and ``?`` are IAM
    wildcards. A group's ARN is given twice: bare (the Service Authorization Reference's
    form, which the tagging actions need) and with ``:*`` (the form DescribeLogGroups
    returns, which AWS says most log-group actions are checked against).

    >>> group_arns(["/shop/prod/"], region="eu-west-1", account="123456789012")
    ['arn:aws:logs:eu-west-1:123456789012:log-group:/shop/prod/*', \
'arn:aws:logs:eu-west-1:123456789012:log-group:/shop/prod/*:*']
    """
    if not _ACCOUNT.fullmatch(account):
        raise ConfigurationError("account", f"{account!r} is not a 12-digit account ID or *")
    if region != "*" and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise ConfigurationError("region", f"{region!r} is not a region name (e.g. eu-west-1)")
    prefix = f"arn:{partition_for(region)}:logs:{region}:{account}:log-group:"
    out: list[str] = []
    for group in groups:
        name = group + "*" if group.endswith("/") else group
        if not _GROUP_NAME.fullmatch(name):
            raise ConfigurationError(
                "groups",
                f"{group!r}: IAM patterns take log group names with * and ? only "
                "(letters, digits, . _ / # -; no [...] classes)",
            )
        arns = [f"{prefix}{name}:log-stream:*"] if streams else [prefix + name, f"{prefix}{name}:*"]
        out += [arn for arn in arns if arn not in out]
    return out


def policy_for(
    role: Role,
    groups: Sequence[str],
    *,
    region: str = "*",
    account: str = "*",
    create_group: bool = True,
    create_stream: bool = True,
    retention: bool = False,
    tags: bool = False,
    kms: bool = False,
) -> dict[str, Any]:
    """An IAM policy document allowing ``role`` exactly what it needs on ``groups``.

    Actions that IAM checks against a log group, a log stream or nothing at all go into
    separate statements (``LogGroups``, ``LogStreams``, ``AccountWide``).

    >>> [s["Sid"] for s in policy_for("reader", ["/shop/*"])["Statement"]]
    ['LogGroups', 'LogStreams', 'AccountWide']
    """
    if isinstance(groups, str):
        raise ConfigurationError("groups", f"a list of log group names, not the string {groups!r}")
    if not groups:
        raise ConfigurationError("groups", "name at least one log group or pattern (or '*')")
    actions = role_actions(
        role,
        create_group=create_group,
        create_stream=create_stream,
        retention=retention,
        tags=tags,
        kms=kms,
    )
    by_kind: dict[Kind, list[str]] = {"group": [], "stream": [], "account": []}
    for action in actions:
        by_kind[RESOURCE_KIND[action]].append(f"logs:{action}")
    resources: dict[Kind, list[str]] = {
        "group": group_arns(groups, region=region, account=account),
        "stream": group_arns(groups, region=region, account=account, streams=True),
        "account": ["*"],
    }
    sids: dict[Kind, str] = {"group": "LogGroups", "stream": "LogStreams", "account": "AccountWide"}
    statements = [
        {
            "Sid": sids[kind],
            "Effect": "Allow",
            "Action": sorted(names),
            "Resource": resources[kind],
        }
        for kind, names in by_kind.items()
        if names
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def resource_arn(
    action: str, group: str | None, stream: str | None = None, *, region: str, account: str
) -> str:
    """The resource IAM checks when ``action`` is called on ``group``/``stream`` (``*`` if none).

    >>> resource_arn("DescribeLogGroups", None, region="eu-west-1", account="123456789012")
    '*'
    """
    kind = RESOURCE_KIND.get(action.removeprefix("logs:"))
    if kind is None:
        raise KeyError(f"{action}: not an action cwlogs calls")
    if kind == "account":
        return "*"
    base = f"arn:{partition_for(region)}:logs:{region}:{account}:log-group:{group}"
    return f"{base}:log-stream:{stream}" if kind == "stream" else base


def allows(policy: Mapping[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement of ``policy`` grants ``action`` on ``resource``.

    A small evaluator for tests: Allow statements with ``Action``/``Resource`` and the
    ``*``/``?`` wildcards (actions case-insensitive); no Deny, ``NotAction`` or conditions.
    """
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if any(_wildcard(a, True).fullmatch(action) for a in actions) and any(
            _wildcard(r, False).fullmatch(resource) for r in resources
        ):
            return True
    return False


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


@lru_cache(maxsize=256)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL)

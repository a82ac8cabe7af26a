"""Which log groups a read means: prefixes and wildcards expanded, close names suggested.

>>> is_glob("/aws/lambda/*-prod"), is_glob("/shop/prod/")
(True, False)
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, Final

from cwlogs._aws.client import resolve_client
from cwlogs.errors import CwlogsError, ResourceNotFoundError
from cwlogs.manage import list_log_groups
from cwlogs.query._args import group_specs

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_GLOB_CHARS: Final = "*?["


def is_glob(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def _literal_prefix(spec: str) -> str:
    """The part of a wildcard before its first ``*``, ``?`` or ``[``."""
    return re.split(r"[*?\[]", spec, maxsplit=1)[0]


def find_log_groups(
    spec: str | None = None, *, client: CloudWatchLogsClient | None = None
) -> Iterator[dict[str, Any]]:
    """DescribeLogGroups entries whose names start with ``spec``, or match it as a wildcard.

    The service filters by prefix only, so a wildcard (``/aws/lambda/*-prod``) is listed
    from its literal part and matched here with :func:`fnmatch.fnmatchcase`.

    >>> from cwlogs.manage import create_log_group
    >>> for name in ("/aws/lambda/checkout-prod", "/aws/lambda/checkout-dev"):
    ...     _ = create_log_group(name)
    >>> [g["logGroupName"] for g in find_log_groups("/aws/lambda/*-prod")]
    ['/aws/lambda/checkout-prod']
    """
    if not spec or not is_glob(spec):
        return list_log_groups(spec or None, client=client)
    literal = _literal_prefix(spec)
    return (
        g
        for g in list_log_groups(literal or None, client=client)
        if fnmatch.fnmatchcase(str(g["logGroupName"]), spec)
    )


def suggest_groups(
    name: str, *, n: int = 3, client: CloudWatchLogsClient | None = None
) -> list[str]:
    """Existing group names close to ``name`` (a typo, a missing segment), best first.

    Looks among the siblings first, then under the top-level segment, then everywhere
    (at most 2,000 names each).

    >>> from cwlogs.manage import create_log_group
    >>> for name in ("/shop/prod/api", "/shop/prod/worker", "/billing/prod/api"):
    ...     _ = create_log_group(name)
    >>> suggest_groups("/shop/prod/apii")
    ['/shop/prod/api', '/shop/prod/worker']
    """
    stem = _literal_prefix(name)
    parent = stem.rsplit("/", 1)[0] + "/" if "/" in stem.strip("/") else None
    top = "/" + stem.strip("/").split("/", 1)[0] if stem.startswith("/") else None
    c = resolve_client(client)
    for prefix in dict.fromkeys((parent, top, None)):
        candidates = [
            str(g["logGroupName"]) for g in islice(list_log_groups(prefix, client=c), 2000)
        ]
        found = difflib.get_close_matches(stem, candidates, n=n, cutoff=0.6)
        if found:
            return found
    return []


def not_found_error(
    name: str, *, what: str = "log group", client: CloudWatchLogsClient | None = None
) -> ResourceNotFoundError:
    """A :class:`~cwlogs.errors.ResourceNotFoundError` for ``name`` naming close matches.

    >>> from cwlogs.manage import create_log_group
    >>> create_log_group("/shop/api")
    True
    >>> raise not_found_error("/shop/apii")
    Traceback (most recent call last):
    cwlogs.errors.ResourceNotFoundError: log group '/shop/apii' not found; did you mean /shop/api?
    """
    message = f"{what} {name!r} not found"
    try:
        close = suggest_groups(name, client=client)
    except CwlogsError:
        close = []
    if close:
        message += "; did you mean " + ", ".join(close) + "?"
    return ResourceNotFoundError(message, code="ResourceNotFoundException")


def expand_groups(
    specs: str | Iterable[str], *, client: CloudWatchLogsClient | None = None
) -> list[str]:
    """Distinct group names for exact names, name prefixes and wildcards, in the order given.

    An exact name means that group alone, even when it is also a prefix of others. A spec
    that matches nothing raises :class:`~cwlogs.errors.ResourceNotFoundError` naming the
    closest existing groups (:func:`suggest_groups`).

    >>> from cwlogs.manage import create_log_group
    >>> for name in ("/shop/prod/api", "/shop/prod/worker", "/aws/lambda/checkout-prod"):
    ...     _ = create_log_group(name)
    >>> expand_groups(["/shop/prod/", "/aws/lambda/*-prod"])
    ['/shop/prod/api', '/shop/prod/worker', '/aws/lambda/checkout-prod']
    """
    given = group_specs(specs, "expand_groups")
    c = resolve_client(client)
    out: dict[str, None] = {}
    for spec in given:
        names = [str(g["logGroupName"]) for g in find_log_groups(spec, client=c)]
        if not names:
            raise not_found_error(spec, client=c)
        out.update(dict.fromkeys([spec] if spec in names else names))
    return list(out)


def expand_sources(
    wanted: Mapping[str, str | None], client: CloudWatchLogsClient
) -> dict[str, str | None]:
    """Wildcards (``/aws/lambda/*``) and prefixes ending in ``/`` become the groups they match.

    Any other name is read as an exact group name (one call fewer); a name that does not
    exist raises a not-found error naming it and close names.
    """
    out: dict[str, str | None] = {}
    for spec, prefix in wanted.items():
        expand = is_glob(spec) or spec.endswith("/")
        names = expand_groups(spec, client=client) if expand else [spec]
        for name in names:
            if name not in out or prefix is None:
                out[name] = prefix
    return out

"""One AWS call, mapped and retried: :func:`call_api`, and :func:`paginate` over it.

Errors become the :mod:`cwlogs.errors` tree (by :mod:`cwlogs._aws.awserrors`) and are
retried in the one loop the sender uses too (:func:`cwlogs._aws.retry.call_with_retries`).

>>> call_api("Answer", lambda: 42)
42
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from cwlogs._aws.awserrors import map_exception
from cwlogs._aws.retry import call_with_retries
from cwlogs.errors import CwlogsError

_T = TypeVar("_T")


@contextmanager
def _mapped(operation: str) -> Iterator[None]:
    try:
        yield
    except CwlogsError:
        raise
    except Exception as exc:
        raise map_exception(exc, operation) from exc


def call_api(
    operation: str,
    call: Callable[[], _T],
    *,
    retry: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> _T:
    """Run one AWS call, mapping errors to the taxonomy and retrying per
    :func:`cwlogs._aws.retry.policy_for` in the one retry loop the sender uses too.

    botocore's retries are off in :func:`cwlogs._aws.client.make_client`, so this is the
    only retry layer.

    >>> from cwlogs.client import make_client
    >>> client = make_client()
    >>> call_api("DescribeLogGroups", lambda: client.describe_log_groups())["logGroups"]
    []
    >>> from cwlogs.errors import ResourceNotFoundError
    >>> try:
    ...     call_api("DeleteLogGroup", lambda: client.delete_log_group(logGroupName="/shop/api"))
    ... except ResourceNotFoundError as err:
    ...     print(err)
    DeleteLogGroup failed: ResourceNotFoundException: The specified log group does not exist.
    """

    def mapped() -> _T:
        with _mapped(operation):
            return call()

    return call_with_retries(mapped, sleep=sleep, rng=rng, retry=retry)


def call_idempotent(
    operation: str, call: Callable[[], object], tolerated: type[CwlogsError], *, tolerate: bool
) -> bool:
    """:func:`call_api`; True if the call went through, False if it raised ``tolerated``
    and ``tolerate`` allows that (a create that finds the resource, a delete that does not).

    >>> from cwlogs.errors import ResourceNotFoundError
    >>> def gone() -> None:
    ...     raise ResourceNotFoundError("no such group")
    >>> call_idempotent("DeleteLogGroup", gone, ResourceNotFoundError, tolerate=True)
    False
    """
    try:
        call_api(operation, call)
    except tolerated:
        if not tolerate:
            raise
        return False
    return True


def paginate(
    operation: str,
    method: Callable[..., Mapping[str, Any]],
    items_key: str,
    kwargs: Mapping[str, Any],
) -> Iterator[dict[str, Any]]:
    """Every item of a ``nextToken``-paginated call, each page through :func:`call_api`.

    Stops on a missing or repeated token (some endpoints repeat the last one).

    >>> from cwlogs.client import make_client
    >>> client = make_client()
    >>> for name in ("/shop/api", "/shop/worker", "/shop/payments"):
    ...     _ = client.create_log_group(logGroupName=name)
    >>> [g["logGroupName"] for g in paginate(  # one group per page
    ...     "DescribeLogGroups", client.describe_log_groups, "logGroups", {"limit": 1})]
    ['/shop/api', '/shop/payments', '/shop/worker']
    """
    args = dict(kwargs)
    seen: set[str] = set()
    while True:
        page = call_api(operation, lambda: method(**args))
        for item in page.get(items_key, []):
            yield dict(item)
        token = page.get("nextToken")
        if not token or token in seen:
            return
        seen.add(token)
        args["nextToken"] = token

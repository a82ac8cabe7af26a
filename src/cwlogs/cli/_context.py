"""The per-run context: parsed options, the output, a client per profile and Region,
the named sources and the time window, built once by ``main`` and handed to a command."""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cwlogs.cli._errors import UsageError
from cwlogs.cli._output import Output
from cwlogs.cli.display import format_time
from cwlogs.cli.sources import SourceConfig, SourceLocation, load
from cwlogs.client import make_client
from cwlogs.timeparse import TimeParseError, local_zone, to_epoch_ms, until_ms

if TYPE_CHECKING:
    from datetime import tzinfo

    from mypy_boto3_logs import CloudWatchLogsClient

#: --since of the commands that read a fixed range (search, query, trace).
DEFAULT_RANGE: Final = "1h"


@dataclass
class Context:
    """What every command needs: parsed options, the output and the clients."""

    args: argparse.Namespace
    out: Output
    _clients: dict[SourceLocation, CloudWatchLogsClient] = dataclasses.field(default_factory=dict)
    _sources: SourceConfig | None = None

    def opt(self, name: str, default: Any = None) -> Any:
        # Global options use SUPPRESS so they work before and after the sub-command.
        return getattr(self.args, name, default)

    @property
    def client(self) -> CloudWatchLogsClient:
        """The client for --profile/--region (or the environment's)."""
        return self.client_for(SourceLocation())

    def client_for(self, where: SourceLocation) -> CloudWatchLogsClient:
        """A client per profile and Region: a named source may live in another account."""
        found = self._clients.get(where)
        if found is not None:
            return found
        region = where.region or self.opt("region")
        profile = where.profile or self.opt("profile")
        if where == SourceLocation():
            # Clients the library builds on its own (Live Tail on a local endpoint, the
            # CloudWatch/SNS clients of `apply`) read the environment; keep them on the
            # same profile and region as this one.
            if profile:
                os.environ["AWS_PROFILE"] = profile
            if region:
                os.environ["AWS_REGION"] = region
        client = make_client(region=region, profile=profile, endpoint_url=self.opt("endpoint_url"))
        self._clients[where] = client
        return client

    @property
    def sources(self) -> SourceConfig:
        """The named sources (``@name``) of --config, or of the user and project config."""
        if self._sources is None:
            self._sources = load(self.opt("config"))
        return self._sources

    @property
    def zone(self) -> tzinfo | None:
        """The zone naive times are read in: the user's with --local-time or TZ, else UTC."""
        if self.opt("local_time") or os.environ.get("TZ"):
            return local_zone()
        return None

    def time(self, value: str | None, flag: str) -> int | None:
        """A --since/--until value as epoch milliseconds, read in :attr:`zone`."""
        if value is None:
            return None
        try:
            return to_epoch_ms(value, tz=self.zone)
        except TimeParseError as exc:
            raise UsageError(f"{flag}: {str(exc).removeprefix('cwlogs: ')}") from None

    def window(self, args: argparse.Namespace) -> tuple[int, int | None]:
        """``(since_ms, until_ms)`` from --since/--until; since must come before until."""
        since = self.time(args.since or DEFAULT_RANGE, "--since") or 0
        until = None
        if args.until is not None:
            try:
                until = until_ms(args.until, since, tz=self.zone)
            except TimeParseError as exc:
                raise UsageError(f"--until: {str(exc).removeprefix('cwlogs: ')}") from None
        if until is not None and since >= until:
            raise UsageError(
                f"--since {args.since!r} ({format_time(since)}) is not before --until "
                f"{args.until!r} ({format_time(until)}); the range would be empty"
            )
        return since, until

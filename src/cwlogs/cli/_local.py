"""``cwlogs local``: a local CloudWatch Logs endpoint (moto) in the foreground, and the
environment that points the SDKs at it."""

from __future__ import annotations

import argparse
import importlib.util
import signal
import threading
from types import FrameType
from typing import Final

from cwlogs.cli._context import Context
from cwlogs.cli._errors import EXIT_ERROR, EXIT_OK

_LOCAL_EXTRA_HINT: Final = "`cwlogs local` needs the moto server: pip install 'cwlogs[local]'"


def cmd_local(ctx: Context, args: argparse.Namespace) -> int:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        ctx.out.note(_LOCAL_EXTRA_HINT)
        return EXIT_ERROR
    from cwlogs.testing import MotoServer

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = MotoServer(args.host, args.port)
    try:
        try:
            server.start()
        except RuntimeError as exc:
            ctx.out.note(f"could not start the local endpoint: {str(exc).splitlines()[0]}")
            return EXIT_ERROR
        host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host
        url = f"http://{host}:{server.port}"
        env = {
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            # Older SDKs and the AWS CLI v1 read only this one.
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        exports = "export " + " ".join(f"{k}={v}" for k, v in env.items())
        ctx.out.result({"endpoint_url": url, "env": env}, exports, flush=True)
        if ctx.out.format != "json":
            ctx.out.note(f"local CloudWatch Logs endpoint on {url}; Ctrl-C to stop")
        while not stop.wait(0.5):
            if not server.running:
                ctx.out.note("the local endpoint exited unexpectedly:\n" + server.log_tail(10))
                return EXIT_ERROR
        return EXIT_OK
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""`make demo`: start a local CloudWatch Logs endpoint with `cwlogs local`, run the quickstart
against it, then stop the endpoint.

Nothing here needs AWS or Docker: `cwlogs local` runs moto's server, a real HTTP endpoint in
another process, and prints the environment variables that point boto3 (and cwlogs) at it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from cwlogs.testing import free_port


def main() -> int:
    port = free_port()
    local = subprocess.Popen(
        [sys.executable, "-m", "cwlogs", "local", "--port", str(port), "--format", "json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert local.stdout is not None
        line = local.stdout.readline()  # {"endpoint_url": ..., "env": {...}}
        if not line.strip():
            print(f"cwlogs local did not start (exit {local.poll()})", file=sys.stderr)
            return 1
        env = dict(os.environ)
        env.pop("AWS_PROFILE", None)
        env.update(json.loads(line)["env"])
        print(f"local CloudWatch Logs endpoint: {env['AWS_ENDPOINT_URL_CLOUDWATCH_LOGS']}")
        script = Path(__file__).with_name("quickstart.py")
        return subprocess.call([sys.executable, str(script)], env=env)
    finally:
        local.send_signal(signal.SIGINT)
        try:
            local.wait(10)
        except subprocess.TimeoutExpired:
            local.kill()


if __name__ == "__main__":
    raise SystemExit(main())

"""`make demo`: start a local CloudWatch Logs endpoint (moto server), run the quickstart against it.

Nothing here needs AWS or Docker. The endpoint is a real HTTP server in another process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cwlogs.testing import MotoServer


def main() -> int:
    with MotoServer() as server:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": server.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
        env.pop("AWS_PROFILE", None)
        print(f"local CloudWatch Logs endpoint: {server.url}")
        script = Path(__file__).with_name("quickstart.py")
        return subprocess.call([sys.executable, str(script)], env=env)


if __name__ == "__main__":
    raise SystemExit(main())

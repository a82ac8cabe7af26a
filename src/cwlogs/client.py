"""Build the boto3 ``logs`` client cwlogs uses: the public face of :mod:`cwlogs._aws.client`.

An explicit argument beats an environment variable, which beats a default; region,
profile and endpoint fall back to boto3's own resolution (``AWS_REGION``,
``AWS_PROFILE``, ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`` / ``AWS_ENDPOINT_URL``).

>>> client = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:5000")
>>> client.meta.region_name
'us-east-1'
"""

from __future__ import annotations

from cwlogs._aws.client import DEFAULT_REGION, NO_RETRIES, make_client

__all__ = ["DEFAULT_REGION", "NO_RETRIES", "make_client"]

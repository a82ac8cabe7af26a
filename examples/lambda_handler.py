"""An AWS Lambda handler that ships structured, correlated logs and flushes before returning.

Deploy with handler ``lambda_handler.handler`` and CWLOGS_LOG_GROUP set (the role needs
logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents on that group:
``cwlogs iam writer /examples/lambda --account ID --region REGION`` prints the policy).
Run locally, simulating two invocations (the Lambda variables make cwlogs add
``xray_trace_id``, as it does in Lambda):

    export CWLOGS_LOG_GROUP=/examples/lambda AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4566
    AWS_LAMBDA_FUNCTION_NAME=thumbnails \
    _X_AMZN_TRACE_ID='Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' \
    python examples/lambda_handler.py
"""

from __future__ import annotations

import logging
from typing import Any

import cwlogs
from cwlogs.integrations.aws_lambda import inject_lambda_context

logging.getLogger().addHandler(cwlogs.CloudWatchHandler(service="thumbnails"))
logging.getLogger().setLevel(logging.INFO)
log = logging.getLogger("thumbnails")


@inject_lambda_context  # request_id, cold_start, trace_id; flushes within the time left
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log.info("resizing %s for %s", event["key"], event["owner"], extra={"key": event["key"]})
    return {"ok": True}


if __name__ == "__main__":

    class LocalContext:
        """The two members of the Lambda context object that cwlogs uses."""

        def __init__(self, request_id: str) -> None:
            self.aws_request_id = request_id

        def get_remaining_time_in_millis(self) -> int:
            return 10_000

    for n in (1, 2):
        event = {"key": f"cat-{n}.png", "owner": "jane@example.com"}
        print(handler(event, LocalContext(f"demo-lambda-{n}")))

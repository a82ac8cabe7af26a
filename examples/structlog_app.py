"""structlog straight to CloudWatch: no stdlib detour, same JSON as the stdlib path.

The log group comes from CWLOGS_LOG_GROUP; leave AWS_ENDPOINT_URL_CLOUDWATCH_LOGS unset
for real AWS, or point it at a local endpoint:

    export CWLOGS_LOG_GROUP=/examples/structlog AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4566
    python examples/structlog_app.py
"""

from __future__ import annotations

import structlog

import cwlogs
from cwlogs.structlog import CloudWatchSink, add_context, redact

sink = CloudWatchSink(service="billing", logger_name="billing")  # + any handler option
structlog.configure(
    processors=[
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        add_context,  # request_id, tenant_id, trace IDs (the sink adds them anyway)
        redact,  # masks PII for any renderer; the handler masks again on its worker
        sink,
    ]
)
log = structlog.get_logger()


def main() -> None:
    with cwlogs.bind(request_id="demo-structlog-1", tenant_id="acme"):
        log.info("invoice sent to jane@example.com", invoice_id=7)
        try:
            raise TimeoutError("mail server did not answer")
        except TimeoutError:
            log.exception("invoice retry scheduled", invoice_id=7)
    print("flushed:", sink.flush(timeout=10))


if __name__ == "__main__":
    main()

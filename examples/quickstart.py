"""Log a few hundred events from several threads to CloudWatch Logs, then read them back.

Run against any endpoint boto3 can reach; `make demo` starts a local one for you:

    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4566 python examples/quickstart.py
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

import orjson

import cwlogs

GROUP = os.environ.get("CWLOGS_LOG_GROUP", "/cwlogs/quickstart")
STREAM = f"quickstart-{uuid.uuid4().hex[:8]}"


def main() -> None:
    handler = cwlogs.CloudWatchHandler(
        log_group=GROUP, log_stream=STREAM, service="quickstart", environment="dev"
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    log = logging.getLogger("shop.orders")

    def worker(n: int) -> None:
        with cwlogs.bind(request_id=f"req-{n}", tenant_id="acme"):
            for i in range(100):
                log.info(
                    "order %d-%d placed by jane@example.com",
                    n,
                    i,
                    extra={"order_id": i, "worker": n},
                )
            try:
                raise ValueError(f"card declined for worker {n}")
            except ValueError:
                log.exception("payment failed")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivered = handler.flush(timeout=30)
    stats = handler.stats()
    print(
        f"delivered={delivered} emitted={stats['emitted']} sent={stats['sent']} "
        f"batches={stats['batches']} dropped={stats['dropped']}"
    )

    # Read everything back from the same endpoint.
    client = handler.client
    events, token = [], None
    while True:
        kwargs = {"logGroupName": GROUP, "logStreamName": STREAM, "startFromHead": True}
        page = client.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
        events.extend(page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    print(f"read back {len(events)} events from {GROUP}/{STREAM}; first and last:")
    for ev in (events[0], events[-1]):
        print(orjson.dumps(orjson.loads(ev["message"]), option=orjson.OPT_INDENT_2).decode())
    handler.close()
    if len(events) != stats["emitted"]:
        raise SystemExit(f"expected {stats['emitted']} events, read {len(events)}")


if __name__ == "__main__":
    main()

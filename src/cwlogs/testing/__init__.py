"""The test kit: everything users need to test their own logging, and what cwlogs' own
tests run on.  The shipping path (the handler, batcher and transport) never imports it.

* A real endpoint: :class:`MotoServer` (moto's server in a child process) behind a
  :class:`StrictProxy` that rejects what AWS would reject
  (:func:`validate_put_log_events`), records every call (:class:`RecordedRequest`) and
  injects faults (:class:`Fault`): throttling, 5xx errors, resets, hangs, outages.
* No endpoint at all: :class:`MemoryExporter` stands in for the CloudWatch exporter
  behind a ``Batcher``; :class:`MemoryLogStream` and :func:`capture` store what a
  ``CloudWatchHandler`` would send, in the same JSON schema.

>>> from cwlogs.client import make_client
>>> from cwlogs.manage import create_log_group
>>> with MotoServer() as moto, StrictProxy(moto.url) as proxy:
...     client = make_client(region="us-east-1", endpoint_url=proxy.url)
...     proxy.inject("CreateLogGroup", Fault.throttle())
...     create_log_group("/app", client=client)  # throttled once, then retried
...     [(call.operation, call.status, call.fault) for call in proxy.calls()]
True
[('CreateLogGroup', 400, 'ThrottlingException'), ('CreateLogGroup', 200, None)]

>>> import logging
>>> with capture("demo.testing") as logs:
...     logging.getLogger("demo.testing").error("boom")
>>> logs.messages()
['boom']
"""

from cwlogs.testing._capture import MemoryLogStream, capture
from cwlogs.testing._faults import Fault
from cwlogs.testing._memory import MemoryExporter
from cwlogs.testing._moto import MotoServer, free_port
from cwlogs.testing._proxy import StrictProxy
from cwlogs.testing._recording import RecordedRequest
from cwlogs.testing._validate import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    MAX_EVENTS_PER_CALL,
    MAX_MESSAGE_BYTES,
    MAX_SPAN_MS,
    validate_put_log_events,
)

__all__ = [
    "EVENT_OVERHEAD_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_EVENTS_PER_CALL",
    "MAX_EVENT_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_SPAN_MS",
    "Fault",
    "MemoryExporter",
    "MemoryLogStream",
    "MotoServer",
    "RecordedRequest",
    "StrictProxy",
    "capture",
    "free_port",
    "validate_put_log_events",
]

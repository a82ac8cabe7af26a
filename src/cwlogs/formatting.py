"""JSON for log records: :class:`JsonFormatter` (the cwlogs schema, for any handler) and
:class:`Event`, one record's snapshot (what ``CloudWatchHandler.enqueue`` takes).

The encoding itself lives in the shipping path's private modules
(``cwlogs._shipping.snapshot`` on the caller's thread, ``cwlogs._shipping.encode`` on
the worker's).

>>> import logging
>>> fmt = JsonFormatter(service="api")
>>> rec = logging.LogRecord("api", logging.INFO, __file__, 1, "order %s", (42,), None)
>>> fmt.format(rec)[-52:]
'"message":"order 42","logger":"api","service":"api"}'
>>> Event(0.0, logging.INFO, "INFO", "app", "hi", {"k": 1}, None).message
'hi'
"""

from cwlogs._shipping.event import Event
from cwlogs._shipping.formatter import JsonFormatter

__all__ = ["Event", "JsonFormatter"]

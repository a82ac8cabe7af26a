"""cwlogs: ship Python logs to AWS CloudWatch Logs fast, lose nothing, read them back.

>>> import logging, cwlogs
>>> handler = cwlogs.CloudWatchHandler(log_group="/myapp/prod")
>>> logging.getLogger().addHandler(handler)  # doctest: +SKIP
"""

import logging

from cwlogs.context import bind, bind_context, get_context, reset_context, unbind
from cwlogs.errors import ConfigurationError, CwlogsError
from cwlogs.formatting import JsonFormatter
from cwlogs.handler import CloudWatchHandler, flush_on_sigterm

__all__ = [
    "CloudWatchHandler",
    "ConfigurationError",
    "CwlogsError",
    "JsonFormatter",
    "bind",
    "bind_context",
    "flush_on_sigterm",
    "get_context",
    "reset_context",
    "unbind",
]

__version__ = "0.1.0"

# The library's warnings belong to the application's logging set-up, not to logging.lastResort.
logging.getLogger("cwlogs").addHandler(logging.NullHandler())

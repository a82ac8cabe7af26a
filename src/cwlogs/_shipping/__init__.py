"""The engine behind :class:`cwlogs.CloudWatchHandler` (private: import the public faces,
``cwlogs``, ``cwlogs.handler``, ``cwlogs.formatting``, ``cwlogs.deadletter``).

Caller's thread: ``snapshot`` (a record -> one flat tuple, weighed by ``weigh``) ->
``engine.Batcher.put_fields``. Worker thread (``worker``):
``exporter.CloudWatchExporter.prepare`` -> ``encode.render_item``; sender thread
(``worker`` too): ``limits`` -> ``put`` (one PutLogEvents call), with ``breaker`` and
``cwlogs._aws.retry``. Around them: ``config`` (options), ``buffer`` (the queue and its
books), ``drops`` (``on_drop``), ``lifecycle`` (fork, exit), ``event`` (``Event`` and the
item conversions), ``formatter`` (``JsonFormatter``), ``metrics`` (EMF), ``diagnostics``.
"""

"""CloudWatchHandler against a real endpoint (moto server behind the strict proxy)."""

from __future__ import annotations

import json
import logging
import logging.config
import threading
import time
from typing import Any

import orjson
import pytest

from cwlogs import CloudWatchHandler, ConfigurationError
from cwlogs._shipping.limits import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES
from tests.conftest import read_events


def _messages(client: Any, group: str) -> list[dict[str, Any]]:
    return [orjson.loads(e["message"]) for e in read_events(client, group)]


class TestDelivery:
    def test_events_from_threads_arrive_once_with_creation_time(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Every record from 4 threads is stored exactly once, stamped with its creation time."""
        handler = make_handler(flush_interval=60)
        app_logger.addHandler(handler)
        created: dict[str, int] = {}
        lock = threading.Lock()

        class Stamp(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                with lock:
                    created[record.getMessage()] = int(record.created * 1000)
                return True

        app_logger.addFilter(Stamp())

        def work(t: int) -> None:
            for i in range(500):
                app_logger.info("t%d-%d", t, i, extra={"n": i})

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert handler.flush(timeout=20)
        stored = read_events(logs, group)
        by_msg = {orjson.loads(e["message"])["message"]: e for e in stored}
        assert len(stored) == 2000
        assert set(by_msg) == set(created)
        assert all(by_msg[m]["timestamp"] == ts for m, ts in created.items())
        stats = handler.stats()
        assert (stats["emitted"], stats["sent"], stats["dropped"]) == (2000, 2000, {})

    def test_default_json_schema(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Stored JSON has timestamp, lowercase level, message, logger, extras, static fields."""
        handler = make_handler(service="checkout", environment="test", redact=False)
        app_logger.addHandler(handler)
        app_logger.warning("order %s placed", 42, extra={"order_id": 42, "tags": {"a", "b"}})
        try:
            raise ValueError("bad card")
        except ValueError:
            app_logger.exception("payment failed")
        assert handler.flush(timeout=10)
        first, second = _messages(logs, group)
        assert first["level"] == "warning"
        assert first["message"] == "order 42 placed"
        assert first["logger"] == app_logger.name
        assert first["order_id"] == 42
        assert first["tags"] == ["a", "b"]
        assert (first["service"], first["environment"]) == ("checkout", "test")
        assert first["timestamp"].endswith("Z") and len(first["timestamp"]) == 24
        assert second["level"] == "error"
        assert second["exception"]["type"] == "ValueError"
        assert second["exception"]["message"] == "bad card"
        assert "Traceback" in second["exception"]["stack"]

    def test_unserialisable_extras_do_not_lose_the_event(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Objects, bytes, cycles and huge ints in extras become text; the event arrives."""
        handler = make_handler(redact=False)
        app_logger.addHandler(handler)
        cycle: dict[str, Any] = {"name": "loop"}
        cycle["self"] = cycle

        class Opaque:
            def __repr__(self) -> str:
                return "<Opaque>"

        app_logger.info(
            "odd", extra={"obj": Opaque(), "raw": b"\xffbytes", "cycle": cycle, "big": 2**70}
        )
        assert handler.flush(timeout=10)
        (event,) = _messages(logs, group)
        assert event["obj"] == "<Opaque>"
        assert event["raw"].endswith("bytes")
        assert event["cycle"]["self"] == "<cycle>"
        assert event["big"] == str(2**70)

    def test_custom_formatter_sends_plain_text(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Any logging.Formatter works: its output is the message, unchanged."""
        handler = make_handler(formatter=logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        app_logger.addHandler(handler)
        app_logger.error("disk %s full", "/var")
        assert handler.flush(timeout=10)
        (event,) = read_events(logs, group)
        assert event["message"] == f"ERROR {app_logger.name}: disk /var full"


class TestLimits:
    def test_large_burst_respects_every_batch_limit(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """25k small and 40 x 100 KB events go out in calls the strict proxy accepts."""
        handler = make_handler(max_queue_bytes=64 * 1024 * 1024, flush_interval=60, redact=False)
        app_logger.addHandler(handler)
        for i in range(25_000):
            app_logger.info("small %d", i)
            if i % 625 == 0:
                app_logger.info("big %d %s", i, "x" * 100_000)
        assert handler.flush(timeout=60)
        calls = proxy.calls("PutLogEvents")
        assert calls and all(c.status == 200 and c.rejected_reason is None for c in calls)
        assert max(c.n_events for c in calls) <= MAX_BATCH_EVENTS
        assert max(c.batch_bytes for c in calls) <= MAX_BATCH_BYTES
        assert sum(c.n_events for c in calls) == 25_040
        assert handler.stats()["sent"] == 25_040
        assert len(read_events(logs, group)) == 25_040

    def test_batches_are_filled_to_the_byte_limit(
        self, make_handler: Any, app_logger: logging.Logger, proxy: Any
    ) -> None:
        """A backlog goes out in about as few calls as the 1 MiB limit allows: the
        worker's size guess calibrates itself on what it encodes (the first and the last
        batch may be short)."""
        handler = make_handler(max_queue_bytes=64 * 1024 * 1024, flush_interval=60, redact=False)
        app_logger.addHandler(handler)
        # Many small extras: the caller-side guess overestimates these events 2-3x.
        fields = {f"f{k}": k for k in range(10)}
        for i in range(25_000):
            app_logger.info("fill %05d", i, extra=fields)
        assert handler.flush(timeout=60)
        calls = [c for c in proxy.calls("PutLogEvents") if c.status == 200]
        total = sum(c.batch_bytes for c in calls)
        assert sum(c.n_events for c in calls) == 25_000
        # Short: the first (taken before the guess is calibrated) and the last; and one
        # more where a segment boundary fell between two takes.
        assert len(calls) <= -(-total // MAX_BATCH_BYTES) + 2
        assert sum(c.batch_bytes > MAX_BATCH_BYTES * 0.9 for c in calls) >= len(calls) - 3

    def test_oversize_event_is_truncated_to_valid_json(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """A 2 MB message arrives cut to the service limit, valid JSON, marked truncated."""
        handler = make_handler(redact=False)
        app_logger.addHandler(handler)
        app_logger.info("é" * 1_000_000 + "tail", extra={"k": "v"})
        assert handler.flush(timeout=20)
        (stored,) = read_events(logs, group)
        assert len(stored["message"].encode()) <= MAX_MESSAGE_BYTES
        event = orjson.loads(stored["message"])
        assert event["truncated"] is True
        assert event["original_bytes"] > MAX_MESSAGE_BYTES
        assert event["message"].startswith("éé")
        assert handler.stats()["truncated"] == 1

    def test_out_of_order_and_multi_day_records_are_split_and_sorted(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """Records spanning 30 h, out of order, are sent sorted in batches spanning < 24 h."""
        handler = make_handler(flush_interval=60, redact=False)
        app_logger.addHandler(handler)
        now = time.time()
        offsets_h = [0, -30, -1, -29, -12, -25, -2, -0.5]
        for off in offsets_h:
            record = app_logger.makeRecord(
                app_logger.name, logging.INFO, __file__, 1, f"at {off}", (), None
            )
            record.created = now + off * 3600
            app_logger.handle(record)
        assert handler.flush(timeout=10)
        calls = [c for c in proxy.calls("PutLogEvents") if c.status == 200]
        assert len(calls) >= 2  # 30 h cannot fit one call
        for c in calls:
            assert list(c.timestamps) == sorted(c.timestamps)
            assert c.timestamps[-1] - c.timestamps[0] < 24 * 3600 * 1000
        assert len(read_events(logs, group)) == len(offsets_h)

    def test_too_old_and_too_new_are_counted_not_sent(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """Records older than 14 days or over 2 h ahead are rejected by reason and reported."""
        dropped: list[tuple[str, int]] = []
        got = threading.Event()

        def on_drop(events: list[dict[str, Any]], reason: str) -> None:
            dropped.extend((reason, e["timestamp"]) for e in events)
            if len(dropped) == 2:
                got.set()

        handler = make_handler(on_drop=on_drop, redact=False)
        app_logger.addHandler(handler)
        now = time.time()
        for off_h in (-15 * 24, 3, 0):
            record = app_logger.makeRecord(
                app_logger.name, logging.INFO, __file__, 1, "x", (), None
            )
            record.created = now + off_h * 3600
            app_logger.handle(record)
        assert handler.flush(timeout=10)
        assert got.wait(5)
        stats = handler.stats()
        assert stats["rejected"] == {"too_old": 1, "too_new": 1}
        assert stats["sent"] == 1
        assert sorted(r for r, _ in dropped) == ["too_new", "too_old"]
        assert len(read_events(logs, group)) == 1


class TestNoNetworkOnCallerPath:
    def test_init_and_emit_make_no_request(
        self, make_handler: Any, app_logger: logging.Logger, proxy: Any
    ) -> None:
        """Constructing the handler and logging send nothing until a flush is due."""
        handler = make_handler(flush_interval=3600)
        app_logger.addHandler(handler)
        for i in range(100):
            app_logger.info("quiet %d", i)
        assert proxy.calls() == []
        assert handler._exporter._client is None
        assert handler.flush(timeout=10)
        ops = [c.operation for c in proxy.calls()]
        assert ops[-1] == "PutLogEvents" and "CreateLogStream" in ops

    def test_dictconfig_touches_no_network(self, endpoint: Any, group: str, proxy: Any) -> None:
        """A dictConfig with the handler class makes no request and builds no client."""
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {
                    "cw": {
                        "class": "cwlogs.CloudWatchHandler",
                        "log_group": group,
                        "log_stream": "{hostname}-{logger}",
                        "endpoint_url": endpoint.url,
                        "flush_interval": "2",
                        "level": "INFO",
                    }
                },
                "loggers": {"dictcfg": {"handlers": ["cw"], "level": "INFO", "propagate": False}},
            }
        )
        handler = logging.getLogger("dictcfg").handlers[0]
        try:
            assert isinstance(handler, CloudWatchHandler)
            assert handler.config.flush_interval == 2.0
            assert proxy.calls() == []
            assert handler._exporter._client is None
        finally:
            logging.getLogger("dictcfg").removeHandler(handler)
            handler.close()

    def test_stream_creation_delay_loses_nothing(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """Records logged while CreateLogStream is slow are all delivered."""
        from cwlogs.testing import Fault

        proxy.inject("CreateLogStream", Fault.delay(1.0))
        handler = make_handler(flush_interval=0.05, redact=False)
        app_logger.addHandler(handler)
        for i in range(3000):
            app_logger.info("early %d", i)
        assert handler.flush(timeout=20)
        assert len(read_events(logs, group)) == 3000


class TestConfiguration:
    def test_env_vars_configure_the_handler(
        self, monkeypatch: pytest.MonkeyPatch, group: str
    ) -> None:
        """CWLOGS_* env vars fill what arguments leave out; arguments win."""
        monkeypatch.setenv("CWLOGS_LOG_GROUP", group)
        monkeypatch.setenv("CWLOGS_LOG_STREAM", "env-{pid}")
        monkeypatch.setenv("CWLOGS_FLUSH_INTERVAL", "7")
        handler = CloudWatchHandler(flush_interval=3)
        try:
            assert handler.config.log_group == group
            assert handler.config.log_stream == "env-{pid}"
            assert handler.config.flush_interval == 3.0
        finally:
            handler.close()

    @pytest.mark.parametrize(
        ("kwargs", "option"),
        [
            ({}, "log_group"),
            ({"log_group": "bad name!"}, "log_group"),
            ({"log_group": "/g", "retention_days": 8}, "retention_days"),
            ({"log_group": "/g", "overflow": "explode"}, "overflow"),
            ({"log_group": "/g", "log_stream": "{nope}"}, "log_stream"),
            ({"log_group": "/g", "max_batch_events": 10_001}, "max_batch_events"),
            ({"log_group": "/g", "flush_interval": "soon"}, "flush_interval"),
        ],
    )
    def test_bad_configuration_names_the_option(
        self, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], option: str
    ) -> None:
        """Bad options fail at construction with a message naming the option."""
        monkeypatch.delenv("CWLOGS_LOG_GROUP", raising=False)
        with pytest.raises(ConfigurationError, match=option):
            CloudWatchHandler(**kwargs)


class TestFeedback:
    def test_botocore_and_cwlogs_records_are_never_shipped(
        self, make_handler: Any, logs: Any, group: str
    ) -> None:
        """With the handler on the root logger at DEBUG, only application records arrive."""
        root = logging.getLogger()
        old_level = root.level
        handler = make_handler(redact=False)
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        try:
            logging.getLogger("feedback.app").info("from the app")
            logging.getLogger("botocore.test").debug("from botocore")
            logging.getLogger("urllib3.connectionpool").debug("from urllib3")
            logging.getLogger("cwlogs.internal").warning("from cwlogs")
            assert handler.flush(timeout=10)
            logging.getLogger("feedback.app").info("second")
            assert handler.flush(timeout=10)
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
        loggers = {m["logger"] for m in _messages(logs, group)}
        assert loggers == {"feedback.app"}

    def test_records_logged_while_sending_are_not_shipped(
        self, make_handler: Any, logs: Any, group: str
    ) -> None:
        """Code that logs from inside a send (a botocore hook, a credential provider) runs
        on the handler's sender thread: its records are not queued, so they cannot loop."""
        handler = make_handler(redact=False)
        signed_on: list[str] = []

        def hook(**_: Any) -> None:
            signed_on.append(threading.current_thread().name)
            logging.getLogger("feedback.hook").warning("signing a request")

        handler.client.meta.events.register("before-sign", hook)
        names = ("feedback.app", "feedback.hook")
        for name in names:
            logging.getLogger(name).addHandler(handler)
            logging.getLogger(name).setLevel(logging.INFO)
        try:
            logging.getLogger("feedback.app").info("from the app")
            assert handler.flush(timeout=10)
            logging.getLogger("feedback.app").info("second")
            assert handler.flush(timeout=10)
        finally:
            for name in names:
                logging.getLogger(name).removeHandler(handler)
                logging.getLogger(name).setLevel(logging.NOTSET)
        assert any(name.endswith("-sender") for name in signed_on), signed_on
        messages = _messages(logs, group)
        assert [m["message"] for m in messages] == ["from the app", "second"]
        assert handler.stats()["sent"] == 2


class TestStreams:
    def test_logger_template_gives_one_stream_per_logger(
        self, make_handler: Any, logs: Any, group: str
    ) -> None:
        """A {logger} template routes each logger to its own stream from one worker."""
        handler = make_handler(log_stream="svc/{logger}:{date}", redact=False)
        for name in ("svc.a", "svc.b"):
            lg = logging.getLogger(name)
            lg.propagate = False
            lg.addHandler(handler)
            lg.warning("hello from %s", name)
        assert handler.flush(timeout=10)
        for name in ("svc.a", "svc.b"):
            logging.getLogger(name).removeHandler(handler)
        streams = sorted(
            s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        )
        day = time.strftime("%Y-%m-%d", time.gmtime())
        assert streams == [f"svc/svc.a_{day}", f"svc/svc.b_{day}"]
        assert [t.name for t in threading.enumerate()].count(f"cwlogs[{group}]-worker") == 1

    def test_deleted_stream_is_recreated_without_loss(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """If the stream is deleted while running, it is recreated and the batch resent."""
        handler = make_handler(log_stream="fixed", redact=False)
        app_logger.addHandler(handler)
        app_logger.info("before")
        assert handler.flush(timeout=10)
        logs.delete_log_stream(logGroupName=group, logStreamName="fixed")
        for i in range(10):
            app_logger.info("after %d", i)
        assert handler.flush(timeout=10)
        messages = [m["message"] for m in _messages(logs, group)]
        assert messages == [f"after {i}" for i in range(10)]

    def test_group_created_with_retention_and_tags(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """create_log_group applies retention_days and log_group_tags when it creates the group."""
        handler = make_handler(retention_days=30, log_group_tags={"team": "core"})
        app_logger.addHandler(handler)
        app_logger.info("x")
        assert handler.flush(timeout=10)
        (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert described["retentionInDays"] == 30
        tags = logs.list_tags_log_group(logGroupName=group)["tags"]
        assert tags == {"team": "core"}


def test_stats_are_json_serialisable(make_handler: Any) -> None:
    """stats() can be dumped as JSON for a metrics endpoint."""
    handler = make_handler()
    assert json.loads(json.dumps(handler.stats()))["emitted"] == 0


class TestUnrenderable:
    def test_records_that_cannot_be_rendered_are_shipped_marked(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """A msg whose __str__ raises, or arguments that do not fit the format, arrive as a
        marked message (never a silent handleError), and the records after them arrive too."""

        class Hostile:
            def __str__(self) -> str:
                raise RuntimeError("no str")

            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        handler = make_handler(redact=False)
        app_logger.addHandler(handler)
        app_logger.info(Hostile())
        app_logger.info("%s and %s", {"only": "one"})  # noqa: PLE1206 (the point)
        app_logger.info("%d items", ["not", "a", "number"])
        app_logger.info("after")
        assert handler.flush(timeout=30)
        stored = [orjson.loads(e["message"])["message"] for e in read_events(logs, group)]
        assert len(stored) == 4
        assert stored[-1] == "after"
        assert "formatting failed" in stored[0] and "Hostile" in stored[0]
        assert "%s and %s" in stored[1] and "only" in stored[1]
        assert "%d items" in stored[2] and "not" in stored[2]
        assert handler.stats()["dropped"] == {}

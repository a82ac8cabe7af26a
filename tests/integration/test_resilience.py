"""Fault injection through the strict proxy: throttling, outages, bad credentials, 5xx storms."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from typing import Any

import orjson

from cwlogs import CloudWatchHandler
from cwlogs.deadletter import DeadLetterFile
from cwlogs.testing import Fault
from tests.conftest import read_events

OUTAGE = 5.0


def _rss() -> int:
    """Resident set size of this process, from /proc (Linux, where the suite runs)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _stored(logs: Any, group: str) -> list[str]:
    return [orjson.loads(e["message"])["message"] for e in read_events(logs, group)]


class TestFaults:
    def test_three_throttles_in_a_row_lose_nothing(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """Throttling on 3 consecutive PutLogEvents: all delivered, 3 retries counted."""
        proxy.inject("PutLogEvents", Fault.throttle(), times=3)
        handler = make_handler(redact=False)
        app_logger.addHandler(handler)
        for i in range(1000):
            app_logger.info("t%d", i)
        assert handler.flush(timeout=30)
        assert sorted(_stored(logs, group)) == sorted(f"t{i}" for i in range(1000))
        stats = handler.stats()
        assert stats["retried"] == 3 and stats["dropped"] == {}
        print(f"throttle x3: {stats}")
        assert proxy.stats()["faults"] == {"ThrottlingException": 3}

    def test_outage_with_breaker_open_then_closed_loses_nothing(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """Endpoint down while 50,000 events are logged: all delivered, breaker opened, closed."""
        handler = make_handler(
            redact=False,
            flush_interval=0.2,
            breaker_threshold=2,
            breaker_reset=1.0,
            max_queue_bytes=64 * 1024 * 1024,  # room for the whole outage
        )
        app_logger.addHandler(handler)
        longest = 0.0
        proxy.set_down(True)
        opened = threading.Event()

        def watch() -> None:
            while not opened.is_set() and handler.stats()["breaker"]["state"] != "open":
                opened.wait(0.05)
            opened.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        t_start = time.monotonic()
        for i in range(50_000):
            t0 = time.perf_counter()
            app_logger.info("o%05d", i)
            longest = max(longest, time.perf_counter() - t0)
        # Down for OUTAGE seconds (the 10 s, scaled to keep the suite short), and at
        # least until the breaker has opened (or 15 s, which fails below).
        opened.wait(max(0.0, 15 - (time.monotonic() - t_start)))
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - t_start)))
        stats_down = handler.stats()
        proxy.set_down(False)
        watcher.join()
        assert handler.flush(timeout=30)
        stats = handler.stats()
        assert stats_down["breaker"]["times_opened"] >= 1
        assert stats["breaker"]["state"] == "closed"
        assert stats["dropped"] == {} and stats["sent"] == 50_000
        assert len(_stored(logs, group)) == 50_000
        # drop_oldest never waits for room; the wall-clock bound only catches a gross stall
        # (this machine is shared, so scheduling alone can take a few hundred ms).
        assert stats["blocked"] == 0
        assert longest < 1.0
        print(f"outage: stats while down {stats_down}; after {stats}; longest call {longest:.4f}s")

    def test_expired_credentials_open_the_breaker_without_a_retry_storm(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """ExpiredToken is not retried; the breaker opens; events wait for a good probe."""
        proxy.inject(
            "PutLogEvents", Fault.error("ExpiredTokenException", 400, "token expired"), 100
        )
        handler = make_handler(
            redact=False, flush_interval=0.05, breaker_threshold=3, breaker_reset=0.5
        )
        app_logger.addHandler(handler)
        for i in range(100):
            app_logger.info("c%d", i)
        deadline = time.monotonic() + 10
        while handler.stats()["breaker"]["times_opened"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = handler.stats()
        assert stats["breaker"]["state"] in ("open", "half_open")
        assert "ExpiredTokenException" in (stats["last_error"] or "")
        assert stats["retried"] == 0
        assert len(proxy.calls("PutLogEvents")) <= 4  # 3 to open it, at most one probe
        proxy.clear_faults()
        assert handler.flush(timeout=20)
        assert len(_stored(logs, group)) == 100
        assert handler.stats()["breaker"]["state"] == "closed"
        print(f"expired credentials: calls {len(proxy.calls('PutLogEvents'))}; {handler.stats()}")

    def test_random_5xx_from_8_threads_no_loss_no_duplicates(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str, proxy: Any
    ) -> None:
        """8 threads logging while 10% of calls fail with 5xx: zero loss, zero duplicates."""
        proxy.inject_random("PutLogEvents", Fault.unavailable(), probability=0.1, seed=7)
        proxy.inject_random("PutLogEvents", Fault.internal(), probability=0.05, seed=8)
        handler = make_handler(redact=False, max_batch_events=500, max_queue_bytes=64 * 1024 * 1024)
        app_logger.addHandler(handler)
        per_thread = 5_000

        def work(t: int) -> None:
            for i in range(per_thread):
                app_logger.info("r%d-%d", t, i)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert handler.flush(timeout=60)
        stored = Counter(_stored(logs, group))
        assert len(stored) == 8 * per_thread
        assert max(stored.values()) == 1
        assert sum(proxy.stats()["faults"].values()) > 0
        assert handler.stats()["retried"] > 0
        print(f"random 5xx: proxy {proxy.stats()}; handler {handler.stats()}")

    def test_dead_letter_file_keeps_what_could_not_be_delivered(
        self, make_handler: Any, app_logger: logging.Logger, proxy: Any, tmp_path: Any
    ) -> None:
        """Rejected (too old) and overflowed events land in the NDJSON dead-letter file."""
        dead = DeadLetterFile(tmp_path / "dead.ndjson")
        handler = make_handler(
            redact=False,
            on_drop=dead,
            max_queue_bytes=64 * 1024,
            overflow="drop_newest",
            breaker_reset=0.5,
        )
        app_logger.addHandler(handler)
        record = app_logger.makeRecord(
            app_logger.name, logging.INFO, __file__, 1, "ancient", (), None
        )
        record.created = time.time() - 20 * 86400
        app_logger.handle(record)
        with proxy.down():
            for i in range(1000):
                app_logger.info("d%04d", i)
        assert handler.flush(timeout=30)
        stats = handler.stats()
        expected = stats["rejected"]["too_old"] + stats["dropped"]["queue_full"]
        deadline = time.monotonic() + 5
        while len(dead.read()) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        rows = dead.read()
        assert len(rows) == expected
        assert Counter(r["reason"] for r in rows) == {
            "too_old": 1,
            "queue_full": stats["dropped"]["queue_full"],
        }
        ancient = [r for r in rows if r["reason"] == "too_old"]
        assert orjson.loads(ancient[0]["message"])["message"] == "ancient"


class TestObservability:
    def test_emf_metrics_go_to_their_own_stream(
        self, make_handler: Any, app_logger: logging.Logger, logs: Any, group: str
    ) -> None:
        """metrics_interval publishes EMF events of the handler's counters to their own stream."""
        handler = make_handler(redact=False, metrics_interval=0.2, metrics_stream="health")
        app_logger.addHandler(handler)
        for i in range(10):
            app_logger.info("m%d", i)
        deadline = time.monotonic() + 10
        docs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            assert handler.flush(timeout=5)
            names = [
                s["logStreamName"]
                for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
            ]
            if "health" in names:
                docs = [orjson.loads(e["message"]) for e in read_events(logs, group, "health")]
                if sum(d["EventsEmitted"] for d in docs) >= 10:
                    break
            time.sleep(0.1)
        assert docs and docs[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "cwlogs"
        assert sum(d["EventsEmitted"] for d in docs) >= 10
        assert all(d["EventsDropped"] == 0 for d in docs)


def test_sustained_load_keeps_memory_flat(endpoint: Any, group: str) -> None:
    """Logging steadily for several seconds: RSS stops growing and the queue stays bounded."""
    # Straight to the endpoint: the proxy (in this process) keeps every message it sees,
    # which would show up in this process's RSS.
    url = endpoint.proxy.upstream_url if endpoint.proxy is not None else endpoint.url
    handler = CloudWatchHandler(
        log_group=group, endpoint_url=url, redact=False, max_queue_bytes=4 * 1024 * 1024
    )
    logger = logging.getLogger("load")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    samples: list[int] = []
    max_queue = 0
    try:
        end = time.monotonic() + 8
        i = 0
        next_sample = time.monotonic()
        while time.monotonic() < end:
            for _ in range(200):
                logger.info("load %d %s", i, "x" * 150)
                i += 1
            time.sleep(0.004)  # ~40k events/s: about what the endpoint sustains here
            if time.monotonic() >= next_sample:
                samples.append(_rss())
                max_queue = max(max_queue, handler.stats()["queue_bytes"])
                next_sample += 0.5
        assert handler.flush(timeout=30)
    finally:
        logger.removeHandler(handler)
        handler.close()
    half = len(samples) // 2
    growth = max(samples[half:]) - max(samples[:half])
    assert growth < 40 * 1024 * 1024, f"RSS grew by {growth / 2**20:.1f} MiB in the second half"
    assert max_queue <= 4 * 1024 * 1024
    print(f"load: {i} events, RSS MiB {[round(x / 2**20) for x in samples]}, max queue {max_queue}")

"""Snapshot, JSON schema, encoding fallbacks and truncation, without threads or network."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cwlogs._shipping.diagnostics import INTERNAL_LOGGER, reset_rate_limits
from cwlogs._shipping.encode import encode, fit_message, iso_timestamp, to_event_dict
from cwlogs._shipping.event import snapshot
from cwlogs._shipping.limits import MAX_MESSAGE_BYTES
from cwlogs._shipping.snapshot import FIELD_COST, snapshot_fields
from cwlogs.formatting import JsonFormatter


def _record(msg: str = "hi %s", args: tuple[Any, ...] = ("x",), **extra: Any) -> logging.LogRecord:
    return logging.getLogger("t").makeRecord(
        "t", logging.INFO, "f.py", 3, msg, args, None, extra=extra
    )


class TestSnapshot:
    def test_message_rendered_at_log_time(self) -> None:
        """Mutable args changed after logging do not change the event."""
        args = [1]
        rec = _record("v=%s", (args,))
        ev = snapshot(rec, None)
        args.append(2)
        assert ev.message == "v=[1]"

    def test_immutable_args_render_the_same_text_later(self) -> None:
        """Numbers and strings are formatted on the worker, to the text getMessage gives."""
        rec = _record("seq=%06d total %.2f by %s %r", (7, 129.9, "u42", None))
        ev = snapshot(rec, None)
        assert ev.message == rec.getMessage() == "seq=000007 total 129.90 by u42 None"

    def test_bad_format_arguments_are_kept_visibly(self) -> None:
        """A format that does not fit its arguments is shipped with the failure noted
        (and reported on stderr), not lost."""
        reported: list[logging.LogRecord] = []
        listener = logging.Handler()
        listener.emit = reported.append  # type: ignore[method-assign]
        INTERNAL_LOGGER.addHandler(listener)
        reset_rate_limits()
        try:
            ev = snapshot(_record("count %d of %d", ("many",)), None)
            assert ev.message.startswith("count %d of %d ('many',) [formatting failed: TypeError")
        finally:
            INTERNAL_LOGGER.removeHandler(listener)
        # stderr names the template and the error, never the arguments (they may hold PII:
        # the shipped message is redacted, stderr is not).
        shown = [r.getMessage() for r in reported]
        assert ["'count %d of %d' failed: TypeError" in m and "many" not in m for m in shown] == [
            True
        ]

    def test_a_big_argument_counts_against_the_queue(self) -> None:
        """A 5 MB argument held for later formatting weighs 5 MB in the memory bound."""
        ev = snapshot(_record("payload %s", ("x" * 5_000_000,)), None)
        assert ev.cost > 10_000_000  # held once, and once more when rendered

    def test_extras_set_by_a_record_factory_are_kept(self) -> None:
        """An attribute a LogRecord subclass sets before the standard ones is an extra too."""

        class Stamped(logging.LogRecord):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                self.request_id = "req-1"
                super().__init__(*args, **kwargs)

        rec = Stamped("a", logging.INFO, "f.py", 1, "hi", (), None)
        rec.user = "bob"
        assert snapshot(rec, None).extras == {"request_id": "req-1", "user": "bob"}

    def test_extras_copied_in_caller_order(self) -> None:
        """Only user extras are kept, in the order given."""
        ev = snapshot(_record(z=1, a=2), None)
        assert list(ev.extras or {}) == ["z", "a"]

    def test_attributes_another_formatter_added_are_not_extras(self) -> None:
        """A text handler that ran first leaves message/asctime on the record: the JSON
        event keeps its own message and gains no asctime."""
        rec = _record("order %s", (42,), order_id=42)
        logging.Formatter("%(asctime)s %(message)s").format(rec)
        event = to_event_dict(snapshot(rec, None))
        assert event["message"] == "order 42" and event["order_id"] == 42
        assert "asctime" not in event and "message_" not in event

    def test_a_record_that_caches_its_message_keeps_its_extras(self) -> None:
        """A LogRecord subclass whose getMessage stores the text on the record is
        snapshotted whole: the extras are read before the message is rendered."""

        class Caching(logging.LogRecord):
            def getMessage(self) -> str:
                self.rendered = super().getMessage()
                return self.rendered

        rec = Caching("a", logging.INFO, "f.py", 1, "order %s", ([42],), None)
        rec.user = "u1"
        event = to_event_dict(snapshot(rec, None))
        assert event["message"] == "order [42]" and event["user"] == "u1"
        assert "rendered" not in event

    def test_another_formatters_attributes_do_not_weigh_on_the_queue(self) -> None:
        """A text handler that ran first adds message/asctime to the record; they are not
        queued, so the record counts the same against max_queue_bytes."""
        plain = _record("order %s", (42,), order_id=42)
        seen = _record("order %s", (42,), order_id=42)
        logging.Formatter("%(asctime)s %(message)s").format(seen)
        assert snapshot(seen, None).cost == snapshot(plain, None).cost

    def test_record_not_mutated(self) -> None:
        """Snapshotting leaves the record as other handlers will see it."""
        rec = _record(k=1)
        before = dict(rec.__dict__)
        snapshot(rec, {"trace_id": "t"})
        assert rec.__dict__ == before

    def test_exception_rendered(self) -> None:
        """exc_info becomes type, message and the formatted stack."""
        try:
            raise KeyError("missing")
        except KeyError:
            rec = logging.getLogger("t").makeRecord(
                "t", logging.ERROR, "f.py", 1, "boom", (), sys.exc_info()
            )
        ev = to_event_dict(snapshot(rec, None))
        assert ev["exception"]["type"] == "KeyError"
        assert "raise KeyError" in ev["exception"]["stack"]


class TestSchema:
    def test_field_order_and_context(self) -> None:
        """Core fields first, then static, context and extras; core fields win collisions."""
        rec = _record(order=7, level="spoof")
        ev = to_event_dict(snapshot(rec, {"trace_id": "abc"}), {"service": "api"})
        assert list(ev)[:4] == ["timestamp", "level", "message", "logger"]
        assert ev["level"] == "info" and ev["level_"] == "spoof"
        assert (ev["service"], ev["trace_id"], ev["order"]) == ("api", "abc", 7)

    def test_iso_timestamp(self) -> None:
        """Timestamps are ISO-8601 UTC with milliseconds."""
        assert iso_timestamp(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
        assert iso_timestamp(1_700_000_000_999) == "2023-11-14T22:13:20.999Z"

    def test_json_formatter_matches_handler_schema(self) -> None:
        """JsonFormatter on any handler produces the same JSON as the worker path."""
        rec = _record(k="v")
        via_formatter = orjson.loads(JsonFormatter(service="s").format(rec))
        via_worker = orjson.loads(encode(to_event_dict(snapshot(rec, None), {"service": "s"})))
        assert via_formatter == via_worker


class TestEncode:
    def test_fallbacks(self) -> None:
        """bytes, sets, cycles, huge ints and odd objects never raise."""
        cyc: list[Any] = []
        cyc.append(cyc)

        class Bad:
            def __repr__(self) -> str:
                raise RuntimeError("no repr")

        out = orjson.loads(
            encode({"b": b"\xff", "s": {2, 1}, "c": cyc, "n": 2**80, "bad": Bad(), 3: "k"})
        )
        assert out["s"] == [1, 2]
        assert out["c"] == ["<cycle>"]
        assert out["n"] == str(2**80)
        assert out["bad"] == "<unrepresentable Bad>"
        assert out["3"] == "k"

    def test_stable_keys(self) -> None:
        """The same event encodes to the same bytes."""
        ev = {"a": 1, "b": [1, 2]}
        assert encode(ev) == encode(dict(ev))


class TestFit:
    def test_small_messages_untouched(self) -> None:
        """Messages under the limit pass unchanged."""
        data = encode({"message": "x"})
        assert fit_message(data, {"message": "x"}) == (data, False)

    def test_json_truncation_keeps_valid_json(self) -> None:
        """An oversized JSON event is cut to the limit, stays JSON and says so."""
        ev = {"timestamp": "t", "level": "info", "message": '"\\' * 600_000, "logger": "l"}
        data, cut = fit_message(encode(ev), ev)
        assert cut and len(data) <= MAX_MESSAGE_BYTES
        out = orjson.loads(data)
        assert out["truncated"] is True and out["original_bytes"] > MAX_MESSAGE_BYTES

    def test_huge_extras_fall_back_to_core(self) -> None:
        """When extras alone overflow, the core fields and a cut message survive."""
        ev = {
            "timestamp": "t",
            "level": "info",
            "message": "m",
            "logger": "l",
            "blob": ["x" * 1000] * 2000,
        }
        data, cut = fit_message(encode(ev), ev)
        out = orjson.loads(data)
        assert cut and out["message"] == "m" and "blob" not in out and out["truncated"]

    def test_text_truncation(self) -> None:
        """Plain text is cut on a character boundary and marked."""
        text = ("é" * 700_000).encode()
        data, cut = fit_message(text, None)
        assert cut and len(data) <= MAX_MESSAGE_BYTES
        assert data.decode().endswith("[truncated]")


class TestDiagnostics:
    def test_a_lazy_message_is_built_only_when_shown(self) -> None:
        """Overflow reports a drop per log call: the text is built once per interval, and
        a message that fails to build is not an error for the application."""
        from cwlogs._shipping.diagnostics import warn_rate_limited

        reported: list[logging.LogRecord] = []
        listener = logging.Handler()
        listener.emit = reported.append  # type: ignore[method-assign]
        INTERNAL_LOGGER.addHandler(listener)
        reset_rate_limits()
        built: list[int] = []

        def text() -> str:
            built.append(1)
            return f"dropped {len(built)}"

        def broken() -> str:
            raise RuntimeError("dictionary changed size during iteration")

        try:
            shown = [warn_rate_limited("lazy", text) for _ in range(1000)]
            assert warn_rate_limited("lazy-broken", broken) is False
        finally:
            INTERNAL_LOGGER.removeHandler(listener)
        assert shown.count(True) == 1 and len(built) == 1
        assert [r.getMessage() for r in reported] == ["dropped 1"]


class TestQueuedSnapshot:
    def test_the_queued_tuple_makes_the_same_event_as_the_constructor(self) -> None:
        """What the handler queues (a tuple) becomes the Event a direct snapshot would be:
        same fields, same size estimate, same JSON."""
        from cwlogs._shipping.event import event_from_item
        from cwlogs._shipping.snapshot import snapshot_fields
        from cwlogs.formatting import Event

        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
        record = logging.getLogger("t").makeRecord(
            "t.q",
            logging.ERROR,
            "f.py",
            3,
            "order %s for %s",
            (7, "ann"),
            exc_info,
            extra={"order_id": 7, "tags": ["a"]},
            sinfo="Stack (most recent call last):",
        )
        queued = event_from_item((5, *snapshot_fields(record, {"request_id": "r1"}, True)))
        direct = Event(
            record.created,
            logging.ERROR,
            "ERROR",
            "t.q",
            "order %s for %s",
            {"order_id": 7, "tags": ["a"]},
            {"request_id": "r1"},
            queued.exc,
            "Stack (most recent call last):",
            record.threadName,
            False,
            (7, "ann"),
        )
        assert queued.seq == 5
        for name in (
            "ts",
            "levelno",
            "levelname",
            "logger",
            "message",
            "extras",
            "context",
            "stack",
            "thread",
            "est",
            "cost",
        ):
            assert getattr(queued, name) == getattr(direct, name), name
        assert queued.exc is not None and queued.exc["type"] == "ValueError"
        assert to_event_dict(queued) == to_event_dict(direct)


def test_timestamps_before_the_epoch() -> None:
    """The timestamp caches start with no value a real timestamp could match, so even
    the first call in a process renders a record stamped just before 1970."""
    import subprocess

    code = "from cwlogs._shipping.encode import iso_timestamp as t; print(t(-1), t(-2000))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1969-12-31T23:59:59.999Z", "1969-12-31T23:59:58.000Z"]


class TestMemoryBound:
    """What an event counts against max_queue_bytes covers what it really holds, queued
    (the snapshot) and once encoded (the snapshot released, the JSON kept)."""

    @staticmethod
    def _records(kind: str, n: int) -> list[logging.LogRecord]:
        out = []
        for i in range(n):
            if kind == "exception":
                try:
                    raise ValueError(f"bad {i}")
                except ValueError:
                    exc_info = sys.exc_info()
                out.append(_record("failed %s", (i,)))
                out[-1].exc_info = exc_info
            elif kind == "extras":
                out.append(_record("req", (), **{f"k{j}": i + j for j in range(10)}))
            else:
                out.append(_record(f"user {i} from 10.0.0.{i % 255} took {i * 3} ms", ()))
        return out

    @pytest.mark.parametrize("kind", ["exception", "extras", "text"])
    def test_cost_covers_queued_and_encoded_memory(self, kind: str) -> None:
        import gc
        import tracemalloc

        from cwlogs._shipping.encode import render_item
        from cwlogs._shipping.event import event_from_prepared, prepared_item
        from cwlogs._shipping.snapshot import snapshot_fields

        n = 300
        records = self._records(kind, n)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            items = [(i, *snapshot_fields(r, None)) for i, r in enumerate(records)]
            queued = (tracemalloc.get_traced_memory()[0] - before) / n
            del records
            # The worker holds the taken items and their encoded form until the batch
            # is resolved: both at once.
            prepared = [prepared_item(it, render_item(it, None, None)[0], "s") for it in items]
            gc.collect()
            encoded = (tracemalloc.get_traced_memory()[0] - before) / n
        finally:
            tracemalloc.stop()
        cost = min(it[1] for it in items)
        assert queued <= cost and encoded <= cost, (queued, encoded, cost)
        assert event_from_prepared(prepared[0]).message


# --------------------------------------------------------------------------- isolation


class _Unprintable:
    def __str__(self) -> str:
        raise ValueError("no str")

    def __repr__(self) -> str:
        raise ValueError("no repr")


def _rendered(record: logging.LogRecord, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the worker would ship for ``record``: valid UTF-8 JSON, parsed back."""
    from cwlogs._shipping.encode import render
    from cwlogs._shipping.event import event_from_item
    from cwlogs._shipping.snapshot import snapshot_fields

    data, _ = render(event_from_item((1, *snapshot_fields(record, context))), None, None)
    parsed: dict[str, Any] = orjson.loads(data.decode("utf-8"))
    return parsed


def _exc_info(text: str) -> Any:
    try:
        raise ValueError(text)
    except ValueError:
        return sys.exc_info()


class TestAnyValueEncodes:
    """Whatever a program logs is shipped in a safe, marked form; nothing raises."""

    @pytest.mark.parametrize(
        ("where", "field"),
        [("message", "message"), ("extra_key", "k\ufffd"), ("extra_value", "k"),
         ("logger", "logger"), ("context", "ctx")],
    )  # fmt: skip
    def test_a_lone_surrogate_becomes_a_replacement_character(self, where: str, field: str) -> None:
        """A lone surrogate (which orjson refuses) is replaced by U+FFFD; the rest stays."""
        bad = "a\ud800b"
        name = bad if where == "logger" else "t"
        rec = logging.LogRecord(name, logging.INFO, "f.py", 1, "m", (), None)
        if where == "message":
            rec.msg = bad
        elif where == "extra_key":
            rec.__dict__["k\ud800"] = "v"
        elif where == "extra_value":
            rec.__dict__["k"] = bad
        out = _rendered(rec, {"ctx": bad} if where == "context" else None)
        assert out[field] == ("v" if where == "extra_key" else "a\ufffdb")
        assert out["level"] == "info"

    def test_a_surrogate_in_exception_text(self) -> None:
        """The exception's message and traceback keep their text, surrogate replaced."""
        rec = logging.LogRecord("t", logging.ERROR, "f.py", 1, "m", (), _exc_info("x\udcff"))
        out = _rendered(rec)
        assert out["exception"]["message"] == "x\ufffd"
        assert "ValueError: x\ufffd" in out["exception"]["stack"]

    def test_a_valid_surrogate_pair_is_joined(self) -> None:
        """A pair of surrogates (from a UTF-16 source) is the character it encodes."""
        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, "\ud83d\ude00 \ud800", (), None)
        assert _rendered(rec)["message"] == "\U0001f600 \ufffd"

    def test_objects_that_refuse_str_and_repr(self) -> None:
        """An extra whose __repr__ raises is named by its type; its neighbours survive."""
        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, "m", (), None)
        rec.__dict__.update(bad=_Unprintable(), good=1, nested={"x": [_Unprintable(), "\ud800"]})
        out = _rendered(rec)
        assert out["bad"] == "<unrepresentable _Unprintable>"
        assert out["nested"] == {"x": ["<unrepresentable _Unprintable>", "\ufffd"]}
        assert out["good"] == 1

    def test_containers_dataclasses_bytes_sets_cycles_and_depth(self) -> None:
        """Every odd shape ships; a dataclass is a dict of its fields even on the slow path."""
        import dataclasses

        @dataclasses.dataclass
        class Order:
            id: int
            note: str

        deep: list[Any] = []
        cur = deep
        for _ in range(3000):
            cur.append([])
            cur = cur[0]
        cyc: dict[str, Any] = {}
        cyc["self"] = cyc
        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, "m", (), None)
        rec.__dict__.update(
            order=Order(7, "n\ud800"), raw=b"\xff\x00a", tags={"b", "a"}, deep=deep, cyc=cyc
        )
        out = _rendered(rec)
        assert out["order"] == {"id": 7, "note": "n\ufffd"}
        assert out["raw"] == "\ufffd\x00a" and out["tags"] == ["a", "b"]
        assert out["cyc"] == {"self": "<cycle>"}
        assert "<too deep>" in orjson.dumps(out["deep"]).decode()

    def test_odd_record_attributes(self) -> None:
        """A record with a non-str name, a level name of None and a bad time still ships."""
        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, "m", (), None)
        rec.name = 42  # type: ignore[assignment]
        rec.levelname = None  # type: ignore[assignment]
        rec.created = "yesterday"  # type: ignore[assignment]
        out = _rendered(rec)
        assert (out["message"], out["logger"], out["level"]) == ("m", "42", "none")

    def test_encode_never_raises_for_a_failing_native_type(self) -> None:
        """Even a datetime whose tzinfo raises is shipped as text."""
        import datetime

        class BadZone(datetime.tzinfo):
            def utcoffset(self, dt: Any) -> Any:
                raise RuntimeError("no offset")

        when = datetime.datetime(2026, 1, 1, tzinfo=BadZone())
        out = orjson.loads(encode({"when": when, "s": "\ud800"}))
        assert out["s"] == "\ufffd" and out["when"].startswith("<unrepresentable")


class TestMessagesThatFailToRender:
    """A record whose message cannot be rendered is shipped with its template, arguments
    and the failure noted: the stdlib would print "Logging error" and lose it."""

    @pytest.mark.parametrize(
        ("msg", "args", "shown"),
        [
            ("a %s %s", ({"k": 1},), "a %s %s {'k': 1} [formatting failed: TypeError"),
            ("a %s %s", ([1],), "a %s %s ([1],) [formatting failed: TypeError"),
            ("a %d", ("x",), "a %d ('x',) [formatting failed: TypeError"),
            ("a %s %s", (1,), "a %s %s (1,) [formatting failed: TypeError"),
            ("%(a)s %(b)s", ({"a": 1},), "%(a)s %(b)s {'a': 1} [formatting failed: KeyError"),
            ("a %s", (_Unprintable(),), "a %s (<unrepresentable _Unprintable>) [formatting"),
            (_Unprintable(), (), "<unprintable _Unprintable> () [formatting failed: ValueError"),
        ],
    )
    def test_marked_message(self, msg: Any, args: tuple[Any, ...], shown: str) -> None:
        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, msg, args, None)
        assert _rendered(rec)["message"].startswith(shown)

    def test_a_failing_user_formatter(self) -> None:
        """A user formatter that raises: the message is shipped with the failure noted."""
        from cwlogs._shipping.formatter import record_to_event

        class Broken(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                raise RuntimeError("broken formatter")

        rec = logging.LogRecord("t", logging.INFO, "f.py", 1, "hello %s", ("w",), None)
        ev = record_to_event(rec, Broken(), None)
        assert ev.message == "hello w [formatter Broken failed: RuntimeError: broken formatter]"


class TestFitKeepsTheBeginning:
    """Truncation keeps as much of the beginning of the message as the limit allows."""

    @staticmethod
    def _fit(message: str, max_bytes: int, **extra: Any) -> tuple[dict[str, Any], int]:
        ev = {"timestamp": "2026-01-01T00:00:00.000Z", "level": "info", "message": message,
              "logger": "l", **extra}  # fmt: skip
        data, _ = fit_message(encode(ev), ev, max_bytes)
        return orjson.loads(data), len(data)

    def test_escape_heavy_message_is_not_shipped_empty(self) -> None:
        """A 2 MB message of quotes and control characters keeps ~1 MB of its beginning."""
        out, size = self._fit('"\\\x01' * 700_000, MAX_MESSAGE_BYTES)
        assert size <= MAX_MESSAGE_BYTES and out["truncated"] is True
        assert len(orjson.dumps(out["message"])) > MAX_MESSAGE_BYTES - 200

    def test_message_before_traceback(self) -> None:
        """With a long traceback, the message is kept whole and the traceback cut."""
        exc = {"type": "E", "message": "m", "stack": "frame\n" * 200_000}
        out, size = self._fit("x" * 500_000, MAX_MESSAGE_BYTES, exception=exc)
        assert size <= MAX_MESSAGE_BYTES and out["message"] == "x" * 500_000
        assert out["exception"]["stack"].startswith("frame\n") and out["exception"]["type"] == "E"

    @given(
        text=st.text(alphabet='"\\\x00\x01\n\t\u2028é€\U0001f600a/<', max_size=400),
        max_bytes=st.integers(min_value=120, max_value=900),
        extra=st.text(alphabet='a"\x02', max_size=60),
    )
    @settings(max_examples=300, deadline=None)
    def test_prefix_is_the_longest_that_fits(self, text: str, max_bytes: int, extra: str) -> None:
        out, size = self._fit(text, max_bytes, e=extra)
        kept = out["message"]
        assert size <= max_bytes and text.startswith(kept)
        if kept != text and out.get("e") == extra:  # one more character would not fit
            longer = dict(out, message=text[: len(kept) + 1])
            assert len(encode(longer)) > max_bytes


class TestCostCoversWhatARecordHolds:
    """A queued record's cost covers everything the queue keeps alive for it once the
    application has let go of the record: message, arguments, extras, context, traceback."""

    @staticmethod
    def _make(kind: str, i: int) -> tuple[logging.LogRecord, dict[str, Any] | None]:
        if kind == "big_extra":  # the measured case: 600 KB extras
            return _record("req %s", (i,), payload="p" * 600_000 + str(i)), None
        if kind == "nested_extras":
            rows = [
                {"id": j, "name": f"row {j} of {i}" * 20, "tags": ["a", "b"]} for j in range(300)
            ]
            return _record("rows", (), rows=rows, blob=b"b" * 50_000), None
        if kind == "non_ascii_extra":
            return _record("m", (), note="€" * 100_000 + str(i)), None
        if kind == "context":
            return _record("m", ()), {"session": "s" * 200_000 + str(i), "ids": list(range(2000))}
        if kind == "big_args":
            return _record("m %s", ("é" * 300_000 + str(i),)), None
        raise AssertionError(kind)

    @pytest.mark.parametrize(
        "kind", ["big_extra", "nested_extras", "non_ascii_extra", "context", "big_args"]
    )
    def test_cost_covers_retained_memory(self, kind: str) -> None:
        import gc
        import tracemalloc

        from cwlogs._shipping.snapshot import ITEM_COST, snapshot_fields

        n = 20
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            items = []
            for i in range(n):
                record, context = self._make(kind, i)
                items.append((i, *snapshot_fields(record, context)))
                del record, context  # the application is done with it: the queue holds it
            gc.collect()
            held = (tracemalloc.get_traced_memory()[0] - before) / n
        finally:
            tracemalloc.stop()
        cost = min(item[ITEM_COST] for item in items)
        assert held <= cost <= 8 * held, (held, cost)


def test_arguments_nested_too_deep_ship_marked() -> None:
    """A value nested thousands deep (repr raises RecursionError) is shipped marked."""
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    record = logging.LogRecord("app", logging.WARNING, __file__, 1, "payload %s", (deep,), None)
    ev = snapshot(record, None)
    assert ev.message.startswith("payload ") and "too deep" in ev.message


class _Slotted:
    __slots__ = ("blob",)

    def __init__(self, blob: str) -> None:
        self.blob = blob


@pytest.mark.parametrize(
    "shape",
    ["big item after sixteen small", "big string six levels deep", "slots object"],
)
def test_the_shapes_a_sample_misses_are_weighed(shape: str) -> None:
    """A 1 MB string hidden where sampling would not look still counts against the queue."""
    big = "x" * 1_000_000
    value: object = {
        "big item after sixteen small": ["a"] * 16 + [big],
        "big string six levels deep": {"a": {"b": {"c": {"d": {"e": {"f": big}}}}}},
        "slots object": _Slotted(big),
    }[shape]
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "m", None, None)
    record.payload = value
    assert snapshot_fields(record, None)[FIELD_COST] >= 1_000_000

"""A local CloudWatch Logs endpoint for tests: moto's server behind a strict, fault-injecting proxy.

moto accepts PutLogEvents calls that AWS rejects (10,001 events, 5 MB, 30 h spans), and it
cannot fail on demand. :class:`StrictProxy` sits between boto3 and moto over real HTTP,
rejects what AWS would reject, records every call and injects throttling, 5xx errors,
unknown 4xx codes, a reverse proxy's HTML 413 (or a body-size limit), a 200 whose body is
HTML, resets, hangs and outages so the resilience paths can be tested without AWS.

>>> with MotoServer() as moto, StrictProxy(moto.url) as proxy:  # doctest: +SKIP
...     client = make_client(region="us-east-1", endpoint_url=proxy.url)
...     proxy.inject("PutLogEvents", Fault.throttle())
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import http.client
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, Final, Literal, cast
from urllib.parse import urlsplit

import orjson

from cwlogs._memory import MemoryExporter

__all__ = [
    "EVENT_OVERHEAD_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_EVENTS_PER_CALL",
    "MAX_EVENT_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_SPAN_MS",
    "Fault",
    "MemoryExporter",
    "MotoServer",
    "RecordedRequest",
    "StrictProxy",
    "free_port",
    "validate_put_log_events",
]

# The proxy checks the library, so it keeps its own copy of the service limits instead of
# importing cwlogs.limits: a wrong constant there must fail the tests, not pass them.
MAX_EVENTS_PER_CALL: Final = 10_000
EVENT_OVERHEAD_BYTES: Final = 26
MAX_BATCH_BYTES: Final = 1_048_576
MAX_EVENT_BYTES: Final = 1_048_576  # message bytes + overhead, like the batch limit
MAX_MESSAGE_BYTES: Final = MAX_EVENT_BYTES - EVENT_OVERHEAD_BYTES
MAX_SPAN_MS: Final = 24 * 60 * 60 * 1000

_TOO_NEW_MS: Final = 2 * 60 * 60 * 1000
_JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.1"
# RFC 9110 §7.6.1 plus the headers this proxy recomputes itself.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- moto server


class MotoServer:
    """moto's standalone server in a child process, for tests that need a real HTTP endpoint.

    >>> with MotoServer() as moto:  # doctest: +SKIP
    ...     client = make_client(region="us-east-1", endpoint_url=moto.url)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        startup_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._process is None:
            raise RuntimeError("MotoServer is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> MotoServer:
        with self._lock:
            if self._process is not None:
                return self
            # A port picked by free_port() can be taken before moto binds it; only then is
            # a second try with a fresh port safe, because the caller did not ask for that port.
            attempts = 3 if self.port == 0 else 1
            requested = self.port
            for attempt in range(attempts):
                self.port = requested or free_port(self.host)
                try:
                    if requested:
                        # Another server on that port would answer our readiness probe
                        # while moto fails to bind: check the port is free first.
                        _check_port_free(self.host, self.port)
                    self._spawn_and_wait()
                except RuntimeError as exc:
                    address_taken = "address already in use" in str(exc).lower()
                    if attempt + 1 < attempts and address_taken:
                        continue
                    raise
                else:
                    break
            # atexit covers a test run that ends without the fixture's teardown (Ctrl-C,
            # pytest -x); a SIGKILLed parent still leaves the child behind.
            atexit.register(self.stop)
            return self

    def _spawn_and_wait(self) -> None:
        fd, self.log_path = tempfile.mkstemp(prefix="cwlogs-moto-", suffix=".log")
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        # moto ignores credentials, but its in-process boto3 calls (e.g. subscription
        # delivery) must never find the developer's real ones or a redirecting endpoint.
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            PYTHONUNBUFFERED="1",
        )
        # A file, not a pipe: nobody drains a pipe during the test run, and moto logs a
        # line per request, so a pipe would fill up and block the server.
        with os.fdopen(fd, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._process = process
        try:
            self._wait_until_ready(process)
        except BaseException:
            if self._process is not None:  # Ctrl-C while waiting must not orphan moto
                self._discard(process)
                self._remove_log()
            raise

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = process.poll()
            if code is not None:
                self._discard(process)
                raise RuntimeError(
                    f"moto server exited with code {code} during startup on port {self.port}:\n"
                    f"{self._log_tail_and_remove()}"
                )
            if self._answers():
                return
            if time.monotonic() >= deadline:
                self._discard(process)
                raise RuntimeError(
                    f"moto server did not answer on {self.host}:{self.port} within "
                    f"{self.startup_timeout:.0f} s:\n{self._log_tail_and_remove()}"
                )
            time.sleep(0.05)

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=1.0)
        try:
            connection.request("GET", "/moto-api/")
            connection.getresponse().read()
        except OSError:
            return False
        finally:
            connection.close()
        return True

    def _discard(self, process: subprocess.Popen[bytes]) -> None:
        self._terminate(process)
        self._process = None

    def _terminate(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(self.stop_timeout)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines moto wrote, for failure messages."""
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - 16_384))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _log_tail_and_remove(self) -> str:
        tail = self.log_tail()
        self._remove_log()
        return tail

    def _remove_log(self) -> None:
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.log_path)
            self.log_path = None

    def stop(self) -> None:
        """Terminate moto (then kill it after ``stop_timeout``); safe to call twice."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                self._terminate(process)
            self._remove_log()
        atexit.unregister(self.stop)

    def reset(self) -> None:
        """Forget every resource moto holds (``POST /moto-api/reset``)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10.0)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"moto reset answered HTTP {response.status}")

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- validation


def _check_port_free(host: str, port: int) -> None:
    """Raise RuntimeError("address already in use") if nothing can bind ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will: a port whose last connections are in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RuntimeError(f"address already in use: {host}:{port} ({exc.strerror})") from None


def _utf8_len(message: str) -> int:
    # Most log lines are ASCII, where the character count is the byte count; skipping the
    # encode keeps the proxy well above the ~50k events/s moto can take.
    return len(message) if message.isascii() else len(message.encode("utf-8"))


def validate_put_log_events(body: Mapping[str, Any]) -> str | None:
    """Return why AWS would reject this PutLogEvents request body, or None if it would accept it.

    >>> validate_put_log_events({"logGroupName": "g", "logStreamName": "s", "logEvents": []})
    'logEvents: at least one event is required'
    """
    for key in ("logGroupName", "logStreamName"):
        name = body.get(key)
        if not isinstance(name, str) or not name:
            return f"{key}: required and must be a non-empty string"
    events = body.get("logEvents")
    if not isinstance(events, list | tuple) or not events:
        return "logEvents: at least one event is required"
    if len(events) > MAX_EVENTS_PER_CALL:
        return (
            f"logEvents: {len(events)} events exceed the limit of "
            f"{MAX_EVENTS_PER_CALL} events per call"
        )
    total = 0
    first: int | None = None
    previous: int | None = None
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            return f"logEvents[{index}]: an event must be an object"
        timestamp = event.get("timestamp")
        # bool is an int subclass; JSON true is not a timestamp.
        if type(timestamp) is not int:
            return f"logEvents[{index}].timestamp: required and must be an integer"
        message = event.get("message")
        if not isinstance(message, str) or not message:
            return f"logEvents[{index}].message: required and must be at least 1 character"
        try:
            size = _utf8_len(message) + EVENT_OVERHEAD_BYTES
        except UnicodeEncodeError:
            return f"logEvents[{index}].message: not encodable as UTF-8"
        if size > MAX_EVENT_BYTES:
            return (
                f"logEvents[{index}]: log event too large: {size} bytes (message + "
                f"{EVENT_OVERHEAD_BYTES}) exceeds the limit of {MAX_EVENT_BYTES}"
            )
        if previous is not None and timestamp < previous:
            return (
                f"logEvents[{index}]: log events in a single PutLogEvents request must be "
                "in chronological order"
            )
        if first is None:
            first = timestamp
        previous = timestamp
        total += size
    if total > MAX_BATCH_BYTES:
        return (
            f"logEvents: upload too large: {total} bytes (sum of message + "
            f"{EVENT_OVERHEAD_BYTES} per event) exceeds the limit of {MAX_BATCH_BYTES}"
        )
    assert first is not None  # the list is non-empty
    assert previous is not None
    if previous - first >= MAX_SPAN_MS:
        return (
            f"logEvents: the batch spans {previous - first} ms; the events of one "
            f"PutLogEvents request must span less than 24 hours ({MAX_SPAN_MS} ms)"
        )
    return None


# --------------------------------------------------------------------------- faults

FaultKind = Literal["error", "reset", "delay", "hang", "http", "replace"]

_HTML_413: Final = (
    b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
_HTML_OK: Final = b"<html><body><h1>OK</h1><p>Request forwarded.</p></body></html>"


@dataclass(frozen=True)
class Fault:
    """One thing that goes wrong instead of (or before) forwarding a request.

    >>> Fault.throttle().name
    'ThrottlingException'
    """

    kind: FaultKind
    name: str
    status: int = 0
    code: str = ""
    message: str = ""
    seconds: float = 0.0
    body: bytes = b""
    content_type: str = ""

    @classmethod
    def error(cls, code: str, status: int = 400, message: str = "Injected fault") -> Fault:
        """An AWS JSON error response, e.g. ``Fault.error("AccessDeniedException")``."""
        return cls("error", code, status=status, code=code, message=message)

    @classmethod
    def throttle(cls) -> Fault:
        return cls.error("ThrottlingException", 400, "Rate exceeded")

    @classmethod
    def unavailable(cls) -> Fault:
        return cls.error("ServiceUnavailableException", 503, "The service is unavailable")

    @classmethod
    def internal(cls) -> Fault:
        return cls.error("InternalFailure", 500, "An internal error occurred")

    @classmethod
    def reset(cls) -> Fault:
        """Close the client's socket with a TCP RST and send nothing."""
        return cls("reset", "reset")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait, then forward the request normally."""
        return cls("delay", "delay", seconds=seconds)

    @classmethod
    def http(
        cls, status: int, body: bytes = b"", content_type: str = "text/html", name: str = ""
    ) -> Fault:
        """A raw HTTP answer that is not an AWS error (a reverse proxy's page); not forwarded."""
        return cls(
            "http", name or f"http_{status}", status=status, body=body, content_type=content_type
        )

    @classmethod
    def too_large(cls) -> Fault:
        """HTTP 413 with nginx's HTML page, as a proxy with a body-size limit answers."""
        return cls.http(413, _HTML_413, name="too_large")

    @classmethod
    def unknown_client_error(cls, code: str = "SomeNewValidationException") -> Fault:
        """A 400 with an error code no client knows yet."""
        return cls.error(code, 400, "Injected unknown client error")

    @classmethod
    def html_ok(cls) -> Fault:
        """Forward the request (upstream stores the events), then answer 200 with an HTML
        body instead of upstream's JSON: a client that resends stores duplicates."""
        return cls("replace", "html_ok", status=200, body=_HTML_OK, content_type="text/html")

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Send nothing for ``seconds``, then close the connection; nothing is forwarded."""
        return cls("hang", "hang", seconds=seconds)


@dataclass
class _Queued:
    fault: Fault
    remaining: int


@dataclass
class _RandomFault:
    operation: str
    fault: Fault
    probability: float
    rng: random.Random


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class RecordedRequest:
    """What the proxy saw and did for one request.

    ``status`` is 0 when no HTTP response was sent (reset, hang, client gone).
    ``accepted`` is the ``(start, stop)`` slice of events upstream ingested, from the
    response's ``rejectedLogEventsInfo``; ``(0, 0)`` when the call failed.

    >>> proxy.calls("PutLogEvents")[-1].n_events  # doctest: +SKIP
    3
    """

    operation: str
    status: int
    n_events: int = 0
    batch_bytes: int = 0
    rejected_reason: str | None = None
    fault: str | None = None
    group: str | None = None
    stream: str | None = None
    timestamps: tuple[int, ...] = ()
    messages: tuple[str, ...] | None = None
    accepted: tuple[int, int] = (0, 0)
    seconds: float = field(default=0.0, compare=False)

    @property
    def accepted_messages(self) -> tuple[str, ...]:
        if self.messages is None:
            return ()
        start, stop = self.accepted
        return self.messages[start:stop]


def _operation(target: str | None, method: str, path: str) -> str:
    if target:
        return target.rpartition(".")[2]
    # moto's own API (reset, dashboard) carries no target; name it by method and path.
    return f"{method} {path.split('?', 1)[0]}"


def _summarize(
    events: list[Any], record_bodies: bool
) -> tuple[int, tuple[int, ...], tuple[str, ...] | None]:
    """Batch bytes, timestamps and messages, tolerating the malformed bodies strict mode rejects."""
    total = 0
    timestamps: list[int] = []
    messages: list[str] = []
    for event in events:
        message = event.get("message") if isinstance(event, dict) else None
        timestamp = event.get("timestamp") if isinstance(event, dict) else None
        text = message if isinstance(message, str) else ""
        try:
            total += _utf8_len(text) + EVENT_OVERHEAD_BYTES
        except UnicodeEncodeError:
            total += len(text.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES
        timestamps.append(timestamp if type(timestamp) is int else 0)
        if record_bodies:
            messages.append(text)
    return total, tuple(timestamps), tuple(messages) if record_bodies else None


def _accepted_slice(payload: bytes, timestamps: tuple[int, ...]) -> tuple[int, int]:
    n_events = len(timestamps)
    try:
        response = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        return 0, n_events
    info = response.get("rejectedLogEventsInfo") if isinstance(response, dict) else None
    if not isinstance(info, dict):
        return 0, n_events
    start = 0
    for key in ("tooOldLogEventEndIndex", "expiredLogEventEndIndex"):
        end = info.get(key)
        if isinstance(end, int):
            start = max(start, end + 1)
    stop = info.get("tooNewLogEventStartIndex")
    if isinstance(stop, int):
        # moto 5.2.5 reports the *last* too-new index, not the first; an accepted call is
        # chronological, so the first event past now + 2 h is where rejection really starts.
        too_new_after = int(time.time() * 1000) + _TOO_NEW_MS
        stop = min(stop, bisect.bisect_right(timestamps, too_new_after))
    else:
        stop = n_events
    return start, max(start, stop)


# --------------------------------------------------------------------------- the proxy


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], proxy: StrictProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _ProxyHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the FQDN of the bind address, which can stall
        # for seconds without DNS; the name is never used here.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-request are routine in fault tests; anything else is a bug.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # ThreadingHTTPServer runs one handler per client connection on its own thread, so a
    # connection held here is the per-thread upstream connection, closed in finish().
    _upstream: http.client.HTTPConnection | None = None

    @property
    def proxy(self) -> StrictProxy:
        return cast(_ProxyServer, self.server).proxy

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle plus the
        # client's delayed ACK would add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proxy._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._upstream is not None:
                self._upstream.close()
            self.proxy._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request on stderr would bury the test output

    def _proxy_request(self) -> None:
        started = time.monotonic()
        proxy = self.proxy
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        target = self.headers.get("X-Amz-Target")
        operation = _operation(target, self.command, self.path)
        parsed: dict[str, Any] = {}
        if target and body:
            with contextlib.suppress(orjson.JSONDecodeError):
                loaded = orjson.loads(body)
                if isinstance(loaded, dict):
                    parsed = loaded
        group = parsed.get("logGroupName")
        stream = parsed.get("logStreamName")
        is_put = operation == "PutLogEvents"
        n_events, batch_bytes = 0, 0
        timestamps: tuple[int, ...] = ()
        messages: tuple[str, ...] | None = None
        if is_put:
            events = parsed.get("logEvents")
            events = events if isinstance(events, list) else []
            n_events = len(events)
            batch_bytes, timestamps, messages = _summarize(events, proxy.record_bodies)

        def record(status: int, **extra: Any) -> None:
            proxy._record(
                RecordedRequest(
                    operation=operation,
                    status=status,
                    n_events=n_events,
                    batch_bytes=batch_bytes,
                    group=group if isinstance(group, str) else None,
                    stream=stream if isinstance(stream, str) else None,
                    timestamps=timestamps,
                    messages=messages,
                    seconds=time.monotonic() - started,
                    **extra,
                )
            )

        # Every branch records before it answers, so a test that reads proxy.requests right
        # after its call returns always finds the call there.
        limit = proxy.max_body_bytes
        if limit is not None and len(body) > limit:  # like nginx's client_max_body_size
            record(413, fault="body_limit")
            # The body was read whole, so the connection stays usable: closing it right
            # after answering raced the client's read of the answer (a reset instead).
            self._send(413, None, [("Content-Type", "text/html")], _HTML_413)
            return
        fault = proxy._take_fault(operation, body)
        if fault is not None and fault.kind == "http":
            record(fault.status, fault=fault.name)
            self._send(fault.status, None, [("Content-Type", fault.content_type)], fault.body)
            return
        if fault is not None and fault.kind == "error":
            record(fault.status, fault=fault.name)
            self._send_json_error(fault.status, fault.code, fault.message)
            return
        if fault is not None and fault.kind == "reset":
            record(0, fault=fault.name)
            self._abort()
            return
        if fault is not None and fault.kind == "hang":
            record(0, fault=fault.name)
            # An Event rather than sleep, so stop() and set_down() cut a long hang short.
            proxy._interrupt.wait(fault.seconds)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "delay":
            proxy._interrupt.wait(fault.seconds)
        fault_name = fault.name if fault is not None else None

        if is_put and proxy.strict:
            reason = (
                validate_put_log_events(parsed) if parsed else "request body is not a JSON object"
            )
            if reason is not None:
                record(400, rejected_reason=reason, fault=fault_name)
                self._send_json_error(400, "InvalidParameterException", reason)
                return

        try:
            status, reason_phrase, headers, payload = self._forward(body)
        except OSError as exc:
            record(502, fault=fault_name)
            self._send_json_error(502, "BadGateway", f"upstream {proxy.upstream_url}: {exc!r}")
            return
        accepted = _accepted_slice(payload, timestamps) if is_put and status == 200 else (0, 0)
        record(status, fault=fault_name, accepted=accepted)
        if fault is not None and fault.kind == "replace":  # upstream has the data already
            status, reason_phrase = fault.status, "OK"
            headers = [("Content-Type", fault.content_type)]
            payload = fault.body
        self._send(status, reason_phrase, headers, payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy_request

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return b""

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        proxy = self.proxy
        for attempt in range(2):
            connection = self._upstream
            if connection is None:
                connection = self._upstream = http.client.HTTPConnection(
                    proxy._upstream_host, proxy._upstream_port, timeout=proxy.upstream_timeout
                )
            # moto's Werkzeug closes after every response, so the connection is usually fresh;
            # a kept-alive one may have been closed by upstream since, which is worth one retry.
            reused = connection.sock is not None
            try:
                connection.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                has_host = False
                for name, value in self.headers.items():
                    lower = name.lower()
                    if lower in _HOP_BY_HOP:
                        continue
                    has_host = has_host or lower == "host"
                    connection.putheader(name, value)
                if not has_host:
                    connection.putheader("Host", proxy._upstream_netloc)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    connection.putheader("Content-Length", str(len(body)))
                # endheaders() sends headers and a bytes body in one write.
                connection.endheaders(body or None)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused and attempt == 0:
                    continue
                raise
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise OSError(str(exc)) from exc
            return response.status, response.reason, response.getheaders(), payload
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(
        self, status: int, reason: str | None, headers: list[tuple[str, str]], payload: bytes
    ) -> None:
        try:
            self.send_response_only(status, reason or None)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def _send_json_error(self, status: int, code: str, message: str) -> None:
        payload = orjson.dumps({"__type": code, "message": message})
        headers = [
            ("Content-Type", _JSON_CONTENT_TYPE),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("Date", self.date_time_string()),
        ]
        self._send(status, None, headers, payload)

    def _abort(self) -> None:
        # SO_LINGER 0 makes close() send RST instead of FIN: the client sees a reset
        # connection, not a clean end of stream.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.close(self.connection.detach())


class StrictProxy:
    """An HTTP proxy in front of moto: rejects what AWS would reject, records, injects faults.

    >>> with StrictProxy(moto.url) as proxy:  # doctest: +SKIP
    ...     proxy.inject("PutLogEvents", Fault.unavailable(), times=2)
    ...     client = make_client(region="us-east-1", endpoint_url=proxy.url)
    """

    def __init__(
        self,
        upstream_url: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        strict: bool = True,
        record_bodies: bool = True,
        upstream_timeout: float = 60.0,
        max_body_bytes: int | None = None,
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream_url must be http://host:port, got {upstream_url!r}")
        self.upstream_url = upstream_url.rstrip("/")
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self._upstream_netloc = parts.netloc
        self.host = host
        self.port = port
        self.strict = strict
        self.record_bodies = record_bodies
        self.upstream_timeout = upstream_timeout
        #: Refuse request bodies above this many bytes with an HTML 413, as a reverse
        #: proxy does (settable at any time; None: no limit).
        self.max_body_bytes = max_body_bytes
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._faults: dict[str, deque[_Queued]] = {}
        self._random_faults: list[_RandomFault] = []
        self._body_rules: list[tuple[str, bytes, Fault]] = []
        self._connections: set[socket.socket] = set()
        self._interrupt = threading.Event()
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        self._state_lock = threading.Lock()

    # ---- lifecycle

    @property
    def url(self) -> str:
        if not self._started:
            raise RuntimeError("StrictProxy is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    def start(self) -> StrictProxy:
        with self._state_lock:
            if not self._started:
                self._interrupt.clear()
                self._listen()
                self._started = True
        return self

    def stop(self) -> None:
        """Stop listening, drop every client connection and end injected waits; idempotent."""
        with self._state_lock:
            self._started = False
            self._interrupt.set()
            self._close_listener()
            self._abort_connections()

    def __enter__(self) -> StrictProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _listen(self) -> None:
        server = _ProxyServer((self.host, self.port), self)
        self.port = int(server.server_address[1])
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"cwlogs-strict-proxy:{self.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5.0)

    # ---- outage

    def set_down(self, down: bool) -> None:
        """While down, refuse connections and cut open ones; back up, listen on the same port."""
        with self._state_lock:
            if not self._started:
                raise RuntimeError("StrictProxy is not running; call start() first")
            if down and self._server is not None:
                self._interrupt.set()
                self._close_listener()
                self._abort_connections()
            elif not down and self._server is None:
                self._interrupt.clear()
                self._listen()

    @property
    def is_down(self) -> bool:
        return self._started and self._server is None

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """``with proxy.down(): ...`` — an outage for the duration of the block."""
        self.set_down(True)
        try:
            yield
        finally:
            self.set_down(False)

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _abort_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # shutdown() wakes a handler blocked on the next request line; keep-alive
            # clients then find their pooled connection dead instead of waiting on it.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    # ---- faults

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests of ``operation`` (``"*"``: any)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.setdefault(operation, deque()).append(_Queued(fault, times))

    def inject_random(
        self, operation: str, fault: Fault, probability: float, seed: int | None = None
    ) -> None:
        """Fault each ``operation`` request with ``probability``; a seed makes the draws repeat."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        with self._lock:
            self._random_faults.append(
                _RandomFault(operation, fault, probability, random.Random(seed))
            )

    def inject_when(self, operation: str, contains: str | bytes, fault: Fault) -> None:
        """Fault every ``operation`` request whose body contains ``contains`` (its JSON
        form for text), until cleared: a rule like a web firewall's, refusing only the
        requests that carry a given event."""
        if isinstance(contains, str):
            contains = orjson.dumps(contains)[1:-1]
        if not contains:
            raise ValueError("contains must not be empty")
        with self._lock:
            self._body_rules.append((operation, contains, fault))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._random_faults.clear()
            self._body_rules.clear()

    def _take_fault(self, operation: str, body: bytes = b"") -> Fault | None:
        with self._lock:
            for rule_operation, needle, rule_fault in self._body_rules:
                if rule_operation in (operation, "*") and needle in body:
                    return rule_fault
            for key in (operation, "*"):
                queue = self._faults.get(key)
                if queue:
                    queued = queue[0]
                    queued.remaining -= 1
                    if queued.remaining == 0:
                        queue.popleft()
                    return queued.fault
            for rule in self._random_faults:
                if rule.operation in (operation, "*") and rule.rng.random() < rule.probability:
                    return rule.fault
        return None

    # ---- recording

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def calls(self, operation: str | None = None) -> list[RecordedRequest]:
        """The recorded requests for ``operation`` (all when None), oldest first."""
        with self._lock:
            return [r for r in self.requests if operation is None or r.operation == operation]

    def clear(self) -> None:
        """Forget the recorded requests (injected faults stay)."""
        with self._lock:
            self.requests.clear()

    def put_events(self) -> list[str]:
        """Every message upstream ingested, in the order its PutLogEvents calls completed."""
        if not self.record_bodies:
            raise RuntimeError("put_events() needs StrictProxy(record_bodies=True)")
        return [
            message
            for request in self.calls("PutLogEvents")
            if request.status == 200
            for message in request.accepted_messages
        ]

    def wait_for_calls(
        self, operation: str, count: int, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until ``count`` requests of ``operation`` were recorded; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [r for r in self.requests if r.operation == operation]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"saw {len(matching)} of {count} {operation} calls within {timeout} s"
                    )
                self._changed.wait(remaining)

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts by operation, injected fault, HTTP status, and strict rejections by operation."""
        with self._lock:
            requests = list(self.requests)
        return {
            "operations": dict(Counter(r.operation for r in requests)),
            "faults": dict(Counter(r.fault for r in requests if r.fault is not None)),
            "statuses": dict(Counter(str(r.status) for r in requests)),
            "rejected": dict(
                Counter(r.operation for r in requests if r.rejected_reason is not None)
            ),
        }

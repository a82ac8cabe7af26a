"""The strict recording proxy: between boto3 and moto over real HTTP, it rejects what AWS
would reject (:mod:`._validate`), records every call as a :class:`RecordedRequest` and
injects faults (:mod:`._faults`): throttling, 5xx errors, unknown 4xx codes, a reverse
proxy's HTML 413 (or a body-size limit), a 200 whose body is HTML, resets, hangs and
outages, so the resilience paths can be tested without AWS.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import urlsplit

import orjson

from cwlogs.testing._faults import HTML_413, Fault, FaultRules
from cwlogs.testing._recording import RecordedRequest, accepted_slice, operation_of, request_seen
from cwlogs.testing._validate import validate_put_log_events

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


# --------------------------------------------------------------------------- the proxy


def _json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; empty when it is not one."""
    with contextlib.suppress(orjson.JSONDecodeError):
        loaded = orjson.loads(body)
        if isinstance(loaded, dict):
            return loaded
    return {}


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
        parsed = _json_object(body) if target and body else {}
        operation = operation_of(target, self.command, self.path)
        seen = request_seen(operation, parsed, proxy.record_bodies)

        def record(status: int, **extra: Any) -> None:
            proxy._record(replace(seen, status=status, seconds=time.monotonic() - started, **extra))

        # Every branch records before it answers, so a test that reads proxy.requests right
        # after its call returns always finds the call there.
        limit = proxy.max_body_bytes
        if limit is not None and len(body) > limit:  # like nginx's client_max_body_size
            record(413, fault="body_limit")
            # The body was read whole, so the connection stays usable: closing it right
            # after answering raced the client's read of the answer (a reset instead).
            self._send(413, None, [("Content-Type", "text/html")], HTML_413)
            return
        fault = proxy._fault_rules.take(operation, body)
        if fault is not None and self._answer_fault(fault, record):
            return
        fault_name = fault.name if fault is not None else None

        is_put = operation == "PutLogEvents"
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
        ok_put = is_put and status == 200
        accepted = accepted_slice(payload, seen.timestamps) if ok_put else (0, 0)
        record(status, fault=fault_name, accepted=accepted)
        if fault is not None and fault.kind == "replace":  # upstream has the data already
            status, reason_phrase = fault.status, "OK"
            headers = [("Content-Type", fault.content_type)]
            payload = fault.body
        self._send(status, reason_phrase, headers, payload)

    def _answer_fault(self, fault: Fault, record: Callable[..., None]) -> bool:
        """Act out ``fault``; True when that answered the request (nothing is forwarded)."""
        if fault.kind == "http":
            record(fault.status, fault=fault.name)
            self._send(fault.status, None, [("Content-Type", fault.content_type)], fault.body)
            return True
        if fault.kind == "error":
            record(fault.status, fault=fault.name)
            self._send_json_error(fault.status, fault.code, fault.message)
            return True
        if fault.kind == "reset":
            record(0, fault=fault.name)
            self._abort()
            return True
        if fault.kind == "hang":
            record(0, fault=fault.name)
            # An Event rather than sleep, so stop() and set_down() cut a long hang short.
            self.proxy._interrupt.wait(fault.seconds)
            self.close_connection = True
            return True
        if fault.kind == "delay":
            self.proxy._interrupt.wait(fault.seconds)
        return False

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

    >>> from cwlogs.client import make_client
    >>> from cwlogs.simulate import replay
    >>> from cwlogs.testing import MotoServer
    >>> moto = MotoServer().start()
    >>> with StrictProxy(moto.url) as proxy:
    ...     proxy.inject("PutLogEvents", Fault.unavailable(), times=2)
    ...     client = make_client(region="us-east-1", endpoint_url=proxy.url)
    ...     replay(["hi"], ("/app", "web-1"), time_scale=0, client=client).replayed
    ...     [(call.status, call.fault) for call in proxy.calls("PutLogEvents")]
    1
    [(503, 'ServiceUnavailableException'), (503, 'ServiceUnavailableException'), (200, None)]
    >>> moto.stop()
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
        self._fault_rules = FaultRules()
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
        self._fault_rules.inject(operation, fault, times)

    def inject_random(
        self, operation: str, fault: Fault, probability: float, seed: int | None = None
    ) -> None:
        """Fault each ``operation`` request with ``probability``; a seed makes the draws repeat."""
        self._fault_rules.inject_random(operation, fault, probability, seed)

    def inject_when(self, operation: str, contains: str | bytes, fault: Fault) -> None:
        """Fault every ``operation`` request whose body contains ``contains`` (its JSON
        form for text), until cleared: a rule like a web firewall's, refusing only the
        requests that carry a given event."""
        self._fault_rules.inject_when(operation, contains, fault)

    def clear_faults(self) -> None:
        self._fault_rules.clear()

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

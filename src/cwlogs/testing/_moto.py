"""moto's standalone server in a child process: a real HTTP CloudWatch Logs endpoint."""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- moto server


class MotoServer:
    """moto's standalone server in a child process, for tests that need a real HTTP endpoint.

    >>> from cwlogs.client import make_client
    >>> with MotoServer() as moto:
    ...     client = make_client(region="us-east-1", endpoint_url=moto.url)
    ...     _ = client.create_log_group(logGroupName="/app")
    ...     [g["logGroupName"] for g in client.describe_log_groups()["logGroups"]]
    ['/app']
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

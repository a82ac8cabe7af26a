"""The examples in src's docstrings: each module's ``>>>`` examples run and show what they print.

Examples that call CloudWatch Logs run against one local moto server (behind the strict
proxy, which rejects what AWS would reject), found through ``AWS_ENDPOINT_URL`` as any
program would find it; moto is emptied before each docstring, so every example creates
what it reads, in lines of its own.  ``# doctest: +SKIP`` is kept for the few that only
real AWS can answer, or that would change the test process itself (a handler on the
root logger, a signal handler).
"""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import tempfile
from collections.abc import Iterator

import pytest

import cwlogs
from cwlogs import query
from cwlogs.query import RateLimiter
from cwlogs.testing import MotoServer, StrictProxy

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(cwlogs.__path__, "cwlogs.")
    if not info.name.endswith("__main__")  # importing it would run the command line
)

#: Modules whose examples are known to be wrong, with why.  Strict: an example that
#: starts passing fails here until its module leaves this table.
KNOWN_WRONG: dict[str, str] = {}

#: What the examples see of the environment: a local endpoint and credentials no real
#: account accepts; a developer's own profile, config and endpoints are hidden.
_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_HIDDEN_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "CWLOGS_READ_TPS",
)


class Endpoint:
    """The doctests' moto server and the strict proxy in front of it."""

    def __init__(self, server: MotoServer, proxy: StrictProxy) -> None:
        self.server = server
        self.proxy = proxy

    def reset(self) -> None:
        self.server.reset()
        self.proxy.clear()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    """One moto server for every module's examples; the environment is restored after."""
    saved = {name: os.environ.get(name) for name in (*_FAKE_ENV, *_HIDDEN_ENV, "AWS_ENDPOINT_URL")}
    with MotoServer() as server, StrictProxy(server.url) as proxy:
        for name in _HIDDEN_ENV:
            os.environ.pop(name, None)
        os.environ.update(_FAKE_ENV)
        os.environ["AWS_ENDPOINT_URL"] = proxy.url
        try:
            yield Endpoint(server, proxy)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


@pytest.fixture
def workdir() -> Iterator[str]:
    """A fresh current directory, for examples that write files by relative name."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="cwlogs-doctest-") as path:
        os.chdir(path)
        try:
            yield path
        finally:
            os.chdir(before)


@pytest.fixture
def read_limiter() -> Iterator[RateLimiter]:
    """The shared read limiter, put back as it was after the module (examples change it)."""
    limiter = query.read_limiter()
    saved = (limiter.rate, limiter.burst)
    yield limiter
    limiter.configure(*saved)


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.usefixtures("workdir")
def test_the_examples_in_a_module_run(
    name: str, endpoint: Endpoint, read_limiter: RateLimiter, request: pytest.FixtureRequest
) -> None:
    """Every example of the module gives the output its docstring shows."""
    if name in KNOWN_WRONG:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_WRONG[name], strict=True))
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module, name):
        endpoint.reset()  # each docstring starts from an empty account
        read_limiter.configure(5.0)  # and the read rate a fresh process has
        runner.run(test)
    failed = runner.summarize(verbose=False).failed
    assert failed == 0, f"{failed} example(s) of {name} failed (the report is above)"


def test_every_module_is_checked() -> None:
    """The walk finds the packages' private modules too, not only the public faces."""
    assert "cwlogs.redaction._redactor" in MODULES
    assert "cwlogs.testing._proxy" in MODULES
    assert not set(KNOWN_WRONG) - set(MODULES)

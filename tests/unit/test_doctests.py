"""The examples in src's docstrings: each module's ``>>>`` examples run offline and show
what they print.  ``# doctest: +SKIP`` is kept for the few that need AWS or a server."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cwlogs

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(cwlogs.__path__, "cwlogs.")
    if not info.name.endswith("__main__")  # importing it would run the command line
)

#: Modules whose examples are known to be wrong, with why.  Strict: an example that
#: starts passing fails here until its module leaves this table.
KNOWN_WRONG: dict[str, str] = {}


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_a_module_run(name: str, request: pytest.FixtureRequest) -> None:
    """Every example of the module gives the output its docstring shows."""
    if name in KNOWN_WRONG:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_WRONG[name], strict=True))
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0, f"{failed} example(s) of {name} failed (the report is above)"


def test_every_module_is_checked() -> None:
    """The walk finds the packages' private modules too, not only the public faces."""
    assert "cwlogs.redaction._redactor" in MODULES
    assert "cwlogs.testing._proxy" in MODULES
    assert not set(KNOWN_WRONG) - set(MODULES)

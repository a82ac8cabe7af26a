"""cwlogs.testing is the test kit: one public face, and never loaded by the shipping path."""

from __future__ import annotations

import subprocess
import sys

import cwlogs.simulate
import cwlogs.testing


def test_the_shipping_path_never_imports_the_test_kit() -> None:
    """Importing cwlogs and building a handler loads no cwlogs.testing module."""
    code = (
        "import sys, cwlogs; "
        "cwlogs.CloudWatchHandler(log_group='/app', endpoint_url='http://127.0.0.1:9').close(); "
        "print(sorted(m for m in sys.modules if m.startswith('cwlogs.testing')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_capture_is_the_same_object_from_simulate() -> None:
    """The documented ``from cwlogs.simulate import capture, MemoryLogStream`` still works."""
    assert cwlogs.simulate.capture is cwlogs.testing.capture
    assert cwlogs.simulate.MemoryLogStream is cwlogs.testing.MemoryLogStream

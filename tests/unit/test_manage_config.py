"""Reading provisioning files: TOML on every supported Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cwlogs.errors import ConfigurationError
from cwlogs.manage import load_config


class TestTomlOnPython310:
    """Python 3.10 has no ``tomllib``; ``tomli`` (a dependency there) reads the same files."""

    def test_tomli_is_used_without_tomllib(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With ``tomllib`` missing, a TOML file is read through ``tomli``."""
        import tomllib  # stands in for tomli: tomllib is tomli, vendored into the stdlib

        monkeypatch.setitem(sys.modules, "tomllib", None)
        monkeypatch.setitem(sys.modules, "tomli", tomllib)
        path = tmp_path / "logs.toml"
        path.write_text('environment = "staging"\n[[groups]]\nname = "/app"\n')
        assert load_config(path) == {"environment": "staging", "groups": [{"name": "/app"}]}

    def test_neither_module_is_a_clear_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without either parser the error says what to install."""
        monkeypatch.setitem(sys.modules, "tomllib", None)
        monkeypatch.setitem(sys.modules, "tomli", None)
        path = tmp_path / "logs.toml"
        path.write_text('[[groups]]\nname = "/app"\n')
        with pytest.raises(ConfigurationError, match=r"pip install tomli"):
            load_config(path)

"""Named sources for the command line: ``cwlogs tail @api`` expands to configured groups.

Sources are read from the user's ``~/.config/cwlogs/config.toml`` (``$XDG_CONFIG_HOME``
is honoured, ``$CWLOGS_CONFIG`` names another file) and from ``[tool.cwlogs]`` in the
nearest ``pyproject.toml`` above the working directory; a project's sources win over
the user's of the same name. Each source is a group spec or a list of them, in the
same forms the command line takes (``GROUP``, ``GROUP:STREAM_PREFIX``, ``/prefix/*``)::

    [sources]                       # [tool.cwlogs.sources] in pyproject.toml
    api = ["/shop/prod/api", "/shop/prod/worker:web-"]
    lambdas = "/aws/lambda/shop-*"
    eu = { groups = ["/shop/prod/api"], profile = "prod", region = "eu-west-1" }

A source written as a table may carry the AWS ``profile`` and ``region`` to read it
with, so one ``cwlogs tail @api @eu`` reads several accounts or Regions.

>>> config = SourceConfig.from_mapping({"sources": {"api": "/shop/api"}}, "example")
>>> config.expand("api")
('/shop/api',)
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cwlogs.errors import ConfigurationError

__all__ = [
    "CONFIG_ENV",
    "SourceConfig",
    "SourceLocation",
    "UnknownSourceError",
    "load",
    "project_config_path",
    "user_config_path",
]

#: Names a user config file to read instead of ``~/.config/cwlogs/config.toml``.
CONFIG_ENV: Final = "CWLOGS_CONFIG"
_KEYS: Final = frozenset({"sources"})


class UnknownSourceError(ConfigurationError):
    """``@name`` names no configured source; ``suggestions`` lists close names."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.suggestions = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        if self.suggestions:
            hint = "did you mean " + " or ".join(f"@{s}" for s in self.suggestions) + "?"
        elif known:
            hint = "configured: " + ", ".join(f"@{k}" for k in sorted(known))
        else:
            hint = "no sources are configured; see `cwlogs sources --help`"
        super().__init__(f"@{name}", f"no such named source; {hint}")


@dataclass(frozen=True)
class SourceLocation:
    """Where a named source's groups live: an AWS profile and Region (None: the defaults)."""

    profile: str | None = None
    region: str | None = None


_SOURCE_TABLE_KEYS: Final = frozenset({"groups", "profile", "region"})


@dataclass(frozen=True)
class SourceConfig:
    """Named sources, where they live, and the files they came from."""

    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)
    locations: Mapping[str, SourceLocation] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str) -> SourceConfig:
        """Validate one file's cwlogs table (``{"sources": {...}}``)."""
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ConfigurationError(origin, f"unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
        raw = data.get("sources", {})
        if not isinstance(raw, Mapping):
            raise ConfigurationError(f"{origin}: sources", "must be a table of name = groups")
        sources: dict[str, tuple[str, ...]] = {}
        locations: dict[str, SourceLocation] = {}
        for name, entry in raw.items():
            value = entry
            if isinstance(entry, Mapping):
                value, locations[str(name)] = _source_table(entry, f"{origin}: sources.{name}")
            specs = [value] if isinstance(value, str) else value
            if (
                not isinstance(specs, list)
                or not specs
                or not all(isinstance(s, str) and s.strip() for s in specs)
            ):
                raise ConfigurationError(
                    f"{origin}: sources.{name}", "must be a group name or a list of group names"
                )
            if any(s.strip().startswith("@") for s in specs):
                # One level only: a source naming another could loop.
                raise ConfigurationError(
                    f"{origin}: sources.{name}", "a source cannot refer to another @source"
                )
            sources[str(name)] = tuple(s.strip() for s in specs)
        return cls(sources, dict.fromkeys(sources, origin), locations)

    def merged(self, other: SourceConfig) -> SourceConfig:
        """These sources overlaid with ``other``'s (``other`` wins on a shared name)."""
        locations = {k: v for k, v in self.locations.items() if k not in other.sources}
        return SourceConfig(
            {**self.sources, **other.sources},
            {**self.origins, **other.origins},
            {**locations, **other.locations},
        )

    def location(self, name: str) -> SourceLocation:
        """The profile and Region configured for ``name`` (defaults when none)."""
        return self.locations.get(name, SourceLocation())

    def expand(self, name: str) -> tuple[str, ...]:
        """The group specs configured for ``name`` (without its ``@``)."""
        found = self.sources.get(name)
        if found is None:
            raise UnknownSourceError(name, list(self.sources))
        return found


def _source_table(value: Mapping[str, Any], where: str) -> tuple[Any, SourceLocation]:
    unknown = sorted(set(value) - _SOURCE_TABLE_KEYS)
    if unknown:
        raise ConfigurationError(
            where, f"unknown key(s) {unknown}; allowed: {sorted(_SOURCE_TABLE_KEYS)}"
        )
    if "groups" not in value:
        raise ConfigurationError(where, "a source table needs groups = [...]")
    found: dict[str, str | None] = {}
    for key in ("profile", "region"):
        item = value.get(key)
        if item is not None and (not isinstance(item, str) or not item.strip()):
            raise ConfigurationError(f"{where}.{key}", "must be a non-empty string")
        found[key] = item.strip() if isinstance(item, str) else None
    return value["groups"], SourceLocation(found["profile"], found["region"])


def user_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """``$CWLOGS_CONFIG``, else ``$XDG_CONFIG_HOME/cwlogs/config.toml`` (``~/.config``)."""
    env = os.environ if environ is None else environ
    explicit = env.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "cwlogs" / "config.toml"


def project_config_path(cwd: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``cwd``, or None."""
    here = (cwd or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
        except ModuleNotFoundError as exc:
            raise ConfigurationError(
                str(path), "reading TOML needs Python 3.11+ (or `pip install tomli`)"
            ) from exc
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(str(path), f"cannot read it: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(str(path), f"not valid TOML: {exc}") from exc


def _from_file(path: Path) -> SourceConfig:
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        section = tool.get("cwlogs", {}) if isinstance(tool, Mapping) else {}
        if not isinstance(section, Mapping):
            raise ConfigurationError(f"{path}: tool.cwlogs", "must be a table")
        return SourceConfig.from_mapping(section, str(path))
    return SourceConfig.from_mapping(data, str(path))


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SourceConfig:
    """The named sources: from ``path`` alone if given, else user config then project config.

    A missing file contributes nothing; a malformed one raises
    :class:`~cwlogs.errors.ConfigurationError` naming it.
    """
    if path is not None:
        return _from_file(Path(path).expanduser())
    config = SourceConfig()
    user = user_config_path(environ)
    if user.is_file():
        config = config.merged(_from_file(user))
    project = project_config_path(cwd)
    if project is not None:
        config = config.merged(_from_file(project))
    return config

"""The terminal itself: which format and whether colour by default, painting text with
ANSI styles, and a one-line progress status."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import IO, Final, Literal

Format = Literal["pretty", "json", "raw"]
FORMATS: Final[tuple[Format, ...]] = ("pretty", "json", "raw")


def default_format(stream: IO[str]) -> Format:
    """``pretty`` for a terminal, ``json`` (NDJSON) when piped or redirected.

    >>> import io
    >>> default_format(io.StringIO())
    'json'
    """
    return "pretty" if _isatty(stream) else "json"


def use_color(
    stream: IO[str], *, force: bool | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether to colour ``stream``: an explicit choice, else not under ``NO_COLOR``, else a tty.

    >>> import io
    >>> use_color(io.StringIO(), force=True)
    True
    >>> use_color(io.StringIO(), environ={"NO_COLOR": "1"})
    False
    """
    if force is not None:
        return force
    env = os.environ if environ is None else environ
    # https://no-color.org: present and not empty means no colour.
    if env.get("NO_COLOR"):
        return False
    if env.get("TERM") == "dumb":
        return False
    return _isatty(stream)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


class Painter:
    """Paints text for a terminal: ANSI SGR sequences, or nothing at all when colour is off.

    >>> Painter(False).paint("x", "red")
    'x'
    >>> Painter(True).paint("x", "red")
    '\\x1b[31mx\\x1b[0m'
    """

    CODES: Final[Mapping[str, str]] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "magenta": "35",
        "cyan": "36",
        "bright_red": "91",
        "bright_green": "92",
        "bright_yellow": "93",
        "bright_blue": "94",
        "bright_magenta": "95",
        "bright_cyan": "96",
    }

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def paint(self, text: str, *styles: str) -> str:
        """``text`` wrapped in the given styles (names from :attr:`CODES`)."""
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(self.CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


class Progress:
    """A one-line status on a terminal (``stderr``), redrawn in place; silent elsewhere.

    >>> import io
    >>> p = Progress(io.StringIO())
    >>> p.update("running")
    >>> p.enabled
    False
    """

    FRAMES: Final = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream) if enabled is None else enabled
        self._frame = 0
        self._shown = False

    def update(self, text: str) -> None:
        """Replace the status line with a spinner frame and ``text``."""
        if not self.enabled:
            return
        frame = self.FRAMES[self._frame % len(self.FRAMES)]
        self._frame += 1
        self.stream.write(f"\r\x1b[K{frame} {text}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the status line, so results print on a clean line."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

"""Text that never fails: ``str``/``repr`` of any value, lone surrogates cleaned, a
``msg % args`` that cannot raise. Used on both sides of the queue.

>>> safe_str(b"x"), clean_text("a\\ud800b") == "a\\ufffdb"
("b'x'", True)
"""

from __future__ import annotations

from typing import Any, Final

from cwlogs._shipping.diagnostics import warn_rate_limited

MAX_REPR_ITEMS: Final = 1000


def safe_str(value: object) -> str:
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not lose the event
        return f"<unprintable {type(value).__name__}>"
    return text if type(text) is str else safe_repr(text)


def safe_repr(value: object) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return f"<{type(value).__name__} nested too deep to show>"
    except Exception:
        if isinstance(value, tuple | list):  # one bad element: keep the others
            inner = ", ".join(safe_repr(v) for v in value[:MAX_REPR_ITEMS])
            return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
        return f"<unrepresentable {type(value).__name__}>"
    return text if type(text) is str else f"<unrepresentable {type(value).__name__}>"


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (valid pairs are joined).

    >>> clean_text("a\\ud800b") == "a\\ufffdb"
    True
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def format_deferred(template: str, args: tuple[Any, ...]) -> str:
    try:
        return template % args
    except Exception as exc:  # the stdlib would print a "Logging error" and lose it
        return format_failed(template, args, exc)


def format_failed(template: Any, args: Any, exc: BaseException) -> str:
    """The marked message of a record whose ``msg % args`` failed: nothing is lost."""
    text = template if type(template) is str else safe_str(template)
    shown = safe_repr(args)
    reason = f"{type(exc).__name__}: {safe_str(exc)}"
    # stderr gets the template and the error only: the arguments may carry PII, and the
    # shipped message goes through the redactor while stderr does not.
    warn_rate_limited(
        "format",
        lambda: f"cwlogs: formatting log message {text[:200]!r} failed: {type(exc).__name__}",
    )
    return f"{text} {shown} [formatting failed: {reason}]"

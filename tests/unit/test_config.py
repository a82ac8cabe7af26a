"""Configuration precedence, validation and stream-name templates."""

from __future__ import annotations

import os

import pytest

from cwlogs._shipping.config import HandlerConfig, StreamNamer
from cwlogs.errors import ConfigurationError


class TestResolve:
    def test_argument_beats_env_beats_default(self) -> None:
        """An explicit argument wins over CWLOGS_* which wins over the default."""
        env = {"CWLOGS_LOG_GROUP": "/env", "CWLOGS_FLUSH_INTERVAL": "9", "CWLOGS_OVERFLOW": "block"}
        cfg = HandlerConfig.resolve(environ=env, flush_interval=2)
        assert (cfg.log_group, cfg.flush_interval, cfg.overflow) == ("/env", 2.0, "block")
        assert HandlerConfig.resolve(environ={}, log_group="/x").max_queue_bytes == 10 * 1024 * 1024

    def test_env_strings_are_parsed(self) -> None:
        """Booleans, numbers, levels and tags arrive as strings from the environment."""
        env = {
            "CWLOGS_LOG_GROUP": "/g",
            "CWLOGS_CREATE_LOG_GROUP": "false",
            "CWLOGS_MAX_QUEUE_BYTES": "1048576",
            "CWLOGS_PROTECT_LEVEL": "warning",
            "CWLOGS_LOG_GROUP_TAGS": "team=core, env=prod",
            "CWLOGS_SERVICE": "api",
        }
        cfg = HandlerConfig.resolve(environ=env)
        assert cfg.create_log_group is False
        assert cfg.max_queue_bytes == 1_048_576
        assert cfg.protect_level == 30
        assert cfg.log_group_tags == {"team": "core", "env": "prod"}
        assert cfg.static_fields == {"service": "api"}

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"retention_days": 8}, "valid values: 1, 3, 5"),
            ({"max_batch_bytes": 2_000_000}, "between"),
            ({"protect_level": "LOUD"}, "unknown level"),
            ({"create_log_group": "maybe"}, "boolean"),
            ({"log_group_tags": "novalue"}, "key=value"),
            ({"bogus": 1}, "unknown option"),
        ],
    )
    def test_errors_are_clear(self, kwargs: dict[str, object], fragment: str) -> None:
        """Each bad value raises ConfigurationError explaining what is accepted."""
        with pytest.raises(ConfigurationError, match=fragment):
            HandlerConfig.resolve(environ={}, log_group="/g", **kwargs)


class TestStreamNamer:
    def test_static_template(self) -> None:
        """{hostname} and {pid} are filled once per process."""
        name = StreamNamer("{hostname}/{pid}").render("any", 0)
        assert name.endswith(f"/{os.getpid()}")

    def test_dynamic_template_and_strftime(self) -> None:
        """{logger} and {date:...} depend on the event; refused characters are replaced."""
        namer = StreamNamer("{logger}/{date:%Y/%m/%d %H:00}")
        assert namer.render("api", 1_700_000_000_000) == "api/2023/11/14 22_00"
        assert namer.render("db", 0) == "db/1970/01/01 00_00"

    def test_uuid_is_stable_per_process(self) -> None:
        """{uuid} is random per handler but the same for every event."""
        namer = StreamNamer("{uuid}")
        assert namer.render("a", 0) == namer.render("b", 10**12)
        assert namer.render("a", 0) != StreamNamer("{uuid}").render("a", 0)

    def test_unknown_field(self) -> None:
        """A typo in the template fails at construction."""
        with pytest.raises(ConfigurationError, match="hostnme"):
            StreamNamer("{hostnme}")


def test_redact_accepts_a_preset_name() -> None:
    """redact="strict" (or CWLOGS_REDACT=strict) masks client IPs; the default keeps them."""
    from cwlogs.handler import make_redactor

    line = "GET /x client=10.0.3.17 by ana@example.com"
    strict, default = make_redactor("strict"), make_redactor(True)
    assert "10.0.3.17" not in strict.redact_text(line)
    assert "10.0.3.17" in default.redact_text(line)
    assert "ana@example.com" not in default.redact_text(line)


def test_every_option_is_a_handler_argument_and_reaches_the_config() -> None:
    """Each HandlerConfig option is a CloudWatchHandler parameter of the same name, and a
    value given there is what the handler's config holds (one list of options)."""
    import inspect

    from cwlogs import CloudWatchHandler

    params = inspect.signature(CloudWatchHandler).parameters
    assert set(HandlerConfig.__dataclass_fields__) <= set(params)
    handler = CloudWatchHandler(
        "/g", "s", flush_interval=3, max_queue_bytes=1 << 20, overflow="drop_newest",
        metrics_namespace="NS", shutdown_cap=9, service="api", region="eu-west-1",
    )  # fmt: skip
    try:
        cfg = handler.config
        assert (cfg.log_group, cfg.log_stream, cfg.flush_interval) == ("/g", "s", 3.0)
        assert (cfg.max_queue_bytes, cfg.overflow, cfg.shutdown_cap) == (1 << 20, "drop_newest", 9)
        assert (cfg.metrics_namespace, cfg.region) == ("NS", "eu-west-1")
        assert cfg.static_fields == {"service": "api"}
    finally:
        handler.close()

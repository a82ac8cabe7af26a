"""cwlogs.redaction: built-in patterns, presets, key masking, styles, stats, what is reached,
and the engine against a slow reference."""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import json
import re
import threading
import uuid
from collections import namedtuple
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cwlogs.redaction import (
    BUILTIN_PATTERN_NAMES,
    DEFAULT_PATTERN_NAMES,
    PRESETS,
    REDACTED,
    Pattern,
    Redactor,
    luhn_valid,
    mask_card,
    mask_email,
    mask_ipv4,
    mask_ipv6,
    mask_name,
    mask_partial,
)
from cwlogs.redaction._engine import LOCAL_PART_THEN_AT, local_part_start
from cwlogs.redaction._validators import secret_span

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA PRIVATE KEY-----"
)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


DEFAULT = Redactor()


def redact(text: str, **options: Any) -> str:
    return Redactor(**options).redact_text(text)


def only(name: str) -> Redactor:
    """A redactor with just one built-in pattern on, to test it in isolation."""
    return Redactor(enable={name}, disable=set(BUILTIN_PATTERN_NAMES) - {name})


def assert_masked(name: str, text: str) -> None:
    token = f"[{name.upper()}_REDACTED]"
    assert only(name).redact_text(f"see {text} now") == f"see {token} now"


def assert_kept(name: str, text: str) -> None:
    assert only(name).redact_text(f"see {text} now") == f"see {text} now"


class TestEmail:
    @pytest.mark.parametrize(
        "text", ["jane@example.com", "john.doe+tag@mail.example.co.uk", "x_y-z@sub-d.io"]
    )
    def test_masks_addresses(self, text: str) -> None:
        """Addresses with tags, dots and sub-domains are masked whole."""
        assert_masked("email", text)

    @pytest.mark.parametrize("text", ["root@localhost", "@handle", "a@b", "user@.com"])
    def test_keeps_non_addresses(self, text: str) -> None:
        """Handles and dot-less hosts are not addresses."""
        assert_kept("email", text)


class TestIPv4:
    @pytest.mark.parametrize("text", ["203.0.113.7", "10.0.0.1", "255.255.255.255"])
    def test_masks_addresses(self, text: str) -> None:
        """Dotted quads with every octet up to 255 are masked."""
        assert_masked("ipv4", text)

    def test_keeps_port_and_sentence_dot(self) -> None:
        """A port and a full stop after the address stay."""
        assert only("ipv4").redact_text("at 10.0.0.1:8080.") == "at [IPV4_REDACTED]:8080."

    @pytest.mark.parametrize(
        "text", ["127.0.0.1", "0.0.0.0", "256.1.1.1", "1.2.3.4.5", "v1.2.3.4", "1.2.3"]
    )
    def test_keeps_non_addresses(self, text: str) -> None:
        """Loopback, "any", bad octets, 5-part and v-prefixed versions are kept."""
        assert_kept("ipv4", text)

    def test_bare_four_part_version_is_masked(self) -> None:
        """A bare 1.2.3.4 cannot be told from an address, so it is masked (documented)."""
        assert_masked("ipv4", "1.2.3.4")


class TestIPv6:
    @pytest.mark.parametrize(
        "text",
        [
            "2001:db8::8a2e:370:7334",
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "fe80::1%eth0",
            "::ffff:192.0.2.1",
        ],
    )
    def test_masks_addresses(self, text: str) -> None:
        """Compressed, full, scoped and IPv4-mapped forms are masked."""
        assert_masked("ipv6", text)

    @pytest.mark.parametrize(
        "text", ["::1", "::", "12:30:45", "00:1a:2b:3c:4d:5e", "std::vector", "1::2::3"]
    )
    def test_keeps_non_addresses(self, text: str) -> None:
        """Loopback, "any", clock times, MAC addresses and C++ scopes are kept."""
        assert_kept("ipv6", text)


class TestCreditCard:
    @pytest.mark.parametrize(
        "text",
        [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111111111111111",
            "5555555555554444",
            "378282246310005",
            "3782 822463 10005",
            "6011 1111 1111 1117",
        ],
    )
    def test_masks_luhn_valid_numbers(self, text: str) -> None:
        """Luhn-valid numbers, contiguous or in printed groups, are masked."""
        assert_masked("credit_card", text)

    @pytest.mark.parametrize(
        "text",
        ["4111 1111 1111 1112", "4111111111111112", "ORD-2024-000123", "1700000000123"],
    )
    def test_keeps_look_alikes(self, text: str) -> None:
        """Luhn-invalid numbers, order ids and millisecond timestamps are kept."""
        assert_kept("credit_card", text)

    def test_card_followed_by_a_group_is_masked(self) -> None:
        """A trailing extra group does not hide the card in front of it."""
        assert_masked("credit_card", "4111 1111 1111 1111 123")

    def test_card_preceded_by_a_group_is_masked(self) -> None:
        """A leading extra group does not hide the card after it."""
        out = only("credit_card").redact_text("ref 555 4111 1111 1111 1111")
        assert out == "ref 555 [CREDIT_CARD_REDACTED]"


class TestSSN:
    @pytest.mark.parametrize("text", ["123-45-6789", "078 05 1120"])
    def test_masks_numbers(self, text: str) -> None:
        """Dashed and spaced SSNs are masked."""
        assert_masked("us_ssn", text)

    @pytest.mark.parametrize(
        "text", ["000-12-3456", "666-12-3456", "123-00-4567", "123-45-0000", "123-45 6789"]
    )
    def test_keeps_invalid_numbers(self, text: str) -> None:
        """Never-issued areas, groups and serials, and mixed separators, are kept."""
        assert_kept("us_ssn", text)


class TestPhone:
    @pytest.mark.parametrize(
        "text",
        [
            "+1 (555) 123-4567",
            "555-123-4567",
            "(555) 123-4567",
            "555.123.4567",
            "1-800-555-1234",
            "+44 20 7946 0958",
            "+33 6 12 34 56 78",
            "+4915112345678",
        ],
    )
    def test_masks_numbers(self, text: str) -> None:
        """US formats with separators and international numbers with + are masked."""
        assert_masked("phone", text)

    @pytest.mark.parametrize(
        "text",
        ["5551234567", "ORD-2024-000123", "2024-01-15", "1700000000", "+100", "+1 2", "v1.2.3"],
    )
    def test_keeps_plain_numbers(self, text: str) -> None:
        """Bare digit runs, ids, dates, timestamps and short +numbers are kept."""
        assert_kept("phone", text)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("+1 (555) 123-4567 0@0.aa", "[PHONE_REDACTED] [EMAIL_REDACTED]"),
            ("call +1 555 123 4567 or 0.ab@x.io", "call [PHONE_REDACTED] or [EMAIL_REDACTED]"),
            ("555 123-4567@x.io", "555 [EMAIL_REDACTED]"),
        ],
    )
    def test_a_phone_does_not_swallow_the_next_email(self, text: str, expected: str) -> None:
        """A phone followed by an email with a numeric local part leaves the email whole,
        so both are masked in one pass (found by the idempotence property)."""
        assert Redactor().redact_text(text) == expected

    @pytest.mark.parametrize(
        ("text", "token", "partial"),
        [
            (
                "+1 (555) 123-4567 2000 000000 00008 2000 000000 00008",
                "[PHONE_REDACTED] [CREDIT_CARD_REDACTED] [CREDIT_CARD_REDACTED]",
                "+* (***) ***-4567 **** ****** *0008 **** ****** *0008",
            ),
            ("+1 555 123 4567 123-45-6789", "[PHONE_REDACTED] [US_SSN_REDACTED]", None),
        ],
    )
    def test_a_phone_does_not_swallow_the_next_number(
        self, text: str, token: str, partial: str | None
    ) -> None:
        """A phone followed by a card or an SSN ends where that one starts: each is masked
        by its own pattern, in one pass, and no digit of the card is left readable
        (found by the idempotence property)."""
        assert Redactor().redact_text(text) == token
        if partial is not None:
            assert Redactor(style="partial").redact_text(text) == partial

    def test_number_running_into_more_digits_is_masked(self) -> None:
        """A phone followed by more digit groups (over 15 digits in all) is still masked."""
        assert_masked("phone", "+44 20 7946 0958 123 456")


class TestAwsKeys:
    @pytest.mark.parametrize("text", ["AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"])
    def test_masks_access_key_ids(self, text: str) -> None:
        """AKIA and ASIA ids of 20 characters are masked."""
        assert_masked("aws_access_key_id", text)

    @pytest.mark.parametrize("text", ["AKIA123", "AKIAIOSFODNN7EXAMPLEX", "XAKIAIOSFODNN7EXAMPLE"])
    def test_keeps_other_ids(self, text: str) -> None:
        """Short, long or glued look-alikes are kept."""
        assert_kept("aws_access_key_id", text)

    @pytest.mark.parametrize(
        "text",
        [
            f"aws_secret_access_key {AWS_SECRET}",
            f"AWS_SECRET={AWS_SECRET}",
            f'"SecretAccessKey": "{AWS_SECRET}"',
        ],
    )
    def test_masks_secret_next_to_its_keyword(self, text: str) -> None:
        """A 40-character secret after its keyword is masked."""
        out = only("aws_secret_access_key").redact_text(text)
        assert AWS_SECRET not in out
        assert "[AWS_SECRET_ACCESS_KEY_REDACTED]" in out

    @pytest.mark.parametrize("text", [AWS_SECRET, "da39a3ee5e6b4b0d3255bfef95601890afd80709"])
    def test_keeps_bare_40_character_strings(self, text: str) -> None:
        """Without the keyword, a 40-character string (a hash, say) is kept."""
        assert_kept("aws_secret_access_key", text)


class TestApiKeys:
    @pytest.mark.parametrize(
        "text",
        [
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "ghp_" + "a1B2" * 9,
            "xoxb-123456789012-abcdefGHIJ",
            "xoxp-1234567890-abcdef",
            "AIza" + "Sy" * 17 + "A",
            "sk-proj-abcdefghijKLMNOPQRST1234",
            "glpat-abcdefghij0123456789",
        ],
    )
    def test_masks_vendor_keys(self, text: str) -> None:
        """Stripe, GitHub, Slack, Google, OpenAI and GitLab keys are masked."""
        assert_masked("api_key", text)

    @pytest.mark.parametrize("text", ["sk_live", "ghp_short", "task_live_abcdefghijklmn", "xoxb"])
    def test_keeps_look_alikes(self, text: str) -> None:
        """Prefixes alone, short tails and prefixes inside words are kept."""
        assert_kept("api_key", text)


class TestBearerAndJwt:
    def test_masks_bearer_token_keeping_scheme(self) -> None:
        """Only the token after "Bearer" is replaced."""
        out = only("bearer_token").redact_text("sent Bearer abc.DEF-123_xyz~")
        assert out == "sent Bearer [BEARER_TOKEN_REDACTED]"

    @pytest.mark.parametrize("text", ["bearer credentials", "Bearer abc12", "the bearer"])
    def test_keeps_prose_and_short_tokens(self, text: str) -> None:
        """Lower-case words and tokens under 8 characters are kept."""
        assert_kept("bearer_token", text)

    def test_masks_jwt(self) -> None:
        """Three base64url segments starting eyJ are masked."""
        assert_masked("jwt", JWT)

    def test_keeps_single_segment(self) -> None:
        """One base64url segment is not a JWT."""
        assert_kept("jwt", "eyJhbGciOiJIUzI1NiJ9")


class TestPrivateKey:
    def test_masks_whole_block(self) -> None:
        """BEGIN to END goes, armour lines included."""
        assert redact(f"key {PEM} end") == "key [PRIVATE_KEY_REDACTED] end"

    def test_masks_json_escaped_block(self) -> None:
        """A block with literal \\n escapes, as in JSON text, goes whole."""
        escaped = json.dumps(PEM)[1:-1]
        assert redact(f"key {escaped} end") == "key [PRIVATE_KEY_REDACTED] end"

    def test_masks_truncated_block(self) -> None:
        """A block cut before its END line still loses its body."""
        out = redact(PEM.rsplit("\n", 1)[0])
        assert out == "[PRIVATE_KEY_REDACTED]"

    @pytest.mark.parametrize("label", ["CERTIFICATE", "PUBLIC KEY"])
    def test_keeps_public_material(self, label: str) -> None:
        """Certificates and public keys are not secrets."""
        text = f"-----BEGIN {label}-----\nMIIB\n-----END {label}-----"
        assert only("private_key").redact_text(text) == text


class TestUrlPassword:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                "postgres://admin:s3cr3t@db.example.com:5432/app",
                "postgres://admin:[URL_PASSWORD_REDACTED]@db.example.com:5432/app",
            ),
            ("redis://:pw@cache:6379", "redis://:[URL_PASSWORD_REDACTED]@cache:6379"),
            ("amqp://u:p@ss@mq/vhost", "amqp://u:[URL_PASSWORD_REDACTED]@mq/vhost"),
        ],
    )
    def test_masks_password_keeping_user_and_host(self, text: str, expected: str) -> None:
        """User, host, port and path stay; the password goes."""
        assert only("url_password").redact_text(text) == expected

    @pytest.mark.parametrize("text", ["http://host:8080/path", "https://user@host/x"])
    def test_keeps_urls_without_password(self, text: str) -> None:
        """A port or a bare user is not a password."""
        assert_kept("url_password", text)


class TestSecretAssignment:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("password=hunter2&user=bob", "password=[REDACTED]&user=bob"),
            ('{"password": "hunter 2"}', '{"password": "[REDACTED]"}'),
            ("Authorization: Bearer abc.def", "Authorization: [REDACTED]"),
            ("run --password=x -v", "run --password=[REDACTED] -v"),
            ("db.Password = y", "db.Password = [REDACTED]"),
            ("clientSecret: abc", "clientSecret: [REDACTED]"),
            ("Set-Cookie: sid=1; Path=/", "Set-Cookie: [REDACTED]"),
        ],
    )
    def test_masks_value_of_sensitive_key(self, text: str, expected: str) -> None:
        """Any spelling of a sensitive key loses its value, quoted or not."""
        assert only("secret_assignment").redact_text(text) == expected

    @pytest.mark.parametrize("text", ["passwordless=true", "max_tokens=5", "token_count: 3"])
    def test_keeps_other_keys(self, text: str) -> None:
        """Keys that only contain a sensitive word are kept."""
        assert_kept("secret_assignment", text)

    def test_value_is_masked_once(self) -> None:
        """A key=value is claimed before the word patterns could mask its value again."""
        assert redact(f"x-api-key={AWS_SECRET}") == "x-api-key=[REDACTED]"


class TestKeyMasking:
    def test_masks_nested_values_whatever_their_type(self) -> None:
        """Sensitive keys are masked in nested dicts and lists, whatever the value."""
        event = {"a": {"b": [{"Password": 123}, {"API-Key": {"x": 1}}]}, "token": None}
        expected = {"a": {"b": [{"Password": REDACTED}, {"API-Key": REDACTED}]}, "token": REDACTED}
        assert Redactor().redact_event(event) == expected

    @pytest.mark.parametrize(
        "key", ["X-Api-Key", "x_api_key", "xApiKey", "SET_COOKIE", "db_password", "SessionId"]
    )
    def test_normalises_case_and_separators(self, key: str) -> None:
        """Case, -, _ and . do not matter; suffix entries cover prefixed keys."""
        assert Redactor().redact_event({key: "v"}) == {key: REDACTED}

    @pytest.mark.parametrize("key", ["max_tokens", "next_token", "secret_name", "user"])
    def test_keeps_similar_keys(self, key: str) -> None:
        """Keys that merely contain a sensitive word are scanned, not masked."""
        assert Redactor().redact_event({key: "v"}) == {key: "v"}

    def test_extra_keys(self) -> None:
        """extra_keys adds to the default set."""
        assert Redactor(extra_keys={"pin"}).redact_event({"PIN": 1}) == {"PIN": REDACTED}

    def test_keys_replace_the_default_set(self) -> None:
        """keys replaces the default set, in dicts and in text."""
        r = Redactor(keys={"pin"})
        assert r.redact_event({"password": "p", "pin": 1}) == {"password": "p", "pin": REDACTED}
        assert r.redact_text("pin=1234 password=p") == "pin=[REDACTED] password=p"


class TestRedactEvent:
    def test_scans_strings_everywhere(self) -> None:
        """Strings in values, lists, tuples and sets are scanned; other scalars kept."""
        event = {"msg": "a@b.io", "to": ["c@d.io"], "t": ("e@f.io", 1), "s": {"g@h.io"}, "n": 7}
        assert Redactor().redact_event(event) == {
            "msg": "[EMAIL_REDACTED]",
            "to": ["[EMAIL_REDACTED]"],
            "t": ("[EMAIL_REDACTED]", 1),
            "s": {"[EMAIL_REDACTED]"},
            "n": 7,
        }

    def test_does_not_mutate_input(self) -> None:
        """The event and everything in it are left as they were."""
        event = {"user": {"email": "a@b.io", "password": "p", "tags": ["c@d.io"]}}
        before = copy.deepcopy(event)
        Redactor().redact_event(event)
        assert event == before

    def test_keeps_namedtuples(self) -> None:
        """A namedtuple comes back as the same namedtuple type."""
        point = namedtuple("point", "who n")
        out = Redactor().redact_event({"p": point("a@b.io", 1)})
        assert out == {"p": point("[EMAIL_REDACTED]", 1)}

    def test_cycle_fails_closed(self) -> None:
        """A self-containing list is cut off as [REDACTED] instead of recursing forever."""
        loop: list[Any] = []
        loop.append(loop)
        out = Redactor().redact_event({"l": loop})
        flat = json.dumps(out)
        assert REDACTED in flat

    def test_in_place_masks_what_a_copy_masks(self) -> None:
        """redact_event_in_place leaves the dict as redact_event's copy, skips included,
        and counts the same."""
        event = {
            "timestamp": "a@b.io",
            "message": "to c@d.io",
            "Password": "p",
            "nested": {"token": 1, "to": ["e@f.io"]},
            "n": 7,
            "host": "web-1",
        }
        by_copy, in_place = Redactor(), Redactor()
        expected = by_copy.redact_event(event, skip={"timestamp"})
        in_place.redact_event_in_place(event, skip={"timestamp"})
        assert event == expected
        assert event["timestamp"] == "a@b.io"
        counts = {"key:password": 1, "key:token": 1, "email": 2}
        assert in_place.stats() == by_copy.stats() == counts

    def test_structlog_processor(self) -> None:
        """An instance works as a structlog processor on event and fields."""
        structlog = pytest.importorskip("structlog")
        log = structlog.wrap_logger(structlog.ReturnLogger(), processors=[Redactor()])
        _, kwargs = log.info("mail bob@example.com", token="abc")
        assert kwargs == {"event": "mail [EMAIL_REDACTED]", "token": REDACTED}


class TestPreChecksEdgeCases:
    """Inputs a pre-check once let through unscanned although a pattern matches."""

    @pytest.mark.parametrize("key", ["pass+word", "k" * 70])
    def test_custom_keys_the_gate_cannot_read(self, key: str) -> None:
        """Keys with characters outside [\\w.-], or very long ones, are still masked."""
        r = Redactor(extra_keys=[key])
        assert r.redact_text(f"{key}=hunter2 ok") == f"{key}=[REDACTED] ok"


class TestRepeatedTemplates:
    """Lines of one template with other numbers in them are each judged on their own."""

    def test_same_template_with_other_numbers_is_still_clean(self) -> None:
        r = Redactor()
        for i in range(3):
            text = f"order {i:06d} shipped in 2 boxes"
            assert r.redact_text(text) == text

    def test_a_number_that_failed_its_check_does_not_vouch_for_others(self) -> None:
        """A Luhn-invalid number does not vouch for a valid one in the same place."""
        r = Redactor()
        assert r.redact_text("paid with 4111 1111 1111 1112 today") == (
            "paid with 4111 1111 1111 1112 today"
        )
        assert r.redact_text("paid with 4111 1111 1111 1111 today") == (
            "paid with [CREDIT_CARD_REDACTED] today"
        )

    def test_sensitive_keys_with_digits(self) -> None:
        """ "pin3" and "pin2" differ in one digit, and only one of them is a sensitive key."""
        r = Redactor(extra_keys=["pin2"])
        assert r.redact_text("pin3=1234 ok") == "pin3=1234 ok"
        assert r.redact_text("pin2=1234 ok") == "pin2=[REDACTED] ok"


class TestConfiguration:
    def test_disable_by_name(self) -> None:
        """A disabled pattern no longer masks; the others still do."""
        out = redact("10.0.0.1 a@b.io", disable={"ipv4"})
        assert out == "10.0.0.1 [EMAIL_REDACTED]"

    def test_unknown_name_is_rejected(self) -> None:
        """A typo in disable fails at construction, naming the built-ins."""
        with pytest.raises(ValueError, match="ipv5"):
            Redactor(disable={"ipv5"})

    def test_custom_pattern_with_fixed_replacement(self) -> None:
        """An extra pattern masks its matches with its replacement."""
        r = Redactor(extra_patterns=[Pattern("order", r"ORD-[0-9]{4}-[0-9]{6}", "[ORDER]")])
        assert r.redact_text("ref ORD-2024-000123") == "ref [ORDER]"

    def test_custom_pattern_default_token(self) -> None:
        """Without a replacement, an extra pattern uses [<NAME>_REDACTED]."""
        r = Redactor(extra_patterns=[Pattern("employee_id", r"EMP[0-9]{5}")])
        assert r.redact_text("EMP12345") == "[EMPLOYEE_ID_REDACTED]"

    def test_custom_pattern_with_callable_and_flags(self) -> None:
        """A callable replacement gets the matched text; compiled flags are kept."""
        regex = re.compile(r"name: [a-z]+ [a-z]+", re.IGNORECASE)
        r = Redactor(extra_patterns=[Pattern("name", regex, lambda s: s[:6] + mask_name(s[6:]))])
        assert r.redact_text("NAME: John Doe") == "NAME: John D***"

    def test_custom_pattern_secret_group(self) -> None:
        """With a group named secret, only that group is replaced."""
        pattern = Pattern("pin", r"(PIN)[ :]+(?P<secret>[0-9]{4})", "****")
        assert Redactor(extra_patterns=[pattern]).redact_text("PIN: 1234.") == "PIN: ****."

    def test_custom_pattern_validator(self) -> None:
        """A validator can veto a match, leaving the text as it was."""
        pattern = Pattern("even", r"#[0-9]+", validate=lambda s: int(s[1:]) % 2 == 0)
        assert Redactor(extra_patterns=[pattern]).redact_text("#1 #2") == "#1 [EVEN_REDACTED]"

    def test_failing_custom_code_masks_instead_of_raising(self) -> None:
        """A replacement or validator that raises falls back to masking with the token."""

        def boom(text: str) -> Any:
            raise RuntimeError(text)

        patterns = [Pattern("a", r"A[0-9]+", boom), Pattern("b", r"B[0-9]+", validate=boom)]
        out = Redactor(extra_patterns=patterns).redact_text("A1 B2")
        assert out == "[A_REDACTED] [B_REDACTED]"

    def test_extra_pattern_replaces_builtin_of_same_name(self) -> None:
        """Reusing a built-in's name replaces the built-in."""
        r = Redactor(extra_patterns=[Pattern("email", r"[a-z]+@corp\.example", "[STAFF]")])
        assert r.redact_text("a@corp.example b@gmail.com") == "[STAFF] b@gmail.com"

    @pytest.mark.parametrize("regex", ["(", "a*"])
    def test_bad_custom_regex_is_rejected(self, regex: str) -> None:
        """A regex that does not compile, or matches nothing, fails at construction."""
        with pytest.raises(ValueError, match="bad"):
            Redactor(extra_patterns=[Pattern("bad", regex)])

    def test_styles_for_unknown_pattern_is_rejected(self) -> None:
        """styles naming a pattern that is not enabled fails at construction."""
        with pytest.raises(ValueError, match="ipv4"):
            Redactor(disable={"ipv4"}, styles={"ipv4": "partial"})

    def test_custom_trigger_keeps_the_pre_check(self) -> None:
        """A custom pattern with a trigger still matches text that holds the trigger."""
        r = Redactor(extra_patterns=[Pattern("ticket", r"#[0-9]{5}", trigger="#")])
        assert r.redact_text("see #12345") == "see [TICKET_REDACTED]"

    def test_bad_style_is_rejected(self) -> None:
        """A style other than token or partial fails at construction."""
        with pytest.raises(ValueError, match="style"):
            Redactor(style="hash")  # type: ignore[arg-type]


class TestPartialStyle:
    def test_partial_everywhere(self) -> None:
        """style="partial" keeps a hint of each value that has a partial form."""
        out = redact(
            "j.doe@example.com 4111 1111 1111 1111 203.0.113.7", preset="strict", style="partial"
        )
        assert out == "j***@***.com **** **** **** 1111 203.0.113.*"

    def test_secrets_stay_whole_tokens(self) -> None:
        """Patterns without a partial form (secrets) keep their fixed token."""
        assert redact("AKIAIOSFODNN7EXAMPLE", style="partial") == "[AWS_ACCESS_KEY_ID_REDACTED]"

    def test_partial_per_pattern(self) -> None:
        """styles switches single patterns to partial."""
        out = redact("a@b.io 4111-1111-1111-1111", styles={"credit_card": "partial"})
        assert out == "[EMAIL_REDACTED] ****-****-****-1111"

    @pytest.mark.parametrize(
        ("mask", "value", "expected"),
        [
            (mask_email, "john.doe@example.com", "j***@***.com"),
            (mask_card, "4111-1111-1111-1234", "****-****-****-1234"),
            (mask_card, "4111111111111234", "************1234"),
            (mask_name, "John Doe", "John D***"),
            (mask_name, "Cher", "C***"),
            (mask_ipv4, "203.0.113.7", "203.0.113.*"),
            (mask_ipv6, "2001:db8:85a3::1", "2001:db8:85a3:*"),
            (mask_partial, "123-45-6789", "***-**-6789"),
            (mask_partial, "12", "**"),
        ],
    )
    def test_mask_helpers(self, mask: Any, value: str, expected: str) -> None:
        """Each helper keeps its documented hint and nothing more."""
        assert mask(value) == expected


class TestStats:
    def test_counts_per_pattern_and_key(self) -> None:
        """Each replacement counts under its pattern; masked keys count as key:<key>."""
        r = Redactor(preset="strict")
        r.redact_event({"msg": "a@b.io c@d.io 10.0.0.1", "Api-Key": "k"})
        r.redact_text("e@f.io")
        assert r.stats() == {"email": 3, "ipv4": 1, "key:api_key": 1}

    def test_vetoed_candidates_are_not_counted(self) -> None:
        """A Luhn-invalid number is neither masked nor counted."""
        r = Redactor()
        r.redact_text("4111 1111 1111 1112")
        assert r.stats() == {}

    def test_repeated_pii_is_masked_and_counted_every_time(self) -> None:
        """Remembering clean strings never lets a string with PII through, or uncounted."""
        r = Redactor()
        assert [r.redact_text("a@b.io") for _ in range(3)] == ["[EMAIL_REDACTED]"] * 3
        assert r.stats() == {"email": 3}

    def test_counts_from_threads_add_up(self) -> None:
        """Threads sharing one redactor lose no counts."""
        r = Redactor()
        start = threading.Event()

        def work() -> None:
            start.wait()
            for _ in range(500):
                r.redact_event({"msg": "mail a@b.io", "token": "t"})

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        start.set()
        for thread in threads:
            thread.join()
        assert r.stats() == {"email": 2000, "key:token": 2000}

    def test_luhn(self) -> None:
        """The checksum accepts valid numbers and rejects one-digit changes."""
        assert luhn_valid("4111111111111111")
        assert not luhn_valid("4111111111111121")


# ---------------------------------------------------------------------- properties

_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SURROUNDING = st.text(max_size=40)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def emails(draw: st.DrawFn) -> str:
    local = draw(st.text("abcdefghijklmnopqrstuvwxyzABCZ0123456789._%+-", min_size=1, max_size=20))
    labels = draw(
        st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True), min_size=1, max_size=3)
    )
    tld = draw(st.from_regex(r"[a-z]{2,6}", fullmatch=True))
    return f"{local}@{'.'.join(labels)}.{tld}"


@st.composite
def cards(draw: st.DrawFn) -> str:
    """Luhn-valid numbers in the layouts cards are printed in."""
    layout = draw(st.sampled_from([(16,), (4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (15,), (19,)]))
    length = sum(layout)
    body = [draw(st.sampled_from("23456"))]
    body += draw(st.lists(st.sampled_from("0123456789"), min_size=length - 2, max_size=length - 2))
    digits = "".join(body)
    check = next(d for d in "0123456789" if luhn_valid(digits + d))
    number = digits + check
    sep = draw(st.sampled_from(" -"))
    groups, at = [], 0
    for size in layout:
        groups.append(number[at : at + size])
        at += size
    return sep.join(groups)


@st.composite
def aws_key_ids(draw: st.DrawFn) -> str:
    tail = draw(st.from_regex(r"[A-Z0-9]{16}", fullmatch=True))
    return draw(st.sampled_from(["AKIA", "ASIA"])) + tail


@st.composite
def jwts(draw: st.DrawFn) -> str:
    header = {"alg": draw(st.sampled_from(["HS256", "RS256", "none"])), "typ": "JWT"}
    claims = draw(st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=12)))
    signature = draw(st.binary(max_size=64))
    parts = [json.dumps(header).encode(), json.dumps(claims).encode(), signature]
    return ".".join(_b64url(part) for part in parts)


@st.composite
def bearer_tokens(draw: st.DrawFn) -> str:
    """Tokens of 8+ token68 characters, at least one of them not a lower-case letter."""
    body = draw(st.text(_URLSAFE + "._~+/", min_size=7, max_size=60))
    marker = draw(st.sampled_from("ABCXYZ0189._~+/-"))
    at = draw(st.integers(0, len(body)))
    return body[:at] + marker + body[at:]


IDEMPOTENCE_SAMPLES = [
    "password=hunter2",
    '{"password": "x y"}',
    "postgres://admin:s3cret@db:5432/app",
    "Bearer abc.DEF-123_xyz",
    "Authorization: Bearer abc.def",
    "203.0.113.7",
    "2001:db8::1",
    "+1 (555) 123-4567",
    "+1 (555) 123-4567 0@0.aa",
    "123-45-6789",
    PEM,
    f"aws_secret_access_key {AWS_SECRET}",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "q?password%3Dhunter2&email=jane%40example.com",
    "https%3A%2F%2Fadmin%3As3cret%40db.example.com",
    '{\\"token\\":\\"abc\\"}',
]
FULL_SCAN = Redactor(extra_patterns=[Pattern("order", r"ORD-[0-9]{6}")])


def survives(secret: str, redacted: str) -> bool:
    """Whether ``secret`` is still in ``redacted``, not counting the mask tokens themselves."""
    return secret in re.sub(r"\[[A-Z0-9_]*REDACTED\]", "\0", redacted)


def _embedded(secret: str, before: str, after: str) -> str:
    return f"{before} {secret} {after}"


_GATE_ALPHABET = "0123456789 .-()+:@_='\"aAeEkKsSyYJ/"
_GATE_FRAGMENTS = [
    "4111", "1111", "555", "123-45-", "6789", "+1 ", "(555) ", "192.168.", "10.0.0.",
    "::", "fe80:", "2001:db8", "AKIA", "ASIA", "IOSFODNN7EXAMPLE", "eyJhbGciOi", ".eyJzdWIi",
    "Bearer ", "bearer\t", "sk_live_", "sk-", "ghp_", "xoxb-", "AIza", "SG.", "npm_",
    "password", "Pass_Word", "api-key", "X-Api.Key", "db_password", "secret", "token",
    "Authorization", "Cookie", "session_id", "set-cookie", "pwd", "aws_secret_access_key",
    "https://user:", "@example.com", "jane.doe", "-----BEGIN PRIVATE KEY-----", "\u212a",
    "\u00e9", "max_tokens", "next_token", "seq=", "order #", "129.90", "x" * 20,
    "=", ": ", "='", "+1234567", "555 1234", "hunter2", "PASSWORD", "API_KEY", "Secret",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
]  # fmt: skip


class TestProperties:
    @settings(max_examples=100, deadline=None)
    @given(emails(), _SURROUNDING, _SURROUNDING)
    def test_emails_never_survive(self, email: str, before: str, after: str) -> None:
        """An email in any surrounding text does not appear in the output."""
        assert not survives(email, DEFAULT.redact_text(_embedded(email, before, after)))

    @settings(max_examples=100, deadline=None)
    @given(cards(), _SURROUNDING, _SURROUNDING)
    def test_cards_never_survive(self, card: str, before: str, after: str) -> None:
        """A Luhn-valid card number in any surrounding text does not appear in the output."""
        assert not survives(card, DEFAULT.redact_text(_embedded(card, before, after)))

    @settings(max_examples=50, deadline=None)
    @given(aws_key_ids(), _SURROUNDING, _SURROUNDING)
    def test_aws_key_ids_never_survive(self, key: str, before: str, after: str) -> None:
        """An AWS access key id in any surrounding text does not appear in the output."""
        assert not survives(key, DEFAULT.redact_text(_embedded(key, before, after)))

    @settings(max_examples=50, deadline=None)
    @given(jwts(), _SURROUNDING, _SURROUNDING)
    def test_jwts_never_survive(self, token: str, before: str, after: str) -> None:
        """A JWT in any surrounding text does not appear in the output."""
        assert not survives(token, DEFAULT.redact_text(_embedded(token, before, after)))

    @settings(max_examples=50, deadline=None)
    @given(bearer_tokens(), _SURROUNDING, _SURROUNDING)
    def test_bearer_tokens_never_survive(self, token: str, before: str, after: str) -> None:
        """A bearer token in any surrounding text does not appear in the output."""
        text = _embedded(f"Bearer {token}", before, after)
        assert not survives(token, DEFAULT.redact_text(text))

    @settings(max_examples=100, deadline=None)
    @given(
        st.lists(
            emails() | cards() | aws_key_ids() | jwts() | st.sampled_from(IDEMPOTENCE_SAMPLES),
            max_size=6,
        ),
        st.sampled_from(["token", "partial"]),
    )
    def test_redacting_twice_changes_nothing(self, items: list[str], style: Any) -> None:
        """Redacted text redacts to itself, so a processor plus the handler is safe."""
        r = Redactor(preset="strict", style=style)
        once = r.redact_text(" ".join(items))
        before = r.stats()
        assert r.redact_text(once) == once
        assert r.stats() == before

    @settings(max_examples=100, deadline=None)
    @given(st.text("abcdefghijklmnopqrstuvwxyz \n,;!?'()", max_size=300))
    def test_text_that_cannot_hold_pii_is_unchanged(self, text: str) -> None:
        """Lower-case words and harmless punctuation come back unchanged."""
        assert DEFAULT.redact_text(text) == text

    @settings(max_examples=100, deadline=None)
    @given(st.text("abcdefghijklmnopqrstuvwxyz \n,;!?'()", max_size=300))
    def test_full_scan_leaves_harmless_text_unchanged(self, text: str) -> None:
        """With the pre-check off (a custom pattern has no trigger), nothing changes either."""
        assert FULL_SCAN.redact_text(text) == text

    @settings(max_examples=400, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(_GATE_FRAGMENTS) | st.text(_GATE_ALPHABET, max_size=3),
                st.sampled_from(["", "", " ", "=", ": "]),
            ),
            max_size=30,
        ).map(lambda pieces: "".join(a + b for a, b in pieces)),
        st.sampled_from(["default", "strict"]),
    )
    def test_engine_equals_the_reference(self, text: str, preset: str) -> None:
        """The engine (one gate pass, searches only for what it flagged, shortcuts that
        skip searches) masks exactly what a slow reference masks that tries every
        pattern at every position, on text dense with matches and near-misses."""
        r = Redactor(preset=preset)
        assert r.redact_text(text) == reference_redact(r, text)


# ------------------------------------------------------------------- the reference


def _variants(source: str, context: bool) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The finder's regex for Python's re: with its context as "^" (for a match at 0),
    and as one consumed character (for a match after one)."""
    raw = source.encode("latin-1")
    if not context:
        compiled = re.compile(raw)
        return compiled, compiled
    lead_end = raw.index(b"|^)") + 3
    lead = raw[len(b"(?:") : lead_end - 3]
    return re.compile(b"^" + raw[lead_end:]), re.compile(lead + raw[lead_end:])


def _spans(m: re.Match[bytes]) -> list[tuple[int, int]]:
    return [m.span(i) for i in range((m.re.groups or 0) + 1)]


def _match_at(finder: Any, variants: Any, data: bytes, p: int, end: int) -> Any:
    """The finder's match whose own text starts at ``p``, after its check, or None."""
    group = 1 if finder.context else 0
    at, rx = (p - 1, variants[1]) if finder.context and p > 0 else (p, variants[0])
    m = rx.match(data, at, end)
    if m is None or m.start(group) != p:
        return None
    spans = _spans(m)
    if finder.check is not None and not finder.check(data, spans):
        return None
    if finder.retreat and LOCAL_PART_THEN_AT.match(data, m.end(group)):
        email = local_part_start(data, m.end(group), p)
        m = rx.match(data, at, email) if p < email else None
        if m is None or m.start(group) != p:
            return None
        spans = _spans(m)
        if finder.check is not None and not finder.check(data, spans):
            return None
    return m.end(group), secret_span(spans)


def reference_redact(r: Redactor, text: str) -> str:
    """Every pattern tried at every position, phase by phase, in priority order."""
    data = text.encode("utf-8", "surrogatepass")
    finders = [(f, _variants(f.source, f.context)) for f in r._finders]
    claimed: list[tuple[int, int, Any]] = []
    for phase in sorted({f.phase for f, _ in finders}):
        group = [(f, v) for f, v in finders if f.phase == phase]
        found = []
        start = 0
        for begin, end, _ in [*sorted(claimed, key=lambda c: c[0]), (len(data), len(data), None)]:
            p = start
            while p < begin:
                for finder, variants in group:
                    hit = _match_at(finder, variants, data, p, begin)
                    if hit is not None:
                        found.append((*hit[1], finder))
                        p = hit[0]
                        break
                else:
                    p += 1
            start = max(start, end)
        claimed += found
    out, kept = [], 0
    for begin, end, finder in sorted(claimed, key=lambda c: c[0]):
        out += [data[kept:begin], finder.replace(data[begin:end].decode()).encode()]
        kept = end
    return b"".join([*out, data[kept:]]).decode("utf-8", "surrogatepass")


# ------------------------------------------------------------- the worst inputs

ADVERSARIAL = [
    "::%", "1::2::3 ", "fe80::1%eth0 ", "=", "@", ".", "1", "a@", "a.a.a.a@", "a@b.cc ",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.", "k=v ", "password=x ", "Bearer ", "a://b:",
    "-----BEGIN PRIVATE KEY-----", "4111 ", "+1 2 ", "1.2.3.4 ", "a" * 63 + ".",
    "x%40y.co ", "+1 555 123 4567 0@x.io ",
]  # fmt: skip


class TestAdversarialInput:
    """The worst inputs found (their cost per byte is in benchmarks/bench_redaction.py)."""

    @pytest.mark.parametrize("unit", ADVERSARIAL)
    @pytest.mark.parametrize("preset", ["default", "strict"])
    def test_masks_what_the_reference_masks(self, unit: str, preset: str) -> None:
        """Long repetitions come out as the reference has them (the gate never gives up)."""
        text = (unit * (3000 // len(unit) + 1))[:3000]
        r = Redactor(preset=preset)
        assert r.redact_text(text) == reference_redact(r, text)

    def test_hundred_thousand_a_at(self) -> None:
        """100k repetitions of "a@" come back unchanged."""
        text = "a@" * 100_000
        assert DEFAULT.redact_text(text) == text


# ------------------------------------------------------------------------ presets


class TestPresets:
    def test_default_keeps_client_addresses(self) -> None:
        """IP addresses are operational data in access logs: the default keeps them."""
        text = "client=10.0.3.17 peer=2001:db8::7 user=jane@example.com"
        assert DEFAULT.redact_text(text) == (
            "client=10.0.3.17 peer=2001:db8::7 user=[EMAIL_REDACTED]"
        )

    def test_strict_masks_addresses_too(self) -> None:
        """The strict preset adds IPv4 and IPv6 addresses."""
        out = Redactor(preset="strict").redact_text("client=10.0.3.17 peer=2001:db8::7")
        assert out == "client=[IPV4_REDACTED] peer=[IPV6_REDACTED]"

    def test_minimal_masks_secrets_only(self) -> None:
        """The minimal preset keeps personal data and masks secrets."""
        out = Redactor(preset="minimal").redact_text(
            "jane@example.com password=x AKIAIOSFODNN7EXAMPLE"
        )
        assert out == "jane@example.com password=[REDACTED] [AWS_ACCESS_KEY_ID_REDACTED]"

    def test_enable_adds_to_a_preset(self) -> None:
        """enable= turns on a built-in the preset leaves off."""
        assert redact("from 10.0.3.17", enable={"ipv4"}) == "from [IPV4_REDACTED]"

    def test_presets_nest(self) -> None:
        """minimal is inside default, which is inside strict."""
        assert PRESETS["minimal"] < PRESETS["default"] < PRESETS["strict"]
        assert set(DEFAULT_PATTERN_NAMES) == PRESETS["default"]

    @pytest.mark.parametrize("options", [{"preset": "paranoid"}, {"enable": {"iban"}}])
    def test_unknown_names_are_rejected(self, options: dict[str, Any]) -> None:
        """A preset or built-in name that does not exist fails at construction."""
        with pytest.raises(ValueError, match="unknown redaction"):
            Redactor(**options)


# -------------------------------------------------------------- URL-encoded forms


class TestUrlEncoded:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("/cb?email=jane.doe%40example.com&x=1", "/cb?email=[EMAIL_REDACTED]&x=1"),
            ("q?password%3Dhunter2 next", "q?password%3D[REDACTED] next"),
            ("r=https%3A%2F%2Fadmin%3As3cret%40db.example.com%2Fx", None),
            ("Authorization: Bearer%20abcDEF123456", "Authorization: [REDACTED]"),
            ("h=Bearer%20abcDEF123456", "h=Bearer%20[BEARER_TOKEN_REDACTED]"),
        ],
    )
    def test_encoded_forms_are_masked(self, text: str, expected: str | None) -> None:
        """%40, %3D/%3A and %20 stand for "@", "=" / ":" and a space."""
        out = DEFAULT.redact_text(text)
        if expected is None:
            assert "s3cret" not in out and "admin" in out
        else:
            assert out == expected

    def test_partial_email_keeps_its_hint(self) -> None:
        """An encoded address gets the same partial mask as a plain one."""
        assert mask_email("jane.doe%40example.com") == "j***@***.com"


# ------------------------------------------------------------ every string reached


@dataclasses.dataclass
class _Signup:
    email: str
    plan: str = "pro"
    _internal: str = "x@y.io"  # orjson leaves out _private fields, so do we


class _Customer:
    def __repr__(self) -> str:
        return "Customer(email='jane@example.com')"


class TestEveryStringReached:
    def test_dataclass_fields_are_walked(self) -> None:
        """A dataclass becomes its fields, as orjson encodes it, when one had PII."""
        out = DEFAULT.redact_event({"signup": _Signup("jane@example.com")})
        assert out == {"signup": {"email": "[EMAIL_REDACTED]", "plan": "pro"}}

    def test_clean_dataclass_is_kept(self) -> None:
        """A dataclass without PII is left as the object it was."""
        signup = _Signup("nobody")
        assert DEFAULT.redact_event({"signup": signup})["signup"] is signup

    def test_objects_are_scanned_as_their_repr(self) -> None:
        """An object the encoder writes through repr is masked as that text."""
        out = DEFAULT.redact_event({"customer": _Customer(), "n": [_Customer()]})
        expected = "Customer(email='[EMAIL_REDACTED]')"
        assert out == {"customer": expected, "n": [expected]}

    def test_bytes_exceptions_and_sets(self) -> None:
        """Bytes, exception objects, sets and tuples are reached."""
        out = DEFAULT.redact_event(
            {
                "raw": b"to jane@example.com",
                "error": ValueError("bad card 4111 1111 1111 1111"),
                "tags": {"a@b.io"},
                "pair": ("x", "c@d.io"),
            }
        )
        assert out == {
            "raw": "to [EMAIL_REDACTED]",
            "error": "ValueError: bad card [CREDIT_CARD_REDACTED]",
            "tags": {"[EMAIL_REDACTED]"},
            "pair": ("x", "[EMAIL_REDACTED]"),
        }

    def test_card_number_logged_as_an_integer(self) -> None:
        """A Luhn-valid card number held in an int is masked; other big ints are kept."""
        out = DEFAULT.redact_event({"card": 4111111111111111, "id": 4111111111111112, "n": 7})
        assert out == {"card": "[CREDIT_CARD_REDACTED]", "id": 4111111111111112, "n": 7}

    def test_exception_text_and_logger_name(self) -> None:
        """The exception fields and the logger name are strings like any other."""
        event = {
            "logger": "mail.to:jane@example.com",
            "exception": {"type": "KeyError", "traceback": "KeyError: 'a@b.io'"},
        }
        assert DEFAULT.redact_event(event) == {
            "logger": "mail.to:[EMAIL_REDACTED]",
            "exception": {"type": "KeyError", "traceback": "KeyError: '[EMAIL_REDACTED]'"},
        }

    def test_native_values_are_kept(self) -> None:
        """Dates and UUIDs, which the encoder writes natively, are left alone."""
        when, ident = datetime.date(2024, 5, 1), uuid.UUID(int=7)
        out = DEFAULT.redact_event({"when": when, "id": ident})
        assert out["when"] is when and out["id"] is ident

    def test_non_ascii_text_around_matches(self) -> None:
        """Matches next to non-ASCII text are cut at character boundaries."""
        text = "Grüße an jöhn@exämple.com, Karte 4111 1111 1111 1111 · danke ✓"
        assert DEFAULT.redact_text(text) == (
            "Grüße an [EMAIL_REDACTED], Karte [CREDIT_CARD_REDACTED] · danke ✓"
        )

    def test_lone_surrogates_survive(self) -> None:
        """Text that is not valid Unicode is redacted without an error."""
        assert DEFAULT.redact_text("\udcff a@b.io") == "\udcff [EMAIL_REDACTED]"

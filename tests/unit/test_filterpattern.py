"""Tests for cwlogs.filterpattern, one class per pattern kind.

Examples are taken from the AWS documentation and cited by section:

[SYNTAX]  CloudWatch Logs User Guide, "Filter and Pattern Syntax"
          (FilterAndPatternSyntax.md, awsdocs/amazon-cloudwatch-logs-user-guide), now
          "Filter pattern syntax for metric filters, subscription filters, filter log
          events, and Live Tail".
[TEXT]    "Using filter patterns to match terms in unstructured log events".
[JSON]    "Using filter patterns to match terms in JSON log events".
[REGEX]   "Supported regular expressions (regex) syntax".
[404]     "Example: Count HTTP 404 codes" (Counting404Responses.md).
[BYTES]   "Example: Extract fields from an Apache log" (ExtractBytesExample.md).
[LIGHTSAIL] Lightsail GetContainerLog ``filterPattern`` (same pattern syntax).
[CDK]     aws-cdk-lib ``aws_logs.FilterPattern`` (pattern.ts): the strings it renders.
"""

from __future__ import annotations

import orjson
import pytest

from cwlogs.errors import InvalidParameterError
from cwlogs.filterpattern import (
    MAX_PATTERN_LENGTH,
    FilterPatternError,
    compile_pattern,
    matches,
    validate_pattern,
)
from cwlogs.filterpattern import test_pattern as run_test_pattern


def matching(pattern: str, messages: list[str]) -> list[str]:
    compiled = compile_pattern(pattern)
    return [m for m in messages if compiled.matches(m)]


def error_for(pattern: str) -> FilterPatternError:
    with pytest.raises(FilterPatternError) as info:
        compile_pattern(pattern)
    return info.value


# [SYNTAX] "OR Pattern Matching": the same three events serve text and space patterns.
OR_EVENTS = ["ERROR WARN message", "ERROR message", "WARN message"]

# [TEXT] the events used throughout that page.
HTTP_ERRORS = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
]

# [SYNTAX] "JSON Metric Filter Examples".
TRAIL_EVENT = orjson.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
).decode()

# [SYNTAX] "JSON Compound Conditions".
USERS_EVENT = orjson.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
).decode()

# [SYNTAX] "Using Metric Filters to Extract Values from Space-Delimited Log Events".
APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
]
APACHE_404 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
APACHE_403 = '10.1.2.3 - - [10/Oct/2000:13:26:01 -0700] "POST /admin HTTP/1.1" 403 12'


class TestMatchAll:
    """Patterns that match every event."""

    @pytest.mark.parametrize("pattern", ["", "   ", '""', '" "'])
    def test_empty_and_blank_quoted_patterns_match_everything(self, pattern: str) -> None:
        """[SYNTAX] Example 1 ("" matches all) and [TEXT] "Match everything" (" ")."""
        messages = ["anything", "", '{"a": 1}', "[ERROR 400] BAD REQUEST"]
        assert messages == matching(pattern, messages)

    @pytest.mark.parametrize("pattern", ["", '" "'])
    def test_kind_is_all(self, pattern: str) -> None:
        """A match-all pattern reports kind 'all'."""
        assert compile_pattern(pattern).kind == "all"

    def test_extracts_nothing(self) -> None:
        """[SYNTAX] extracted fields are empty when the filter is not space-delimited."""
        assert compile_pattern("").fields("127.0.0.1 - frank") == {}


class TestTextPatterns:
    """Unstructured terms, phrases, ``?`` alternatives and ``-`` exclusions."""

    def test_single_term_matches_substring(self) -> None:
        """[SYNTAX] Example 2: ERROR matches "[ERROR] ..." and "ERRORCODE"."""
        messages = ["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"]
        assert messages == matching("ERROR", messages)

    def test_single_term_over_http_errors(self) -> None:
        """[TEXT] "Monitor application errors": ERROR matches every event."""
        assert matching("ERROR", HTTP_ERRORS) == HTTP_ERRORS

    def test_term_does_not_match_absent_word(self) -> None:
        """A term that is not in the message does not match."""
        assert not matches("ERROR", "[INFO] service started in 1.2s")

    @pytest.mark.parametrize(
        "pattern", ["ERROR -Exiting", '"ERROR" -"Exiting"', '"ERROR" - "Exiting"']
    )
    def test_exclude_term(self, pattern: str) -> None:
        """[SYNTAX] Example 3: "ERROR" - "Exiting" drops the ERRORCODE line."""
        messages = ["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"]
        assert matching(pattern, messages) == ["[ERROR] A fatal exception has occurred"]

    def test_multiple_terms_are_anded(self) -> None:
        """[SYNTAX] Example 4: ERROR Exception needs both terms."""
        messages = [
            "[ERROR] Caught IllegalArgumentException",
            "[ERROR] Unhandled Exception",
            "[ERROR] disk full",
            "[WARN] Exception ignored",
        ]
        assert messages[:2] == matching("ERROR Exception", messages)

    def test_unquoted_words_each_must_appear(self) -> None:
        """[SYNTAX] Example 4: Failed to process the request matches all of its words."""
        messages = [
            "[WARN] Failed to process the request",
            "[ERROR] Unable to continue: Failed to process the request",
            "[WARN] the request to process Failed",
            "[WARN] Failed to connect",
        ]
        assert messages[:3] == matching("Failed to process the request", messages)

    def test_multiple_terms_over_http_errors(self) -> None:
        """[TEXT] "Track related application issues": ERROR ARGUMENTS."""
        assert HTTP_ERRORS[2:] == matching("ERROR ARGUMENTS", HTTP_ERRORS)

    def test_quoted_phrase_is_matched_exactly(self) -> None:
        """[TEXT] "INTERNAL SERVER ERROR" matches the phrase, not its words apart."""
        messages = ["[ERROR 500] INTERNAL SERVER ERROR", "[ERROR 500] SERVER INTERNAL ERROR"]
        assert messages[:1] == matching('"INTERNAL SERVER ERROR"', messages)

    def test_quoted_phrase_with_punctuation(self) -> None:
        """[TEXT] terms with non-alphanumeric characters go in double quotes."""
        assert matches('"Failed to connect:"', "db: Failed to connect: timeout after 5s")

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("ERROR", [0, 1]),
            ("?ERROR ?WARN", [0, 1, 2]),
            ("ERROR WARN", [0]),
            ("ERROR -WARN", [1]),
        ],
    )
    def test_or_pattern_matching(self, pattern: str, expected: list[int]) -> None:
        """[SYNTAX] "OR Pattern Matching", text-based filters."""
        assert [OR_EVENTS[i] for i in expected] == matching(pattern, OR_EVENTS)

    def test_optional_terms_over_http_errors(self) -> None:
        """?ERROR ?ARGUMENTS matches events with either term."""
        messages = [*HTTP_ERRORS, "[WARN 429] THROTTLED", "MISSING ARGUMENTS in call"]
        assert [*HTTP_ERRORS, "MISSING ARGUMENTS in call"] == matching(
            "?ERROR ?ARGUMENTS", messages
        )

    def test_include_and_exclude_over_http_errors(self) -> None:
        """ERROR -ARGUMENTS keeps the errors that do not mention ARGUMENTS."""
        assert HTTP_ERRORS[:2] == matching("ERROR -ARGUMENTS", HTTP_ERRORS)

    @pytest.mark.parametrize(
        ("pattern", "message", "expected"),
        [
            ("-ERROR", "[INFO] ok", True),
            ("-ERROR", "[ERROR] bad", False),
            ("ERROR", "[ERROR] bad", True),
            ("ERROR Exception", "ERROR: NullPointerException", True),
            ("?ERROR ?Exception", "Exception in thread main", True),
            ("?ERROR ?Exception", "all good", False),
        ],
    )
    def test_lightsail_examples(self, pattern: str, message: str, expected: bool) -> None:
        """[LIGHTSAIL] "", -ERROR, ERROR, ERROR Exception, ?ERROR ?Exception."""
        assert expected == matches(pattern, message)

    def test_terms_are_case_sensitive(self) -> None:
        """[SYNTAX] "Metric filters are case sensitive"."""
        assert [matches("error", "ERROR x"), matches("error", "an error x")] == [False, True]

    def test_star_in_a_term_is_literal(self) -> None:
        """AWS documents no wildcard for unstructured terms, so '*' is a plain character."""
        assert [matches("ERR*", "code ERR* seen"), matches("ERR*", "ERROR")] == [True, False]

    def test_cdk_all_terms(self) -> None:
        """[CDK] allTerms('ERROR', 'MainThread') renders "ERROR" "MainThread"."""
        messages = ["ERROR in MainThread", "ERROR in worker-1", "MainThread idle"]
        assert messages[:1] == matching('"ERROR" "MainThread"', messages)

    def test_cdk_any_term_group(self) -> None:
        """[CDK] anyTermGroup: each '?' starts a group whose plain terms are ANDed."""
        pattern = '?"ERROR" "MainThread" ?"WARN" "Deadlock"'
        messages = ["ERROR in MainThread", "WARN Deadlock detected", "ERROR in worker", "WARN slow"]
        assert messages[:2] == matching(pattern, messages)

    def test_exclusion_applies_inside_its_group(self) -> None:
        """?ERROR -retrying ?FATAL: an excluded term only vetoes its own alternative."""
        pattern = "?ERROR -retrying ?FATAL"
        messages = ["ERROR db down", "ERROR retrying", "FATAL retrying", "INFO ok"]
        assert matching(pattern, messages) == ["ERROR db down", "FATAL retrying"]

    def test_escaped_quote_inside_phrase(self) -> None:
        """[CDK] quoteTerm escapes '"' and '\\' with a backslash."""
        assert matches(r'"say \"hi\" C:\\tmp"', 'user said: say "hi" C:\\tmp now')

    def test_kind_is_text(self) -> None:
        """Terms make a 'text' pattern."""
        assert compile_pattern("ERROR -Throttling").kind == "text"


class TestRegexPatterns:
    """``%regex%`` terms, standalone and inside JSON and space-delimited patterns."""

    def test_regex_matches_anywhere(self) -> None:
        """[TEXT]/[REGEX] %AUTHORIZED% matches UNAUTHORIZED and AUTHORIZED."""
        messages = ["[ERROR 401] UNAUTHORIZED REQUEST", "[SUCCESS 200] AUTHORIZED REQUEST", "[OK]"]
        assert messages[:2] == matching("%AUTHORIZED%", messages)

    def test_ip_address_regex(self) -> None:
        """[REGEX] %\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}% finds an IP address."""
        pattern = r"%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%"
        messages = ["accepted from 10.0.12.7 port 22", "accepted from localhost"]
        assert messages[:1] == matching(pattern, messages)

    def test_alternation(self) -> None:
        """[REGEX] %[Ee]rror|[Ff]ail% catches Error/error and Fail/fail."""
        messages = ["Error: x", "error: y", "job fail", "Failed z", "all ok"]
        assert messages[:4] == matching("%[Ee]rror|[Ff]ail%", messages)

    @pytest.mark.parametrize(
        ("pattern", "hits", "misses"),
        [
            ("%^[hc]at%", ["hat trick", "cat nap"], ["the hat", "bat"]),
            ("%[hc]at$%", ["the hat", "a cat"], ["hat trick", "bat"]),
            ("%colou?r%", ["color", "colour"], ["colr", "colouur"]),
            ("%[abc]%", ["a", "cab"], ["xyz"]),
            ("%[a-z]%", ["Q9q"], ["Q9Z"]),
            ("%[abcx-z]%", ["y", "b"], ["d", "w"]),
            ("%a{3,5}%", ["aaa", "baaaab"], ["aa", "bab"]),
        ],
    )
    def test_supported_operators(self, pattern: str, hits: list[str], misses: list[str]) -> None:
        """[REGEX] "Using supported operators": ^ $ ? [] ranges and {m,n}."""
        assert hits == matching(pattern, hits + misses)

    def test_regex_is_case_sensitive(self) -> None:
        """A regex, like a term, is case sensitive."""
        assert not matches("%AUTHORIZED%", "unauthorized request")

    def test_word_class_is_ascii_only(self) -> None:
        """[REGEX] multi-byte characters are unsupported, so \\w does not match them."""
        assert [matches(r"%^\w+$%", "abc_1"), matches(r"%^\w+$%", "héllo")] == [True, False]

    def test_regex_in_json_value(self) -> None:
        """[CDK] regexValue('$.message', '=', 'bind: address already in use')."""
        pattern = "{ $.message = %bind: address already in use% }"
        messages = ['{"message": "listen :80: bind: address already in use"}', '{"message": "ok"}']
        assert messages[:1] == matching(pattern, messages)

    def test_regex_in_space_delimited_field(self) -> None:
        """[SYNTAX] regex may be incorporated in space-delimited patterns."""
        pattern = r"[ip, user, username, timestamp, request, status_code = %^5\d\d$%, bytes]"
        assert [APACHE[1]] == matching(pattern, APACHE)

    def test_negated_regex_in_json(self) -> None:
        """!= with a regex matches an existing value the regex does not find."""
        pattern = "{ $.path != %^/health% }"
        messages = ['{"path": "/health/live"}', '{"path": "/orders"}', '{"other": 1}']
        assert matching(pattern, messages) == ['{"path": "/orders"}']


class TestJsonPatterns:
    """Selectors, string and wildcard equality, IS/NOT EXISTS checks."""

    @pytest.mark.parametrize(
        "pattern",
        [
            '{ $.eventType = "UpdateTrail" }',
            "{ $.sourceIPAddress != 123.123.* }",
            '{ $.arrayKey[0] = "value" }',
            "{ $.objectList[1].id = 2 }",
            "{ $.SomeObject IS NULL }",
            "{ $.SomeOtherObject NOT EXISTS }",
            "{ $.ThisFlag IS TRUE }",
        ],
    )
    def test_documented_filters_match(self, pattern: str) -> None:
        """[SYNTAX] "JSON Metric Filter Examples": "The following filters would match"."""
        assert matches(pattern, TRAIL_EVENT)

    @pytest.mark.parametrize(
        "pattern",
        [
            '{ $.eventType = "CreateTrail" }',
            "{ $.sourceIPAddress != 111.111.* }",
            '{ $.arrayKey[1] = "value" }',
            "{ $.objectList[2].id = 2 }",
            "{ $.objectList[0].id = 2 }",
            "{ $.eventType IS NULL }",
            "{ $.SomeObject NOT EXISTS }",
            "{ $.ThisFlag IS FALSE }",
            "{ $.SomeOtherObject IS NULL }",
        ],
    )
    def test_counterparts_do_not_match(self, pattern: str) -> None:
        """The same event fails the opposite conditions."""
        assert not matches(pattern, TRAIL_EVENT)

    def test_index_on_non_array_is_false(self) -> None:
        """[SYNTAX] "If arrayKey is not an array this will be false"."""
        assert not matches('{ $.arrayKey[0] = "value" }', '{"arrayKey": "value"}')

    def test_is_false(self) -> None:
        """[SYNTAX] IS TRUE "also works for boolean filters which check for FALSE value"."""
        messages = ['{"ThisFlag": false}', '{"ThisFlag": true}', '{"ThisFlag": 0}']
        assert messages[:1] == matching("{ $.ThisFlag IS FALSE }", messages)

    def test_is_true_needs_a_boolean(self) -> None:
        """IS TRUE does not accept truthy values such as 1 or "true"."""
        messages = ['{"ok": 1}', '{"ok": "true"}', '{"ok": true}']
        assert messages[2:] == matching("{ $.ok IS TRUE }", messages)

    def test_event_type_intro_example(self) -> None:
        """[JSON] { $.eventType = "UpdateTrail" } finds specific CloudTrail events."""
        messages = [TRAIL_EVENT, '{"eventType": "StopLogging"}', "eventType UpdateTrail"]
        assert matching('{ $.eventType = "UpdateTrail" }', messages) == [TRAIL_EVENT]

    def test_ip_prefix_exclusion(self) -> None:
        """[JSON] { $.sourceIPAddress != 123.123.* } finds traffic from unexpected ranges."""
        messages = ['{"sourceIPAddress": "123.123.0.9"}', '{"sourceIPAddress": "8.8.8.8"}']
        assert messages[1:] == matching("{ $.sourceIPAddress != 123.123.* }", messages)

    @pytest.mark.parametrize(
        ("value", "hits", "misses"),
        [
            ("*Event", ["PutEvent", "GetEvent"], ["EventId", "PutEvents"]),
            ("Event*", ["EventId", "EventName"], ["PutEvent"]),
            ("Ev*ent", ["Ev*ent"], ["Event", "EvXent"]),
        ],
    )
    def test_wildcards_only_at_the_ends(
        self, value: str, hits: list[str], misses: list[str]
    ) -> None:
        """[SYNTAX] "*Event", "Event*" are wildcards; "Ev*ent" only matches itself."""
        events = [orjson.dumps({"name": v}).decode() for v in hits + misses]
        assert events[: len(hits)] == matching(f"{{ $.name = {value} }}", events)

    def test_quoted_wildcard(self) -> None:
        """A quoted value keeps its wildcard: { $.msg = "time*" }."""
        messages = ['{"msg": "timeout after 5s"}', '{"msg": "time"}', '{"msg": "a timeout"}']
        assert messages[:2] == matching('{ $.msg = "time*" }', messages)

    def test_level_equals(self) -> None:
        """{ $.level = "error" } matches the level exactly and case sensitively."""
        messages = ['{"level": "error"}', '{"level": "ERROR"}', '{"level": "errors"}']
        assert messages[:1] == matching('{ $.level = "error" }', messages)

    def test_star_means_exists(self) -> None:
        """[SYNTAX] "Publishing Numerical Values": { $.latency = * }."""
        messages = ['{"latency": 12}', '{"latency": "12ms"}', '{"latency": null}', '{"other": 1}']
        assert messages[:3] == matching("{ $.latency = * }", messages)

    def test_cdk_exists_renders_a_quoted_star(self) -> None:
        """[CDK] exists('$.latency') renders { $.latency = "*" }."""
        assert [
            matches('{ $.latency = "*" }', '{"latency": 3}'),
            matches('{ $.latency = "*" }', '{"lat": 3}'),
        ] == [True, False]

    def test_nested_exists(self) -> None:
        """{ $.a.b[0].c = * } walks objects and arrays."""
        messages = ['{"a": {"b": [{"c": "x"}]}}', '{"a": {"b": [{"d": 1}]}}', '{"a": {"b": []}}']
        assert messages[:1] == matching("{ $.a.b[0].c = * }", messages)

    def test_selector_on_array_is_never_applied(self) -> None:
        """[SYNTAX] "JSON Special Considerations": {$.users = 1} and != both fail on arrays."""
        event = '{"users": [1, 2, 3]}'
        assert [matches("{$.users = 1}", event), matches("{$.users != 1}", event)] == [False, False]

    def test_selector_on_object_is_never_applied(self) -> None:
        """A selector pointing at an object fails = * and != alike."""
        event = '{"user": {"id": 1}}'
        assert [
            matches("{ $.user = * }", event),
            matches("{ $.user != x }", event),
        ] == [False, False]

    def test_missing_field_fails_not_equal(self) -> None:
        """!= needs the field to exist (use NOT EXISTS for absence)."""
        assert not matches('{ $.level != "debug" }', '{"msg": "no level"}')

    @pytest.mark.parametrize(
        "message",
        ["plain text ERROR", "", "123", '"a string"', "true", '{"level": "error"', "{not json}"],
    )
    def test_non_json_messages_never_match(self, message: str) -> None:
        """A JSON pattern, even NOT EXISTS, does not match a message that is not a JSON object."""
        assert not matches("{ $.level NOT EXISTS }", message)

    def test_leading_whitespace_before_json(self) -> None:
        """Whitespace before the object does not stop the message being JSON."""
        assert matches('{ $.level = "error" }', '  \n{"level": "error"}')

    def test_big_integers_are_still_json(self) -> None:
        """Integers beyond 64 bits are valid JSON and compare numerically."""
        assert matches("{ $.id > 1 }", '{"id": 123456789012345678901234567890}')

    def test_keys_are_case_sensitive(self) -> None:
        """Property names are matched exactly."""
        assert not matches('{ $.Level = "error" }', '{"level": "error"}')

    def test_quoted_number_equals_textually(self) -> None:
        """A JSON string "400" equals the literal 400; the number 400 equals "400"."""
        assert [
            matches("{ $.code = 400 }", '{"code": "400"}'),
            matches('{ $.code = "400" }', '{"code": 400}'),
        ] == [True, True]

    def test_or_in_json_filters(self) -> None:
        """[SYNTAX] "OR Pattern Matching" in JSON filters."""
        events = ['{"foo": "bar"}', '{"foo": "baz"}', '{"foo": "qux"}']
        assert [
            events[:1],
            events[1:2],
            events[:2],
        ] == [
            matching("{$.foo = bar}", events),
            matching("{$.foo = baz }", events),
            matching("{$.foo = bar || $.foo = baz }", events),
        ]

    def test_kind_is_json(self) -> None:
        """A pattern in braces is a 'json' pattern."""
        assert compile_pattern(" { $.a = 1 }").kind == "json"

    def test_parses_each_message_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Several selectors in one pattern share a single JSON parse."""
        calls: list[str] = []
        real_loads = orjson.loads

        def counting_loads(data: str) -> object:
            calls.append(data)
            return real_loads(data)

        monkeypatch.setattr(orjson, "loads", counting_loads)
        pattern = compile_pattern("{ ($.a = 1 || $.b = 2) && $.c IS TRUE && $.d NOT EXISTS }")
        assert (pattern.matches('{"a": 1, "c": true}'), len(calls)) == (True, 1)


class TestJsonCompound:
    """&& and || with parentheses."""

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
            ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
            (
                '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
                " && $.actions[2] = nomatch }",
                True,
            ),
            (
                '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
                " && $.actions[2] = nomatch }",
                False,
            ),
        ],
    )
    def test_documented_compound_conditions(self, pattern: str, expected: bool) -> None:
        """[SYNTAX] "JSON Compound Conditions": && binds tighter than ||."""
        assert expected == matches(pattern, USERS_EVENT)

    def test_cdk_rendered_compound(self) -> None:
        """[CDK] all(stringValue, any(booleanValue, numberValue)) as rendered."""
        pattern = '{ ($.component = "HttpServer") && (($.error IS TRUE) || ($.latency > 1000)) }'
        messages = [
            '{"component": "HttpServer", "error": true, "latency": 5}',
            '{"component": "HttpServer", "error": false, "latency": 1500}',
            '{"component": "HttpServer", "error": false, "latency": 50}',
            '{"component": "Worker", "error": true, "latency": 5000}',
        ]
        assert messages[:2] == matching(pattern, messages)

    def test_nested_parentheses(self) -> None:
        """Parentheses nest."""
        pattern = "{ ((($.a = 1))) && ($.b = 2 || ($.c = 3 && $.d = 4)) }"
        assert [
            matches(pattern, '{"a": 1, "c": 3, "d": 4}'),
            matches(pattern, '{"a": 1, "c": 3, "d": 5}'),
        ] == [True, False]


class TestJsonNumeric:
    """Numeric comparisons on JSON values."""

    @pytest.mark.parametrize(
        ("pattern", "hit", "miss"),
        [
            ("{ $.latency >= 500 }", {"latency": 500}, {"latency": 499}),
            ("{ $.numbers[0] < 10e3 }", {"numbers": [9999]}, {"numbers": [10000]}),
            ("{ $.numbers[0] < 10e-3 }", {"numbers": [0.001]}, {"numbers": [0.01]}),
            (
                "{ $.processes[4].averageRuntime <= 55.5 }",
                {"processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}]},
                {"processes": [{}, {}, {}, {}, {"averageRuntime": 55.6}]},
            ),
            ("{ $.errorCode = 400 }", {"errorCode": 400}, {"errorCode": 404}),
            ("{ $.errorCode != 500 }", {"errorCode": 400}, {"errorCode": 500}),
            ("{ $.latency > +1000 }", {"latency": 1001}, {"latency": 1000}),
        ],
    )
    def test_documented_numeric_examples(self, pattern: str, hit: object, miss: object) -> None:
        """[SYNTAX] "Numeric Comparisons" examples, each with a match and a miss."""
        events = [orjson.dumps(hit).decode(), orjson.dumps(miss).decode()]
        assert events[:1] == matching(pattern, events)

    def test_status_at_least_500(self) -> None:
        """{ $.status >= 500 } on realistic request logs."""
        messages = ['{"status": 503, "path": "/"}', '{"status": 200}', '{"status": 500.0}']
        assert [messages[0], messages[2]] == matching("{ $.status >= 500 }", messages)

    def test_ordering_ignores_strings_and_booleans(self) -> None:
        """< and > only compare JSON numbers."""
        messages = ['{"n": "900"}', '{"n": true}', '{"n": null}', '{"n": 900}']
        assert messages[3:] == matching("{ $.n > 1 }", messages)

    def test_integer_and_float_compare_exactly(self) -> None:
        """Large integer ids keep their precision."""
        assert not matches("{ $.id = 9007199254740993 }", '{"id": 9007199254740992}')


class TestSpaceDelimited:
    """Positional fields, ``...``, conditions and field extraction."""

    def test_all_named_fields(self) -> None:
        """[SYNTAX] [ip, user, username, timestamp, request, status_code, bytes]."""
        pattern = "[ip, user, username, timestamp, request, status_code, bytes]"
        assert matching(pattern, APACHE) == APACHE

    @pytest.mark.parametrize(
        "pattern",
        ["[..., status_code, bytes]", "[ip, user, ..., status_code, bytes]", "[ip, user, ...]"],
    )
    def test_ellipsis(self, pattern: str) -> None:
        """[SYNTAX] the ellipsis stands for fields you don't count."""
        assert matching(pattern, APACHE) == APACHE

    def test_field_count_must_match_without_ellipsis(self) -> None:
        """[404] "The pattern needs to match with the entire log event message"."""
        assert matching("[ip, user, username, timestamp, request, status_code]", APACHE) == []

    def test_bytes_greater_than(self) -> None:
        """[SYNTAX] [..., status_code, bytes > 1000]."""
        pattern = "[ip, user, username, timestamp, request, status_code, bytes > 1000]"
        small = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 512'
        assert matching(pattern, [*APACHE, small]) == APACHE

    def test_status_code_equals(self) -> None:
        """[SYNTAX] [..., status_code = 200, bytes]."""
        pattern = "[ip, user, username, timestamp, request, status_code = 200, bytes]"
        assert [APACHE[0], APACHE[2]] == matching(pattern, APACHE)

    def test_status_code_prefix_wildcard(self) -> None:
        """[SYNTAX] [..., status_code = 4*, bytes]."""
        pattern = "[ip, user, username, timestamp, request, status_code = 4*, bytes]"
        assert matching(pattern, [*APACHE, APACHE_404, APACHE_403]) == [APACHE_404, APACHE_403]

    def test_request_contains_html(self) -> None:
        """[SYNTAX] [..., request = *html*, status_code = 4*, bytes]."""
        pattern = "[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]"
        assert matching(pattern, [*APACHE, APACHE_404, APACHE_403]) == [APACHE_404]

    def test_request_quoted_prefix(self) -> None:
        """[ip, user, username, timestamp, request = "GET*", status_code = 4*, bytes]."""
        pattern = '[ip, user, username, timestamp, request = "GET*", status_code = 4*, bytes]'
        assert matching(pattern, [*APACHE, APACHE_404, APACHE_403]) == [APACHE_404]

    def test_or_inside_a_field(self) -> None:
        """[SYNTAX] status_code = 403 || status_code = 404."""
        pattern = (
            "[ip, user, username, timestamp, request,"
            " status_code = 403 || status_code = 404, bytes]"
        )
        assert matching(pattern, [*APACHE, APACHE_404, APACHE_403]) == [APACHE_404, APACHE_403]

    def test_and_inside_a_field(self) -> None:
        """[SYNTAX] (earlier revision) status_code = 4* && status_code != 403."""
        pattern = (
            "[ip, user, username, timestamp, request,"
            " status_code = 4* && status_code != 403, bytes]"
        )
        assert matching(pattern, [*APACHE, APACHE_404, APACHE_403]) == [APACHE_404]

    def test_condition_naming_another_field(self) -> None:
        """[SYNTAX] status_code = 4* && bytes > 1000: a condition may test another field.

        The documented pattern has six fields, so it can never match the seven-field
        Apache lines; with a seventh field named bytes it does what it says.
        """
        documented = "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]"
        seven = "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000, bytes]"
        messages = [*APACHE, APACHE_404, APACHE_403]
        assert (matching(documented, messages), matching(seven, messages)) == ([], [APACHE_404])

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [("[w1=ERROR, w2]", [1]), ("[w1=ERROR || w1=WARN, w2]", [1, 2])],
    )
    def test_or_pattern_matching(self, pattern: str, expected: list[int]) -> None:
        """[SYNTAX] "OR Pattern Matching" in space-delimited filters (two-field events only)."""
        assert [OR_EVENTS[i] for i in expected] == matching(pattern, OR_EVENTS)

    def test_not_equal_both_words(self) -> None:
        """[w1!=ERROR&&w1!=WARN, w2] rejects both two-word events.

        The doc says it matches "ERROR WARN message", but that event has three
        fields and the pattern two, which its own field-count rule forbids.
        """
        assert matching("[w1!=ERROR&&w1!=WARN, w2]", [*OR_EVENTS, "INFO message"]) == [
            "INFO message"
        ]

    def test_ellipsis_on_both_sides_finds_any_field(self) -> None:
        """[..., status_code >= 400, ...] holds if any numeric field is at least 400."""
        messages = ["GET /health 200 12", "GET /login 503 12", "GET /login -"]
        assert matching("[..., status_code >= 400, ...]", messages) == ["GET /login 503 12"]

    def test_numeric_condition_skips_non_numbers(self) -> None:
        """A numeric comparison on a non-numeric field (like '-') is false."""
        assert [
            matches("[a, size > 0]", "x -"),
            matches("[a, size = 0 || size = -]", "x -"),
        ] == [False, True]

    def test_numeric_equality_is_numeric(self) -> None:
        """status = 200 also accepts 200.0 but not 2000."""
        messages = ["x 200", "x 200.0", "x 2000"]
        assert messages[:2] == matching("[a, status = 200]", messages)

    def test_quoted_and_bracketed_fields_count_as_one(self) -> None:
        """[SYNTAX] characters between [] or "" are treated as a single field."""
        pattern = compile_pattern("[ip, user, username, timestamp, request, status_code, bytes]")
        fields = pattern.fields(APACHE[0]) or {}
        expected = ("10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0")
        assert expected == (fields.get("$timestamp"), fields.get("$request"))

    def test_unterminated_quote_runs_to_end_of_line(self) -> None:
        """An unterminated quoted field in the message takes the rest of the line."""
        assert compile_pattern("[a, b]").fields('x "GET / HTTP/1.1 200') == {
            "$a": "x",
            "$b": "GET / HTTP/1.1 200",
        }

    def test_cdk_space_delimited(self) -> None:
        """[CDK] spaceDelimited + whereString(component = HttpServer) + whereNumber(!= 200)."""
        pattern = '[time, component = "HttpServer", ..., result_code != 200, latency]'
        messages = [
            "12:00:01 HttpServer GET / 500 35",
            "12:00:02 HttpServer GET / 200 11",
            "12:00:03 Worker job 7 500 90",
        ]
        assert messages[:1] == matching(pattern, messages)

    def test_counting_404s(self) -> None:
        """[404] [ip, id, user, timestamp, request, status_code=404, size]."""
        messages = [
            '127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 404 2326',
            '127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /apache_pb2.gif HTTP/1.0" 200 2326',
        ]
        assert messages[:1] == matching(
            "[ip, id, user, timestamp, request, status_code=404, size]", messages
        )

    def test_kind_is_space(self) -> None:
        """A pattern in brackets is a 'space' pattern."""
        assert compile_pattern("[a, ...]").kind == "space"


class TestExtraction:
    """``fields()`` and ``test_pattern`` mirror TestMetricFilter's extractedValues."""

    def test_documented_extraction(self) -> None:
        """[SYNTAX] [..., request=*.html*, status_code=4*,] names $request and $status_code.

        The doc shows the request as "GET /products/index.html" and escapes the quotes;
        the event it lists is the one used here.
        """
        expected = {
            "$status_code": "404",
            "$request": "GET /index.html HTTP/1.0",
            "$7": "1534",
            "$4": "10/Oct/2000:13:25:15 -0700",
            "$3": "frank",
            "$2": "-",
            "$1": "127.0.0.1",
        }
        assert expected == compile_pattern("[..., request=*.html*, status_code=4*,]").fields(
            APACHE_404
        )

    def test_extract_bytes(self) -> None:
        """[BYTES] $size holds the seventh field of each matched line."""
        lines = [
            '127.0.0.1 - - [24/Sep/2013:11:49:52 -0700] "GET /index.html HTTP/1.1" 404 287',
            '127.0.0.1 - - [24/Sep/2013:11:50:51 -0700] "GET /~test/ HTTP/1.1" 200 3',
            '127.0.0.1 - - [24/Sep/2013:11:50:51 -0700] "GET /favicon.ico HTTP/1.1" 404 308',
        ]
        result = run_test_pattern("[ip, id, user, timestamp, request, status_code, size]", lines)
        assert [m["extractedValues"]["$size"] for m in result] == ["287", "3", "308"]

    def test_no_match_gives_none(self) -> None:
        """fields() returns None when the message does not match."""
        assert compile_pattern("[a, b]").fields("one two three") is None

    def test_json_match_extracts_nothing(self) -> None:
        """[SYNTAX] extracted values are empty for filters that are not space-delimited."""
        assert compile_pattern('{ $.a = "x" }').fields('{"a": "x"}') == {}

    def test_test_pattern_mirrors_test_metric_filter(self) -> None:
        """test_pattern numbers events from 1 and lists only the matches."""
        messages = ["ERROR one", "INFO two", "ERROR three"]
        assert run_test_pattern("ERROR", messages) == [
            {"eventNumber": 1, "eventMessage": "ERROR one", "extractedValues": {}},
            {"eventNumber": 3, "eventMessage": "ERROR three", "extractedValues": {}},
        ]

    def test_test_pattern_accepts_any_iterable(self) -> None:
        """Messages may come from a generator."""
        result = run_test_pattern("[level, msg]", (f"L{i} m" for i in range(3)))
        assert [m["eventNumber"] for m in result] == [1, 2, 3]

    def test_ellipsis_fields_are_numbered(self) -> None:
        """Fields covered by '...' keep their position number."""
        assert compile_pattern("[first, ..., last]").fields("a b c d") == {
            "$first": "a",
            "$2": "b",
            "$3": "c",
            "$last": "d",
        }


class TestMalformedPatterns:
    """Patterns CloudWatch would refuse raise FilterPatternError with a position."""

    @pytest.mark.parametrize(
        ("pattern", "position", "phrase"),
        [
            ("{ $.a = }", 8, "expected a value after '='"),
            ("[a, b", 5, "never closed"),
            ('"Failed to connect', 0, "unterminated quoted string"),
            ('{ $.msg = "timeout }', 10, "unterminated quoted string"),
            ('[a, b = "x]', 8, "unterminated quoted string"),
            ("{ $.x === 1 }", 6, "'===' is not a comparison operator"),
            ("{ $.x == 1 }", 6, "equality is a single '='"),
            ("{ $.a = 1", 9, "never closed"),
            ("{ ($.a = 1 }", 11, "'(' at column 3 is never closed"),
            ("{ $.a = 1 ) }", 10, "')' without a matching '('"),
            ("{ $.a = 1 } ERROR", 12, "after the closing '}'"),
            ("{ }", 2, "expected a selector"),
            ("{ level = 1 }", 2, "expected a selector"),
            ("{ $ = 1 }", 2, "must name a property"),
            ("{ $.a[x] = 1 }", 5, "array index"),
            ("{ $.a }", 6, "expected a comparison operator"),
            ("{ $.a > abc }", 8, "compares numbers"),
            ('{ $.a >= "5" }', 9, "compares numbers"),
            ("{ $.a = 1 & $.b = 2 }", 10, "use '&&'"),
            ("{ $.a = 1 | $.b = 2 }", 10, "use '||'"),
            ("{ $.a IS MAYBE }", 9, "expected NULL, TRUE or FALSE"),
            ("{ $.a NOT THERE }", 10, "expected EXISTS"),
            ("{ $.a EXISTS }", 6, "use '= *'"),
            ("[ip user]", 4, "separate fields with ','"),
            ("[a, a]", 4, "used twice"),
            ("[]", 0, "at least one field"),
            ("[a] ERROR", 4, "after the closing ']'"),
            ("[a, b > x]", 8, "compares numbers"),
            ("[a = ]", 5, "expected a value after '='"),
            ('ERROR"', 5, "quote the whole phrase"),
            ('"a"b', 3, "expected a space between terms"),
            ("ERROR -", 6, "must be followed by a term"),
            ("%abc", 0, "unterminated regex"),
            ("%%", 0, "empty regex"),
        ],
    )
    def test_reports_reason_and_position(self, pattern: str, position: int, phrase: str) -> None:
        """Each malformed pattern names the problem and where it is."""
        err = error_for(pattern)
        assert (position, True) == (err.position, phrase in err.reason), str(err)

    def test_unsupported_regex_symbol(self) -> None:
        """[REGEX] %something!% "would be rejected since '!' is not supported"."""
        err = error_for("%something!%")
        assert (err.position, "'!' is not allowed" in err.reason) == (10, True)

    def test_regex_parentheses(self) -> None:
        """[REGEX] "The ( and ) operators are not supported"."""
        assert error_for("%a(b)%").position == 2

    def test_regex_multibyte(self) -> None:
        """[REGEX] "Multi-byte characters are not supported"."""
        assert "multi-byte" in error_for("%café%").reason

    def test_regex_that_python_cannot_compile(self) -> None:
        """A regex with nothing to repeat is reported at the offending operator."""
        err = error_for("%*a%")
        assert (err.position, "invalid regex" in err.reason) == (1, True)

    def test_regex_quota(self) -> None:
        """[REGEX] at most 2 regex in a JSON or space-delimited pattern."""
        err = error_for("{ $.a = %x% || $.b = %y% || $.c = %z% }")
        assert (err.position, "at most 2" in err.reason) == (34, True)

    def test_two_regex_are_allowed(self) -> None:
        """Two regex in one JSON pattern are within the quota."""
        assert compile_pattern("{ $.a = %x% || $.b = %y% }").kind == "json"

    def test_too_long(self) -> None:
        """The service refuses patterns over 1024 characters."""
        err = error_for("E" * (MAX_PATTERN_LENGTH + 1))
        assert (err.position, "1024" in err.reason) == (MAX_PATTERN_LENGTH, True)

    def test_message_shows_a_caret(self) -> None:
        """The message quotes the pattern and points at the column."""
        assert str(error_for("{ $.a = }")) == (
            "invalid filter pattern: expected a value after '=' (column 9)\n"
            "    { $.a = }\n"
            "            ^"
        )

    def test_is_an_invalid_parameter_error(self) -> None:
        """FilterPatternError is the library's InvalidParameterError."""
        assert isinstance(error_for("[a, b"), InvalidParameterError)

    def test_non_string_pattern(self) -> None:
        """A pattern that is not a str is a TypeError."""
        with pytest.raises(TypeError):
            compile_pattern(42)


class TestApi:
    """compile_pattern, validate_pattern and matches."""

    def test_compiled_patterns_are_cached(self) -> None:
        """Compiling the same pattern twice returns the same object."""
        assert compile_pattern("[a, b, ...]") is compile_pattern("[a, b, ...]")

    def test_validate_accepts_good_patterns(self) -> None:
        """validate_pattern accepts a valid pattern silently."""
        validate_pattern('{ $.eventType = "UpdateTrail" } ')

    def test_validate_rejects_bad_patterns(self) -> None:
        """validate_pattern raises FilterPatternError for a malformed one."""
        with pytest.raises(FilterPatternError):
            validate_pattern("{ $.x === 1 }")

    def test_matches_shortcut(self) -> None:
        """matches(pattern, message) compiles and evaluates in one call."""
        assert matches("ERROR Exception", "[ERROR] Unhandled Exception")

    def test_repr_and_equality(self) -> None:
        """A compiled pattern prints and compares by its source and kind."""
        fresh = compile_pattern.__wrapped__("ERROR")
        assert ("FilterPattern(pattern='ERROR', kind='text')", fresh) == (
            repr(compile_pattern("ERROR")),
            compile_pattern("ERROR"),
        )

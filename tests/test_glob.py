"""The one glob matcher: Redis syntax, agreement with Redis, and linear cost on any pattern."""

import re

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from caching import matcher
from caching.scan import Glob

# the patterns that took a worker down, and others that make backtracking matchers explode
SLOW_PATTERNS = [
    "*?*?*?*?*?*?*?*?*?*?!",
    "*?*?*?*?*?*?*?*?*?*?!*",
    "*a?a?a?a?a?a?a?a?b*",
    "*a*a*a*a*a*a*a*a*a*a*b",
    "a*a*a*a*a*a*a*a*a*a*a*b*",
]


class BudgetText(str):
    """A key that fails the test as soon as the matcher reads more characters than allowed
    (a backtracking matcher would otherwise never return)."""

    allowed = 0

    def __getitem__(self, index):
        type(self).allowed -= 1
        assert type(self).allowed >= 0, "the matcher read too many characters"
        return str.__getitem__(self, index)


@pytest.mark.parametrize("pattern", SLOW_PATTERNS)
def test_matching_reads_each_character_at_most_pattern_length_times(pattern):
    glob = matcher(pattern)
    for length in (100, 1000, 4000):
        BudgetText.allowed = len(pattern) * (length + 1)
        assert glob.match(BudgetText("a" * length)) is False


def reference(pattern: str) -> re.Pattern[str]:
    """The obvious regex of a logical pattern: fine here, on short test inputs only."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@settings(max_examples=500)
@given(st.text("ab*?[]\\", max_size=8), st.text("ab[]\\", max_size=10))
def test_logical_patterns_match_like_the_obvious_regex(pattern, text):
    assert matcher(pattern).match(text) == bool(reference(pattern).match(text))


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("user.id\\[?\\]", ["user.id[4]"], ["user.id[44]", "user.id4"]),
        ("h[a-c]llo", ["hallo", "hcllo"], ["hdllo", "hllo"]),
        ("h[^a-c]llo", ["hdllo"], ["hallo"]),
        ("h[xy\\]]llo", ["hxllo", "h]llo"], ["hzllo"]),
        ("a[b", ["ab"], ["a[b", "a"]),
        ("a[^", ["ab", "a]"], ["a"]),
        ("h[]x]llo", [], ["hxllo", "h]llo", "hllo"]),
        ("*:x*", ["p:x", "p:q:xy"], ["p:y"]),
        ("", [""], ["a"]),
    ],
)
def test_redis_syntax_matches_as_redis_scan_does(redis_url, pattern, matches, misses):
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    for key in matches + misses:
        client.set(key, 1)
    found = sorted(k.decode() for k in client.scan_iter(match=pattern)) if pattern else [""]
    assert found == sorted(matches)
    assert [k for k in matches + misses if Glob(pattern).match(k)] == matches

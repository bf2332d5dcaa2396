"""Model patterns matched with Java's semantics, as AWS validates them."""

import pytest

from smimages.protocol.javaregex import compiled, matcher, translate


@pytest.mark.parametrize("terminator", ["\n", "\r", "\u0085", "\u2028", "\u2029"])
def test_dot_stops_at_every_java_line_terminator(terminator):
    assert compiled(".*").fullmatch(f"a{terminator}b") is None
    assert compiled(".*").fullmatch("a\tb\u00a0c") is not None


@pytest.mark.parametrize(
    "pattern, accepted, refused",
    [
        (r"\d+", "0123456789", "١٢٣"),  # Arabic-Indic digits are not Java digits
        (r"\w+", "a_Z9", "été"),
        (r"\s+", " \t\n\x0b\f\r", "\u00a0"),
        (r"\S+", "\u00a0x", " "),
        (r"[\d]+", "42", "٤٢"),
        (r"\p{L}+", "été", "e1"),  # Unicode classes stay Unicode (the regex package)
    ],
)
def test_predefined_classes_are_ascii_as_in_java(pattern, accepted, refused):
    assert compiled(pattern).fullmatch(accepted) is not None
    assert compiled(pattern).fullmatch(refused) is None


def test_a_leading_bracket_in_a_class_is_a_literal():
    assert translate("[]a]") == r"[\]a]" and compiled("[]a]+").fullmatch("]a]") is not None
    assert translate("[^]a]") == r"[^\]a]"


@pytest.mark.parametrize("length", [3, 500])  # remembered, and too long to be remembered
def test_the_matcher_is_a_whole_string_match_every_time(length):
    fits = matcher("[a-z]+")
    for _ in range(2):
        assert fits("a" * length) and not fits("a" * (length - 1) + "1") and not fits("1" + "a" * length)

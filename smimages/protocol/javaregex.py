"""Compiles the model's Java regular expressions so they match exactly what Java (and so AWS) matches."""

import functools
from collections.abc import Callable

import regex

_LINE_TERMINATORS = r"\n\r\u0085\u2028\u2029"
_JAVA_SPACE = r" \t\n\x0B\f\r"
# Java's predefined classes are ASCII-only and its '.' stops at every line terminator; Python's are Unicode-wide
_OUTSIDE_CLASS = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "s": f"[{_JAVA_SPACE}]",
    "S": f"[^{_JAVA_SPACE}]",
    "w": "[a-zA-Z_0-9]",
    "W": "[^a-zA-Z_0-9]",
}
_INSIDE_CLASS = {"d": "0-9", "s": _JAVA_SPACE, "w": "a-zA-Z_0-9"}


def translate(pattern: str) -> str:
    """Rewrites '.', \\d, \\s, \\S, \\w and their negations to the character sets Java gives them."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            table = _INSIDE_CLASS if in_class else _OUTSIDE_CLASS
            out.append(table.get(nxt, ch + nxt))
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            out.append(ch)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a leading ']' is a literal
                out.append("\\]")
                i += 1
        elif ch == "]" and in_class:
            in_class = False
            out.append(ch)
        elif ch == "." and not in_class:
            out.append(f"[^{_LINE_TERMINATORS}]")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


@functools.cache
def compiled(pattern: str) -> "regex.Pattern[str]":
    """The model pattern compiled with Java semantics; \\p{L}-style classes come from the regex package."""
    return regex.compile(translate(pattern))


# Requests repeat the same names, aliases and tokens; matching one anew costs several times a lookup. Only short
# strings are remembered, so the memory held stays small whatever is sent.
_MEMO_CHARS = 128
_MEMO_SIZE = 512


@functools.cache
def matcher(pattern: str) -> Callable[[str], bool]:
    """A test of whether a whole string matches the model pattern; one per pattern, remembering recent short strings."""
    fullmatch = compiled(pattern).fullmatch

    @functools.lru_cache(maxsize=_MEMO_SIZE)
    def remembered(text: str) -> bool:
        """Whether text matches, from memory when it was asked of late."""
        return fullmatch(text) is not None

    return lambda text: remembered(text) if len(text) <= _MEMO_CHARS else fullmatch(text) is not None

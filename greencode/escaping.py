"""Text from inputs (test ids, labels, file names, messages) escaped for where it is shown.

Test ids and results files are not trusted: a parametrised test id can hold ``<img src=x>``, a link, a
backtick, a pipe or a newline; a results file can hold terminal escape sequences. Each function makes such
text inert in one medium, so that it reads as written and can neither add markup nor change the display.
"""

from __future__ import annotations

import re

# What can turn text into markup: HTML tags and entities, links and images, code spans, emphasis, table cells
# and escapes themselves. An escaped character is always literal in CommonMark. Underscores are left alone:
# inside words (test_io_read) they never emphasise, and test ids are full of them.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*~<>\[\]|&!])")
# bare URLs and e-mail addresses become links on GitHub (autolink literals): break the patterns it looks for
_AUTOLINKS = re.compile(r"(?i)(?<=:)//|(?<=www)\.|@")
_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")
# C0 controls but for tab and newline, DEL, and C1 controls (0x9b alone starts a sequence on some terminals)
_TERMINAL_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Spreadsheets run a cell starting with one of these as a formula (tab and carriage return too).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def markdown_text(text: str) -> str:
    """``text`` as literal Markdown inline text: no markup, links, HTML or line breaks of its own."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", text))
    return _AUTOLINKS.sub(lambda match: "\\" + "\\".join(match.group()), escaped)


def csv_text(text: str) -> str:
    """A CSV cell that a spreadsheet shows as text rather than running as a formula (OWASP's advice: a
    leading single quote)."""
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def terminal_text(text: str) -> str:
    """``text`` with control characters (escape sequences, bells, carriage returns) shown as ``\\xNN``."""
    return _TERMINAL_CONTROLS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


_LINE_CONTROLS = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def terminal_line(text: str) -> str:
    """``text`` as one line of a terminal: :func:`terminal_text`, and line breaks and tabs shown as ``\\n``,
    ``\\r`` and ``\\t`` (as pytest shows them in test ids), so that a test id cannot break a table's row."""
    return terminal_text(text.translate(_LINE_CONTROLS))

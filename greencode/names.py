"""Test node ids in narrow columns: one way to shorten them, for the terminal table and for plot labels.

What tells tests apart is the file's name and the end of the test's name (its parameters), so the
directories go first, then the middle; the end always stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: its start and its end, halves around an ellipsis."""
    if len(text) <= width:
        return text
    if width < 2:
        return ELLIPSIS[:width]
    head = width // 2
    return text[:head] + ELLIPSIS + text[len(text) - (width - 1 - head) :]


def _without_directories(node_id: str) -> str:
    path, separator, name = node_id.partition("::")
    _, slash, base = path.rpartition("/")
    rest = f"{base}{separator}{name}"
    # "…/" must stand for at least one character, so that the id's last few stay as they were
    return f"{ELLIPSIS}/{rest}" if slash and base and len(rest) >= 2 else node_id


def shorten(node_id: str, width: int) -> str:
    """``node_id`` in at most ``width`` characters, its end kept: ``…/test_io.py::test_x`` without its
    directories, then the middle of the test's name (while a few characters of it can stay at each end),
    then the middle of the whole id."""
    if len(node_id) <= width:
        return node_id
    short = _without_directories(node_id)
    if len(short) <= width:
        return short
    prefix, separator, name = short.partition("::")
    prefix += separator
    # the test's name needs at least a few characters at each end to be recognisable
    if separator and width - len(prefix) >= 9:
        return prefix + clip(name, width - len(prefix))
    return clip(node_id, width)


def _numbered(labels: list[str], number: Callable[[int, int], int], width: int) -> list[str]:
    """``labels``, each one not unique numbered ``number(index, nth_alike)``, within ``width``."""
    alike: dict[str, int] = {}
    result = []
    for index, label in enumerate(labels):
        if labels.count(label) > 1:
            alike[label] = alike.get(label, 0) + 1
            suffix = f" #{number(index, alike[label])}"
            label = clip(label, max(width - len(suffix), 1)) + suffix
        result.append(label)
    return result


def shorten_distinct(node_ids: Sequence[str], width: int) -> list[str]:
    """Each of the distinct ``node_ids`` shortened as by :func:`shorten`, but never two to one label.

    Ids that shorten alike (``…::test_decod…multiline-40kb1]`` for two parameter sets of one test) keep their
    last ``width - 1`` characters instead, where the parameters that tell them apart usually are; ids that
    still read alike are numbered in order (``#1``, ``#2``), and by position where even that is taken.
    """
    labels = [shorten(node_id, width) for node_id in node_ids]
    labels = [
        ELLIPSIS + node_id[-(width - 1) :] if labels.count(label) > 1 and width > 1 else label
        for node_id, label in zip(node_ids, labels, strict=True)
    ]
    if len(set(labels)) < len(labels):
        labels = _numbered(labels, lambda _, nth: nth, width)
    while len(set(labels)) < len(labels):  # a label of its own already ended in " #1"
        labels = _numbered(labels, lambda index, _: index + 1, width)
    return labels


def shorten_names(names: Sequence[str], width: int) -> list[str]:
    """Readable, still distinct labels for test names.

    While any label is longer than ``width``, every label drops the same part, so they read alike: first
    the directories (``tests/unit/test_io.py::test_read`` → ``test_io.py::test_read``), then the module
    (``test_read``), except where that would make two labels equal. A label still longer than ``width``
    is clipped (:func:`clip`); labels that clipping made equal are numbered.
    """

    def without_directories(name: str) -> str:
        path, sep, rest = name.partition("::")
        return path.rsplit("/", 1)[-1] + sep + rest

    def without_module(name: str) -> str:
        _, sep, rest = name.partition("::")
        return rest if sep and rest else name

    result = list(names)
    for shorter in (without_directories, without_module):
        if all(len(label) <= width for label in result):
            break
        candidates = [shorter(label) for label in result]
        result = [
            candidate if candidates.count(candidate) == 1 else label
            for label, candidate in zip(result, candidates, strict=True)
        ]
    result = [clip(label, width) for label in result]
    seen: dict[str, int] = {}
    for index, label in enumerate(result):
        if result.count(label) > 1:
            seen[label] = seen.get(label, 0) + 1
            result[index] = f"{label} #{seen[label]}"
    return result

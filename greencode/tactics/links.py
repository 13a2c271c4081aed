"""greencode's public documentation address, kept in one place: ``[project.urls] Documentation`` in
pyproject.toml, read back from the installed package's metadata.

Tactic links (``greencode tactics show``, SARIF help) and SARIF's ``informationUri`` are derived from it.
While no address is published the key is unset, and then no link is printed at all: a placeholder address
that leads nowhere is worse than none (``greencode tactics show ID`` explains a tactic offline).
"""

from __future__ import annotations

import functools

#: The ``[project.urls]`` key that holds the address of greencode's ``docs/`` folder.
URL_KEY = "Documentation"


@functools.cache
def docs_url() -> str | None:
    """The published address of greencode's docs folder (no trailing slash), or None if there is none."""
    from importlib import metadata

    try:
        entries = metadata.metadata("greencode").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == URL_KEY.lower() and url.strip().startswith("https://"):
            return url.strip().rstrip("/")
    return None


def tactic_url(tactic_id: str) -> str | None:
    """The tactic's section in the published docs/tactics.md, or None while nothing is published."""
    base = docs_url()
    return f"{base}/tactics.md#{tactic_id.lower()}" if base else None

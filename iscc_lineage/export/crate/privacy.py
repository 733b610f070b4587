"""What a crate says about the machine it was made on: by default, nothing personal.

A crate goes to a public deposit. Unless ``--keep-paths`` is given, every text the export
writes (the metadata's values, the README, the recorded-steps script) is passed through
:class:`Redactor`: paths under a run's working directory (or its Snakefile's folder) become
relative to it, home folders (``/home/NAME``, ``/Users/NAME``, ``/root``, the exporter's own)
become ``~``, the recording users' names become ``<user>``, and any other absolute path is
shortened to ``…/NAME`` (``/opt/tools/bin/segment`` -> ``…/segment``). The recorded path
(``alternateName``) of a file outside the workflow folder is left out. Such files are named
``external/<digest of their folder>/<name>`` (see
:func:`~iscc_lineage.export.crate.place.crate_rel`), so no ``@id`` carries a local path.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["Redactor"]

_BEFORE = r"(?<![\w.:/~-])"  #: a path starts a token: not inside a URL, a word or a path
_AFTER = r"(?=/|$|[\s'\"`,;:)\]}=])"
_HOMES = r"(?:/home|/Users)/[^/\s'\"`]+|/root"
_KEYS_KEPT = frozenset({"@id", "@type", "@context"})
#: any other absolute path of two or more parts: only its last part is kept
_OUTSIDE = re.compile(_BEFORE + r"/(?:[^/\s'\"`]+/)+([^/\s'\"`]*)")


class Redactor:
    """Rewrites local paths and user names in text (a no-op with ``keep``)."""

    def __init__(
        self, bases: Iterable[str | None], users: Iterable[str | None], *, keep: bool = False
    ) -> None:
        self.keep = keep
        norm = {posixpath.normpath(b) for b in bases if b and b.startswith("/")}
        norm.discard("/")
        self._bases = [
            re.compile(_BEFORE + re.escape(b) + r"(/|" + _AFTER + ")")
            for b in sorted(norm, key=len, reverse=True)
        ]
        home = os.path.expanduser("~")
        homes = _HOMES + (f"|{re.escape(home)}" if home not in ("", "/") else "")
        self._home = re.compile(_BEFORE + f"(?:{homes})" + _AFTER)
        names = sorted(
            {u for u in users if u and len(u) >= 3 and u != "root"}, key=len, reverse=True
        )
        self._users = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b") if names else None
        )

    def text(self, s: str) -> str:
        """``s`` with working-directory paths made relative, homes as ``~``, users hidden."""
        if self.keep:
            return s
        for pattern in self._bases:
            s = pattern.sub(lambda m: "" if m.group(1) == "/" else ".", s)
        s = self._home.sub("~", s)
        s = _OUTSIDE.sub(lambda m: "…/" + m.group(1), s)
        if self._users is not None:
            s = self._users.sub("<user>", s)
        return s

    def value(self, v: Any) -> Any:
        """A JSON value with every string rewritten by :meth:`text` (``@id``, ``@type`` kept)."""
        if self.keep:
            return v
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            out = {k: x if k in _KEYS_KEPT else self.value(x) for k, x in v.items()}
            if str(out.get("alternateName", "")).startswith(("/", "…/")):
                del out["alternateName"]  # a file outside the workflow folder: not named
            return out
        return v

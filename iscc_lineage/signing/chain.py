"""The store's tamper-evident chain: one hash per recorded run and step, each linked to the last.

Every write of a run or a step appends ``(seq, kind, uid, content, prev, hash)`` in the same
transaction: ``content`` = SHA-256 over the record's canonical JSON as read back from the store,
``hash`` = SHA-256 over ``prev``, kind, uid and content. The newest ``hash`` is the store's one
head. :func:`check_chain` recomputes everything and names the first record edited, deleted,
inserted or reordered after the fact. Someone who can rewrite the whole file can also recompute
the chain: a head that was signed (a run note, a signed crate) is what pins it.

Pure functions, standard library only: the store calls them inside its write transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "GENESIS",
    "ChainEntry",
    "ChainFinding",
    "check_chain",
    "content_hash",
    "link",
]

GENESIS = "0" * 64
Kind = Literal["run", "step"]


def content_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) over the record's canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link(prev: str, kind: str, uid: str, content: str) -> str:
    """The chained hash of one entry."""
    return hashlib.sha256(f"{prev}\n{kind}\n{uid}\n{content}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainEntry:
    seq: int
    kind: str
    uid: str
    content: str
    prev: str
    hash: str
    at: str | None = None


@dataclass(frozen=True, slots=True)
class ChainFinding:
    """One thing wrong, the first one in chain order first."""

    problem: Literal["edited", "deleted", "inserted", "reordered", "broken", "head"]
    kind: str | None
    uid: str | None
    seq: int | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "kind": self.kind,
            "uid": self.uid,
            "seq": self.seq,
            "detail": self.detail,
        }


def check_chain(
    entries: Sequence[ChainEntry],
    current: Mapping[tuple[str, str], str],
    signed_heads: Iterable[tuple[int, str, str]] = (),
) -> list[ChainFinding]:
    """Findings, first in chain order first; none for an intact store.

    ``entries`` in ``seq`` order; ``current``: ``(kind, uid)`` -> the content hash of the record
    as it is now (every run and step in the store); ``signed_heads``: ``(seq, head, what)`` from
    signed notes, each of which must still be the chain's hash at that ``seq``.
    """
    found: list[ChainFinding] = []
    prev, last_seq = GENESIS, 0
    latest: dict[tuple[str, str], ChainEntry] = {}
    by_seq: dict[int, str] = {}
    for e in entries:
        gap = e.seq != last_seq + 1
        if e.prev != prev or link(e.prev, e.kind, e.uid, e.content) != e.hash:
            if link(e.prev, e.kind, e.uid, e.content) != e.hash:
                why = "its entry was rewritten (hash does not match)"
                problem: Any = "broken"
            elif gap:
                why = f"entries #{last_seq + 1}-#{e.seq - 1} before it are gone"
                problem = "deleted"
            else:
                why = "it does not follow the entry before it"
                problem = "reordered"
            found.append(
                ChainFinding(
                    problem, e.kind, e.uid, e.seq, f"chain entry #{e.seq} ({e.kind} {e.uid}): {why}"
                )
            )
        prev, last_seq = e.hash, e.seq
        latest[(e.kind, e.uid)] = e
        by_seq[e.seq] = e.hash
    for seq, head, what in signed_heads:
        if by_seq.get(seq) != head:
            found.append(
                ChainFinding(
                    "head",
                    None,
                    None,
                    seq,
                    f"the chain head #{seq} signed in {what} is not this store's entry #{seq} "
                    "(history rewritten after signing)",
                )
            )
    for key, e in sorted(latest.items(), key=lambda kv: kv[1].seq):
        now = current.get(key)
        if now is None:
            found.append(
                ChainFinding(
                    "deleted",
                    e.kind,
                    e.uid,
                    e.seq,
                    f"{e.kind} {e.uid} was deleted after it was recorded",
                )
            )
        elif now != e.content:
            found.append(
                ChainFinding(
                    "edited",
                    e.kind,
                    e.uid,
                    e.seq,
                    f"{e.kind} {e.uid} was edited after it was recorded",
                )
            )
    for kind, uid in sorted(set(current) - set(latest)):
        found.append(
            ChainFinding(
                "inserted",
                kind,
                uid,
                None,
                f"{kind} {uid} is not in the chain (added behind its back)",
            )
        )
    found.sort(key=lambda f: (f.seq is None, f.seq or 0))
    return found

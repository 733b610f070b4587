"""The chain's pure part: every kind of after-the-fact change is named, first one first."""

from __future__ import annotations

import dataclasses

from iscc_lineage.signing.chain import GENESIS, ChainEntry, check_chain, content_hash, link


def _chain(records: list[tuple[str, str, dict[str, object]]]) -> list[ChainEntry]:
    out, prev = [], GENESIS
    for seq, (kind, uid, rec) in enumerate(records, 1):
        c = content_hash(rec)
        h = link(prev, kind, uid, c)
        out.append(ChainEntry(seq, kind, uid, c, prev, h))
        prev = h
    return out


RECORDS = [
    ("run", "r1", {"status": "running"}),
    ("step", "s1", {"cmd": "a"}),
    ("step", "s2", {"cmd": "b"}),
    ("run", "r1", {"status": "finished"}),
    ("step", "s3", {"cmd": "c"}),
]
NOW = {
    ("run", "r1"): content_hash({"status": "finished"}),
    **{("step", f"s{i}"): content_hash({"cmd": c}) for i, c in ((1, "a"), (2, "b"), (3, "c"))},
}


def test_intact_chain_has_no_findings() -> None:
    assert check_chain(_chain(RECORDS), NOW) == []
    assert content_hash({"a": 1, "b": "é"}) == content_hash({"b": "é", "a": 1})


def test_edited_record_is_named() -> None:
    now = {**NOW, ("step", "s2"): content_hash({"cmd": "B"})}
    f = check_chain(_chain(RECORDS), now)
    assert [(x.problem, x.uid) for x in f] == [("edited", "s2")]


def test_deleted_record_and_deleted_entry() -> None:
    now = {k: v for k, v in NOW.items() if k != ("step", "s1")}
    assert [(x.problem, x.uid) for x in check_chain(_chain(RECORDS), now)] == [("deleted", "s1")]
    entries = _chain(RECORDS)
    del entries[1]  # the entry of s1 gone too (row and chain entry deleted)
    f = check_chain(entries, now)
    assert (f[0].problem, f[0].seq) == ("deleted", 3) and "#2-#2" in f[0].detail


def test_reordered_entries_and_rewritten_entry() -> None:
    entries = _chain(RECORDS)
    a, b = entries[1], entries[2]
    swapped = [
        entries[0],
        dataclasses.replace(b, seq=2),
        dataclasses.replace(a, seq=3),
        *entries[3:],
    ]
    f = check_chain(swapped, NOW)
    assert (f[0].problem, f[0].uid) == ("reordered", "s2")
    forged = [
        *entries[:2],
        dataclasses.replace(entries[2], content=content_hash({"x": 1})),
        *entries[3:],
    ]
    assert check_chain(forged, NOW)[0].problem == "broken"


def test_inserted_record_and_signed_head() -> None:
    entries = _chain(RECORDS)
    f = check_chain(entries, {**NOW, ("step", "s9"): "00"})
    assert [(x.problem, x.uid) for x in f] == [("inserted", "s9")]
    # a recomputed chain (someone rewrote history and re-linked it) fails the signed head
    head = (3, entries[2].hash, "run note r1")
    rewritten = _chain([RECORDS[0], ("step", "s1", {"cmd": "A"}), *RECORDS[2:]])
    now = {**NOW, ("step", "s1"): content_hash({"cmd": "A"})}
    assert check_chain(rewritten, now) == []
    assert [x.problem for x in check_chain(rewritten, now, [head])] == ["head"]
    assert check_chain(entries, NOW, [head]) == []

"""Fault table rows: bad inputs handled, crafted files contained (issue 9, reliability report).

Every case is a real file, folder, record or store made here, run through the real CLI in a
subprocess (``python -m iscc_lineage``) under a 2 GiB address-space limit and a timeout, and
judged from the outside:

* **bad input handled**: exit 2 with one ``Error:`` line (exit 1 with an answer where the
  input is a negative answer), no traceback, no hang, and nothing written (the folder's files
  and the store are byte-identical afterwards, ``-wal``/``-shm`` aside).
* **crafted file contained**: exit 1 or 2 (0 where the rest must be imported), no traceback,
  no hang, nothing read from outside (a canary's content and ISCC never appear), nothing
  extracted to ``$TMPDIR``, and nothing written outside the output.

Run it against any checkout (``--code DIR``, default this one) to compare before and after::

    python tests/faults/hostile.py [--code /path/to/checkout] [--json out.json] [-v]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
MEMORY = 2 << 30  #: address-space limit of every CLI call (a /dev/zero read must not OOM us)
TIMEOUT = 30.0
CANARY = "CANARY-7f3a-not-for-export\n"


@dataclass
class Outcome:
    rc: int | None
    out: str
    err: str
    seconds: float


@dataclass
class Case:
    group: str
    kind: str  #: "bad input" or "crafted file"
    name: str
    ok: bool = False
    why: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class Runner:
    def __init__(self, code: Path, verbose: bool) -> None:
        self.code = code
        self.verbose = verbose
        self.cases: list[Case] = []

    def cli(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT
    ) -> Outcome:
        e = {**os.environ, "PYTHONPATH": str(self.code), **(env or {})}
        e.pop("ISCC_LINEAGE_STORE", None)
        t = time.perf_counter()
        try:
            p = subprocess.run(
                [sys.executable, "-m", "iscc_lineage", *args],
                cwd=cwd,
                env=e,
                capture_output=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                preexec_fn=_limit,
            )
            return Outcome(
                p.returncode,
                p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"),
                time.perf_counter() - t,
            )
        except subprocess.TimeoutExpired:
            return Outcome(None, "", "", time.perf_counter() - t)

    def add(self, group: str, kind: str, name: str, check: Callable[[], str | None]) -> None:
        case = Case(group, kind, name)
        try:
            why = check()
        except Exception as exc:  # a harness failure counts against the case, loudly
            why = f"harness: {type(exc).__name__}: {exc}"
        case.ok, case.why = why is None, why or ""
        self.cases.append(case)
        if self.verbose:
            print(
                f"{'ok  ' if case.ok else 'FAIL'} {group:<18} {name}: {case.why}", file=sys.stderr
            )


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.name.endswith(("-wal", "-shm")) or p.is_symlink() or not p.is_file():
            continue
        try:
            out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            continue
    return out


def refusal(o: Outcome, *, codes: tuple[int, ...] = (2,)) -> str | None:
    """None for a clean refusal: an allowed exit code, one stderr line, no traceback."""
    if o.rc is None:
        return f"hang (> {TIMEOUT:.0f} s)"
    if "Traceback" in o.err or "Traceback" in o.out:
        return f"traceback, exit {o.rc}: {o.err.strip().splitlines()[-1][:100]}"
    if o.rc not in codes:
        return f"exit {o.rc}, expected {codes}"
    lines = [ln for ln in o.err.splitlines() if ln.strip()]
    if o.rc == 2 and (len(lines) != 1 or not lines[0].startswith("Error: ")):
        return f"{len(lines)} stderr lines: {' | '.join(lines)[:120]}"
    return None


# -- bad inputs ----------------------------------------------------------------------------


def bad_inputs(r: Runner, root: Path) -> None:
    w = root / "bad"
    w.mkdir()
    (w / "raw.txt").write_text("raw acquisition\n")
    o = r.cli(
        "--store",
        "s.db",
        "record",
        "-i",
        "raw.txt",
        "-o",
        "a.txt",
        "--",
        "sh",
        "-c",
        "tr a-z A-Z < raw.txt > a.txt",
        cwd=w,
    )
    assert o.rc == 0, o.err
    (w / "old.txt").write_text("old\n")
    os.utime(w / "old.txt", (time.time() - 3600,) * 2)
    os.mkfifo(w / "fifo")
    os.symlink("loop", w / "loop")
    (w / os.fsdecode(b"bad\xff.txt")).write_text("never recorded\n")
    (w / "empty.txt").touch()
    (w / "garbage.db").write_bytes(b"not a database " * 100)
    (w / "emptystore.db").touch()
    (w / "adir").mkdir()
    (w / "afile").write_text("a file\n")
    deep = root / "deep"  # beside the folder: snapshots never walk it
    subprocess.run(
        [
            "sh",
            "-c",
            "mkdir deep && cd deep && for i in $(seq 1100); do mkdir a && "
            "cd a; done && echo x > leaf",
        ],
        cwd=root,
        check=True,
    )
    time.sleep(2.1)  # past the stat cache's racy window: a cache write would now happen
    paths = {
        "missing": "missing.txt",
        "FIFO": "fifo",
        "/dev/zero": "/dev/zero",
        "/dev/null": "/dev/null",
        "symlink loop": "loop",
        "non-UTF-8 name": os.fsdecode(b"bad\xff.txt"),
        "1100-deep folder": str(deep),
    }
    commands: dict[str, Callable[[str], list[str]]] = {
        "fingerprint": lambda p: ["fingerprint", p],
        "record -i": lambda p: ["record", "-i", p, "-o", "x.txt", "--", "true"],
        "trace": lambda p: ["trace", p],
        "impact": lambda p: ["impact", p],
        "verify PATH": lambda p: ["verify", p],
        "verify --crate": lambda p: ["verify", "--crate", p],
        "import": lambda p: ["import", p],
        "export --for": lambda p: ["export", "crate", "out", "--for", p],
        "export checksums --for": lambda p: ["export", "checksums", "sums", "--for", p],
    }
    store = ("--store", "s.db")
    for cname, make in commands.items():
        for pname, p in paths.items():
            if pname == "non-UTF-8 name" and cname in ("fingerprint", "verify --crate"):
                continue  # valid: a file that exists (fingerprinted / not a crate, exit 2)
            codes = (1, 2) if cname in ("trace", "impact", "verify PATH") else (2,)
            r.add(
                "CLI paths",
                "bad input",
                f"{cname} {pname}",
                _unchanged(r, w, [*store, *make(p)], codes),
            )
    options = {
        "show non-UTF-8 id": ["show", os.fsdecode(b"bad\xff")],
        "show ''": ["show", ""],
        "show 100k chars": ["show", "x" * 100_000],
        "verify --run ''": ["verify", "--run", ""],
        "verify --run missing": ["verify", "--run", "nope"],
        "runs -n x": ["runs", "-n", "x"],
        "trace --depth abc": ["trace", "a.txt", "--depth", "abc"],
        "export --max-size garbage": ["export", "crate", "out", "--max-size", "garbage"],
        "export --data bogus": ["export", "crate", "out", "--data", "bogus"],
        "export --data-url ftp://": ["export", "crate", "out", "--data-url", "ftp://x"],
        "export OUT missing parent": ["export", "crate", "nope/dir/out"],
        "export OUT is a file": ["export", "crate", "afile"],
        "export --force on a non-crate": ["export", "crate", "adir2", "--force"],
        "record --param without =": ["record", "-p", "x", "-o", "y.txt", "--", "true"],
        "record command not found": ["record", "-o", "y.txt", "--", "no-such-cmd-x"],
        "record -i OLD -o never": ["record", "-i", "old.txt", "-o", "never.txt", "--", "true"],
        "fingerprint OLD missing": ["fingerprint", "old.txt", "missing.txt"],
        "init /nonexistent/dir": ["init", str(root / "nonexistent" / "dir")],
    }
    (w / "adir2").mkdir()
    (w / "adir2" / "keep.txt").write_text("user data\n")
    for name, args in options.items():
        r.add("CLI options", "bad input", name, _unchanged(r, w, [*store, *args], (2,)))
    stores = {
        "a folder": "adir",
        "a FIFO": "fifo",
        "garbage": "garbage.db",
        "/dev/zero": "/dev/zero",
        "/dev/null": "/dev/null",
        "symlink loop": "loop",
        "a file as folder": "afile/x.db",
        "an empty file": "emptystore.db",
    }
    for sname, s in stores.items():
        for args in (
            ["runs"],
            ["trace", "raw.txt"],
            ["record", "-i", "old.txt", "-o", "never.txt", "--", "true"],
        ):
            r.add(
                "stores",
                "bad input",
                f"--store {sname}: {args[0]}",
                _unchanged(r, w, ["--store", s, *args], (2,)),
            )


def _unchanged(
    r: Runner, w: Path, args: list[str], codes: tuple[int, ...]
) -> Callable[[], str | None]:
    def check() -> str | None:
        before = snapshot(w)
        o = r.cli(*args, cwd=w)
        why = refusal(o, codes=codes)
        after = snapshot(w)
        if why is None and o.rc == 2 and after != before:  # exit 1 is an answer: it may cache
            changed = sorted(set(after.items()) ^ set(before.items()))
            why = f"wrote {changed[0][0]}"
        for extra in ("out", "sums", "x.txt", "y.txt", "nonexistent"):
            if (w / extra).exists() and extra not in before:
                shutil.rmtree(w / extra, ignore_errors=True) if (w / extra).is_dir() else (
                    w / extra
                ).unlink()
        return why

    return check


# -- crafted files ---------------------------------------------------------------------------


def _iscc(data: bytes, r: Runner, cwd: Path) -> str:
    p = cwd / ".iscc-probe"
    p.write_bytes(data)
    o = r.cli("fingerprint", "--no-cache", str(p), cwd=cwd)
    p.unlink()
    return o.out.split()[0]


def _meta(*entities: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "@context": "https://w3id.org/ro/crate/1.1/context",
            "@graph": [
                {"@id": "ro-crate-metadata.json", "about": {"@id": "./"}},
                {"@id": "./", "@type": "Dataset"},
                *entities,
            ],
        }
    ).encode()


def _zip(path: Path, members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def crafted_crates(r: Runner, root: Path) -> None:
    c = root / "crates"
    c.mkdir()
    canary = c / "canary.txt"
    canary.write_text(CANARY)
    secret_iscc = _iscc(CANARY.encode(), r, c)
    ok = b"fine\n"
    ok_ent = {"@id": "ok.txt", "@type": "File", "iscc": _iscc(ok, r, c)}
    big = bytes(64 << 20)
    zips: dict[str, tuple[list[tuple[str, bytes]], int]] = {
        "alternateName = canary": (
            [
                (
                    "ro-crate-metadata.json",
                    _meta({"@id": "#x", "iscc": secret_iscc, "alternateName": str(canary)}),
                )
            ],
            8,
        ),
        "alternateName = /usr": (
            [
                (
                    "ro-crate-metadata.json",
                    _meta({"@id": "#y", "iscc": secret_iscc, "alternateName": "/usr"}),
                )
            ],
            8,
        ),
        "zip bomb, unreferenced": (
            [
                ("ro-crate-metadata.json", _meta(ok_ent)),
                ("ok.txt", ok),
                *[(f"z{i}.bin", big) for i in range(4)],
            ],
            8,
        ),
        "bzip2 ratio bomb, referenced": (
            [
                ("ro-crate-metadata.json", _meta({"@id": "z.bin", "iscc": secret_iscc})),
                ("z.bin", bytes(256 << 20)),
            ],
            12,
        ),
        "no ISCC declared": ([("ro-crate-metadata.json", _meta())], 8),
        "@graph not a list": ([("ro-crate-metadata.json", b'{"@graph": "abc"}')], 8),
        "undeclared payload": (
            [("ro-crate-metadata.json", _meta(ok_ent)), ("ok.txt", ok), ("evil.sh", b"rm -rf ~\n")],
            8,
        ),
        "../ member": ([("ro-crate-metadata.json", _meta(ok_ent)), ("../../x.txt", ok)], 8),
        "/abs member": ([("ro-crate-metadata.json", _meta(ok_ent)), ("/tmp/x.txt", ok)], 8),
        "JSON nested 100k": ([("ro-crate-metadata.json", b"[" * 100_000 + b"]" * 100_000)], 8),
        "mixed int/str @id": (
            [
                (
                    "ro-crate-metadata.json",
                    json.dumps(
                        {
                            "@graph": [
                                {"@id": 1, "iscc": secret_iscc},
                                {"@id": "a", "iscc": secret_iscc},
                            ]
                        }
                    ).encode(),
                )
            ],
            8,
        ),
        "@id ../../etc/passwd": (
            [("ro-crate-metadata.json", _meta({"@id": "../../etc/passwd", "iscc": secret_iscc}))],
            8,
        ),
        "@id /etc/passwd": (
            [("ro-crate-metadata.json", _meta({"@id": "/etc/passwd", "iscc": secret_iscc}))],
            8,
        ),
        "@id %2e%2e/": (
            [
                (
                    "ro-crate-metadata.json",
                    _meta({"@id": "%2e%2e/%2e%2e/etc/passwd", "iscc": secret_iscc}),
                )
            ],
            8,
        ),
        "@id file:///": (
            [("ro-crate-metadata.json", _meta({"@id": "file:///etc/shadow", "iscc": secret_iscc}))],
            8,
        ),
        "bad UTF-8 metadata": ([("ro-crate-metadata.json", b"\xff\xfe{")], 8),
        "no metadata": ([("x.txt", ok)], 8),
    }
    for name, (members, method) in zips.items():
        path = c / (name.replace("/", "_").replace(" ", "_") + ".zip")
        _zip(path, members, method)
        r.add("verify --crate", "crafted file", name, _contained(r, c, path, secret_iscc))
    # duplicate metadata member: the first is real, the second (last-wins) empty
    dup = c / "dup.zip"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(dup, "w") as zf:
            zf.writestr("ro-crate-metadata.json", _meta(ok_ent))
            zf.writestr("ro-crate-metadata.json", _meta())
    r.add(
        "verify --crate",
        "crafted file",
        "duplicate metadata member",
        _contained(r, c, dup, secret_iscc),
    )
    # folder crates with symlinks out
    for name, links in {
        "file symlink out": [("a.txt", canary)],
        "folder symlink out": [("data", c)],
    }.items():
        folder = c / name.replace(" ", "_")
        folder.mkdir()
        for link, target in links:
            (folder / link).symlink_to(target)
        ids = ["a.txt"] if name.startswith("file") else ["data/canary.txt"]
        (folder / "ro-crate-metadata.json").write_bytes(
            _meta(*[{"@id": i, "@type": "File", "iscc": secret_iscc} for i in ids])
        )
        r.add("verify --crate", "crafted file", name, _contained(r, c, folder, secret_iscc))
    os.mkfifo(c / "fifo")
    for name, p in {"a FIFO as crate": c / "fifo", "/dev/zero as crate": Path("/dev/zero")}.items():
        r.add("verify --crate", "crafted file", name, _contained(r, c, p, secret_iscc))


def _contained(r: Runner, cwd: Path, crate: Path, secret: str) -> Callable[[], str | None]:
    def check() -> str | None:
        tmp = Path(tempfile.mkdtemp(prefix="fault-tmp-", dir=cwd))
        o = r.cli("verify", "--json", "--crate", str(crate), cwd=cwd, env={"TMPDIR": str(tmp)})
        why = refusal(o, codes=(1, 2))
        leftovers = list(tmp.iterdir())
        shutil.rmtree(tmp, ignore_errors=True)
        if why is None and leftovers:
            why = f"extracted {len(leftovers)} entries to TMPDIR"
        try:
            found = [c.get("actual") for c in json.loads(o.out)] if o.out.strip() else []
        except (ValueError, AttributeError, TypeError):
            found = []
        if why is None and (secret in found or CANARY.strip() in o.out):
            why = "read a file outside the crate (its ISCC is in the output)"
        return why

    return check


def crafted_stores(r: Runner, root: Path) -> None:
    w = root / "stores"
    w.mkdir()
    (w / "a.txt").write_text("a\n")
    o = r.cli(
        "--store",
        "s.db",
        "record",
        "-i",
        "a.txt",
        "-o",
        "b.txt",
        "--",
        "sh",
        "-c",
        "cp a.txt b.txt; echo b >> b.txt",
        cwd=w,
    )
    assert o.rc == 0, o.err
    attacks = {
        "trigger forging paths": "CREATE TRIGGER evil AFTER INSERT ON observation BEGIN "
        "UPDATE observation SET path='/FORGED/'||new.path "
        "WHERE id=new.id; END",
        "view: endless CTE as run": "ALTER TABLE run RENAME TO run_old; CREATE VIEW run AS "
        "WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL SELECT n+1 "
        "FROM x) SELECT * FROM run_old, x ORDER BY n",
    }
    for name, sql in attacks.items():
        db = w / f"{name.split()[0]}.db"
        shutil.copy(w / "s.db", db)
        con = sqlite3.connect(db)
        con.executescript(sql)
        con.close()

        def check(db: Path = db) -> str | None:
            before = snapshot(w)
            for args in (
                ["runs"],
                ["record", "-i", "a.txt", "-o", "c.txt", "--", "sh", "-c", "echo c > c.txt"],
            ):
                o = r.cli("--store", str(db), *args, cwd=w, timeout=15)
                why = refusal(o, codes=(2,))
                if why:
                    return f"{args[0]}: {why}"
            after = snapshot(w)
            after.pop("c.txt", None)
            return None if after == before else "the store changed"

        r.add("crafted store", "crafted file", name, check)


GOOD = {
    "rule": "copy",
    "input": ["in.txt"],
    "log": [],
    "params": [],
    "shellcmd": "cp",
    "incomplete": False,
    "job_hash": 1,
    "input_checksums": {},
    "code": None,
}
BAD_FIELDS: dict[str, tuple[str, object]] = {
    "input: 5": ("input", 5),
    "input: [1,2]": ("input", [1, 2]),
    "starttime: abc": ("starttime", "abc"),
    "endtime: 1e308": ("endtime", 1e308),
    "endtime: -1e18": ("endtime", -1e18),
    "job_hash: [1]": ("job_hash", [1]),
    "code: {}": ("code", {}),
    "input_checksums: [1,2]": ("input_checksums", [1, 2]),
    "params: 5": ("params", 5),
    "log: [1,2]": ("log", [1, 2]),
    "shellcmd: [..]": ("shellcmd", ["x"]),
    "rule: 7": ("rule", 7),
    "incomplete: maybe": ("incomplete", "maybe"),
    "conda_env: 5": ("conda_env", 5),
}
BAD_DOCS = {
    "a list": "[1,2,3]",
    "a string": '"text"',
    "a number": "5",
    "nested 200k deep": "[" * 200_000 + "]" * 200_000,
    "starttime NaN": '{"rule": "copy", "starttime": NaN, "endtime": 1.0}',
    "not JSON": "{nope",
    "empty file": "",
}


def _workflow(root: Path, name: str) -> Path:
    w = root / name
    (w / ".snakemake" / "metadata").mkdir(parents=True)
    (w / "in.txt").write_text("in\n")
    (w / "good.txt").write_text("out\n")
    t = os.stat(w / "good.txt").st_mtime
    _record(w, "good.txt", json.dumps({**GOOD, "starttime": t - 1, "endtime": t}))
    return w


def _record(w: Path, output: str, text: str) -> None:
    name = base64.urlsafe_b64encode(output.encode()).decode()
    (w / ".snakemake" / "metadata" / name).write_text(text)


def crafted_imports(r: Runner, root: Path) -> None:
    docs = {
        name: lambda t, k=k, v=v: json.dumps(
            {**GOOD, "starttime": t - 1, "endtime": t, "job_hash": 7, k: v}
        )
        for name, (k, v) in BAD_FIELDS.items()
    }
    docs.update({name: lambda t, text=text: text for name, text in BAD_DOCS.items()})
    for i, (name, make) in enumerate(docs.items()):
        w = _workflow(root, f"imp{i}")
        (w / "bad.txt").write_text("bad output\n")
        _record(w, "bad.txt", make(os.stat(w / "good.txt").st_mtime))
        r.add("import records", "crafted file", name, _imported(r, w))
    specials: dict[str, Callable[[Path], None]] = {
        "run log is a FIFO": lambda log: os.mkfifo(log),
        "run log -> /dev/zero": lambda log: log.symlink_to("/dev/zero"),
    }
    for name, make in specials.items():
        w = _workflow(root, name.replace(" ", "_").replace("/", "_").replace(">", ""))
        (w / ".snakemake" / "log").mkdir()
        make(w / ".snakemake" / "log" / "2026-01-01T000000.000000.snakemake.log")
        r.add("import files", "crafted file", name, _imported(r, w))
    w = _workflow(root, "mdb_view")
    con = sqlite3.connect(w / ".snakemake" / "metadata.db")
    con.execute(
        "CREATE VIEW snakemake_metadata AS WITH RECURSIVE x(n) AS (SELECT 1 UNION ALL "
        "SELECT n+1 FROM x) SELECT n AS target FROM x"
    )
    con.close()
    r.add("import files", "crafted file", "metadata.db view (endless)", _imported(r, w))
    # paths escaping the working directory, then a crate: no outside file may be shipped
    w = _workflow(root, "escape")
    (root / "secret.txt").write_text(CANARY)
    t = os.stat(w / "good.txt").st_mtime
    _record(
        w,
        "good.txt",
        json.dumps(
            {
                **GOOD,
                "input": ["../secret.txt", str(root / "secret.txt")],
                "starttime": t - 1,
                "endtime": t,
            }
        ),
    )

    def escape() -> str | None:
        o = r.cli("--store", "s.db", "import", "-q", ".", cwd=w)
        if o.rc != 0:
            return f"import: exit {o.rc}"
        o = r.cli("--store", "s.db", "export", "crate", "h.zip", "--zip", cwd=w)
        if o.rc != 0:
            return f"export: {refusal(o) or o.rc}"
        with zipfile.ZipFile(w / "h.zip") as zf:
            shipped = b"".join(zf.read(n) for n in zf.namelist())
        return "an outside file was copied into the crate" if CANARY.encode() in shipped else None

    r.add("import files", "crafted file", "record paths escape the workdir -> crate", escape)


def _imported(r: Runner, w: Path) -> Callable[[], str | None]:
    def check() -> str | None:
        o = r.cli("--store", "s.db", "import", "-q", ".", cwd=w)
        if o.rc == 2:  # refusing with one line before any write is contained too
            return refusal(o) or (None if not (w / "s.db").exists() else "refused, but wrote")
        if o.rc != 0 or "Traceback" in o.err:
            return refusal(o, codes=(0,)) or f"exit {o.rc}"
        con = sqlite3.connect(w / "s.db")
        try:
            steps = con.execute("SELECT count(*) FROM step").fetchone()[0]
        finally:
            con.close()
        return None if steps == 1 else f"{steps} steps imported, expected the good one"

    return check


def crafted_yaml(r: Runner, root: Path) -> None:
    def bomb(levels: int) -> str:
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
        return "\n".join(lines) + "\n"

    texts = {
        "alias bomb, 9 levels": bomb(9),
        "alias bomb, 12 levels": bomb(12),
        "self-referencing alias": "a: &x [1, *x]\n",
        "!!python/object/apply:os.system": "logger: !!python/object/apply:os.system "
        "['touch PWNED']\n",
        "!!python/object/new:subprocess.Popen": "x: !!python/object/new:subprocess.Popen "
        "[['touch', 'PWNED']]\n",
        "not a mapping": "- a\n- b\n",
        "logger is a mapping": "logger: {a: 1}\n",
    }
    for i, (name, text) in enumerate(texts.items()):
        w = root / f"yaml{i}"
        prof = w / "profiles" / "default"
        prof.mkdir(parents=True)
        (prof / "config.yaml").write_text(text)
        r.add("init profiles", "crafted file", name, _profile(r, w))
    for name, make in {
        "config.yaml is a FIFO": lambda p: os.mkfifo(p),
        "config.yaml -> /dev/zero": lambda p: p.symlink_to("/dev/zero"),
    }.items():
        w = root / name.replace(" ", "_").replace("/", "_").replace(">", "")
        prof = w / "profiles" / "default"
        prof.mkdir(parents=True)
        make(prof / "config.yaml")
        r.add("init profiles", "crafted file", name, _profile(r, w))


def _profile(r: Runner, w: Path) -> Callable[[], str | None]:
    def check() -> str | None:
        before = snapshot(w)
        o = r.cli("init", ".", cwd=w)
        why = refusal(o, codes=(2,))
        if why is None and snapshot(w) != before:
            why = "changed the profile"
        if (w / "PWNED").exists():
            why = "ran the YAML's code"
        return why

    return check


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", type=Path, default=HERE, help="checkout to test (PYTHONPATH)")
    ap.add_argument("--json", type=Path, help="also write the counts and cases as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per case")
    args = ap.parse_args()
    r = Runner(args.code.resolve(), args.verbose)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="iscc-faults-") as tmp:
        root = Path(tmp)
        for part in (bad_inputs, crafted_crates, crafted_stores, crafted_imports, crafted_yaml):
            part(r, root)
        subprocess.run(["rm", "-rf", str(root)], check=False)  # deep trees: rm, not rmtree
    rows = []
    for kind in ("bad input", "crafted file"):
        groups = sorted({c.group for c in r.cases if c.kind == kind})
        for g in groups:
            cs = [c for c in r.cases if c.group == g]
            rows.append((kind, g, len(cs), sum(c.ok for c in cs)))
    print(f"\nfault table: hostile input ({args.code}), {time.perf_counter() - t:.0f} s")
    print(f"{'row':<14} {'group':<18} {'tried':>5} {'handled':>8}")
    for kind, g, n, ok in rows:
        print(f"{kind:<14} {g:<18} {n:>5} {ok:>8}")
    for kind, label in (
        ("bad input", "bad inputs tried / handled"),
        ("crafted file", "crafted files tried / contained"),
    ):
        cs = [c for c in r.cases if c.kind == kind]
        print(f"{label}: {len(cs)} / {sum(c.ok for c in cs)}")
    failed = [c for c in r.cases if not c.ok]
    for c in failed:
        print(f"  not handled: {c.group}: {c.name}: {c.why}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bad_inputs": {
                        "tried": sum(c.kind == "bad input" for c in r.cases),
                        "handled": sum(c.ok for c in r.cases if c.kind == "bad input"),
                    },
                    "crafted_files": {
                        "tried": sum(c.kind == "crafted file" for c in r.cases),
                        "contained": sum(c.ok for c in r.cases if c.kind == "crafted file"),
                    },
                    "cases": [c.__dict__ for c in r.cases],
                },
                indent=1,
                default=str,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-file fingerprints: bit-identical to three ISCC implementations; parallel; bad input.

Oracles, all on the same bytes: the iscc-sum CLI (``--narrow --units``, a subprocess),
iscc-sum's ``IsccSumProcessor`` (Rust, fed in chunks that match none of the read buffers),
and iscc-core (the reference implementation, live and through the committed vectors that
``tests/build_vectors.py`` took from it). Fields compared: narrow ISCC-SUM, 256-bit
Data-Code, 256-bit Instance-Code, datahash, size. Then ``fingerprint_many`` (input order,
errors in place, several threads) and bad input (one-line ``FingerprintError`` naming the
path, also through the CLI as a subprocess: exit 2, no traceback).
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import blake3  # type: ignore[import-not-found,unused-ignore]
import iscc_core as ic  # type: ignore[import-untyped]
import iscc_lib as il
import pytest
from build_vectors import CASES, make_bytes
from iscc_sum import IsccSumProcessor

from iscc_lineage.codes import fingerprint_file, fingerprint_many, fingerprint_path
from iscc_lineage.codes.fingerprint import IO_READ_SIZE, SPLIT_MIN
from iscc_lineage.errors import FingerprintError
from iscc_lineage.model import Fingerprint
from iscc_lineage.recorder import Recorder, location
from iscc_lineage.store import Store

VECTORS = json.loads((Path(__file__).parent / "vectors" / "fingerprint.json").read_text())
EMPTY_ISCC = "ISCC:KUACL4F2WZY7KBXBV4JUTOPV7GQ2M"  # the pinned code of no bytes
ODD_CHUNK = 1_000_003  # a prime: oracle chunk boundaries fall where ours and theirs don't
FIELDS = ("iscc", "data_code", "instance_code", "datahash", "size")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every vector's input bytes as a file, by case name."""
    root = tmp_path_factory.mktemp("corpus")
    files = {}
    for case in VECTORS["cases"]:
        path = root / f"{case['name']}.bin"
        path.write_bytes(make_bytes(case["pattern"], case["seed"], case["size"]))
        files[case["name"]] = path
    return files


def _ours(path: Path) -> dict[str, Any]:
    fp = fingerprint_file(path)
    return {f: getattr(fp, f) for f in FIELDS}


def _datahash_of(instance_code: str) -> str:
    """A 256-bit Instance-Code's body is the BLAKE3 digest; the datahash is its multihash."""
    body = ic.decode_header(ic.decode_base32(instance_code.removeprefix("ISCC:")))[4]
    return "1e20" + bytes(body).hex()


def test_vectors_cover_the_buffer_boundaries() -> None:
    sizes = {c["size"] for c in VECTORS["cases"]}
    mib = IO_READ_SIZE
    assert mib == 1 << 20
    assert {
        0,
        1,
        7,
        1023,
        65537,
        mib - 1,
        mib,
        mib + 1,
        2 * mib - 1,
        2 * mib,
        2 * mib + 1,
        4 * mib + 3,
    } <= sizes
    assert sum(s > 4 * mib for s in sizes) >= 2  # multi-MB files
    assert [c["name"] for c in VECTORS["cases"]] == [c[0] for c in CASES]  # file is up to date


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_vector(case: dict[str, Any], corpus: dict[str, Path]) -> None:
    """Replays the committed iscc-core vectors through our code path."""
    assert _ours(corpus[case["name"]]) == case["expected"]


def test_empty_file_has_the_pinned_code(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    fp = fingerprint_file(tmp_path / "empty")
    assert fp.iscc == EMPTY_ISCC
    assert fp.size == 0


def test_matches_iscc_core_live(corpus: dict[str, Path]) -> None:
    for name, path in corpus.items():
        with path.open("rb") as f:
            data_code = ic.gen_data_code_v0(f, 256)["iscc"]
        with path.open("rb") as f:
            instance = ic.gen_instance_code_v0(f, 256)
        want = {
            "iscc": ic.gen_iscc_code_v0([data_code, instance["iscc"]])["iscc"],
            "data_code": data_code,
            "instance_code": instance["iscc"],
            "datahash": instance["datahash"],
            "size": instance["filesize"],
        }
        assert _ours(path) == want, name


def test_matches_iscc_sum_processor(corpus: dict[str, Path]) -> None:
    for name, path in corpus.items():
        proc = IsccSumProcessor()
        with path.open("rb") as f:
            while chunk := f.read(ODD_CHUNK):
                proc.update(chunk)
        r = proc.result(wide=False, add_units=True)
        assert r.units is not None
        want = {
            "iscc": r.iscc,
            "data_code": r.units[0],
            "instance_code": r.units[1],
            "datahash": r.datahash,
            "size": r.filesize,
        }
        assert _ours(path) == want, name


def _iscc_sum_cli() -> str:
    found = Path(sys.executable).parent / "iscc-sum"
    return str(found) if found.exists() else shutil.which("iscc-sum") or "iscc-sum"


def test_matches_iscc_sum_cli(corpus: dict[str, Path]) -> None:
    """One ``iscc-sum --narrow --units`` run over all files: code line, then two unit lines."""
    names = list(corpus)
    proc = subprocess.run(
        [_iscc_sum_cli(), "--narrow", "--units", *map(str, corpus.values())],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 * len(names)
    ours = fingerprint_many(list(corpus.values()))
    for i, (name, fp) in enumerate(zip(names, ours, strict=True)):
        code, star_path = lines[3 * i].split(" ", 1)
        assert star_path == f"*{corpus[name]}"
        data_code, instance_code = lines[3 * i + 1].strip(), lines[3 * i + 2].strip()
        assert not isinstance(fp, Exception)
        assert (fp.iscc, fp.data_code, fp.instance_code) == (code, data_code, instance_code), name
        # the CLI prints no datahash or size: the 256-bit Instance body is the BLAKE3 digest
        assert fp.datahash == _datahash_of(instance_code), name
        assert fp.size == corpus[name].stat().st_size


def _core_vectors() -> list[Any]:
    data = json.loads((resources.files("iscc_core") / "data.json").read_text())
    return [
        pytest.param(func, test["inputs"], test["outputs"], id=f"{func}.{name}")
        for func in ("gen_data_code_v0", "gen_instance_code_v0")
        for name, test in data[func].items()
    ]


@pytest.mark.parametrize(("func", "inputs", "outputs"), _core_vectors())
def test_iscc_core_conformance_vector(
    func: str, inputs: list[Any], outputs: dict[str, Any], tmp_path: Path
) -> None:
    """iscc-core's own data.json vectors, written to a file and fingerprinted by us.

    Our API always yields 256-bit units. A vector asking for 64 or 128 bits is checked on the
    prefix of our 256-bit body re-encoded at that length by iscc-core's codec (ISCC units of
    one type are prefixes of each other), and separately on iscc-lib at the asked length.
    """
    stream, bits = inputs
    raw = bytes.fromhex(stream.removeprefix("stream:"))
    (tmp_path / "vector.bin").write_bytes(raw)
    fp = fingerprint_file(tmp_path / "vector.bin")
    unit = fp.data_code if func == "gen_data_code_v0" else fp.instance_code
    mtype, stype, version, _, body = ic.decode_header(ic.decode_base32(unit[5:]))
    assert len(body) == 32
    prefix = "ISCC:" + ic.encode_component(mtype, stype, version, bits, body[: bits // 8])
    assert prefix == outputs["iscc"]
    assert fp.size == len(raw)
    if func == "gen_instance_code_v0":
        assert fp.datahash == outputs["datahash"]
        assert fp.size == outputs["filesize"]
    # the engine itself at the asked length (what the prefix above stands for)
    assert getattr(il, func)(raw, bits)["iscc"] == outputs["iscc"]


# -- fingerprint_many: order, errors in place, threads ----------------------------------------


def test_fingerprint_many_keeps_order_and_errors_in_place(tmp_path: Path) -> None:
    paths = []
    for i in range(8):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(make_bytes("random", 100 + i, 3 * (1 << 20) + i))
    os.mkfifo(tmp_path / "fifo")
    paths[2:2] = [tmp_path / "missing.bin"]
    paths[5:5] = [tmp_path / "fifo"]
    threads: list[str] = []
    results = fingerprint_many(
        paths, workers=3, on_bytes=lambda n: threads.append(threading.current_thread().name)
    )
    assert len(results) == len(paths)
    for path, result in zip(paths, results, strict=True):
        if path.name == "missing.bin":
            assert isinstance(result, FingerprintError)
            assert str(result) == f"{path}: no such file or directory"
        elif path.name == "fifo":
            assert isinstance(result, FingerprintError)
            assert str(result) == f"{path}: is a FIFO, not a regular file"
        else:
            assert isinstance(result, Fingerprint)
            assert result.datahash == "1e20" + blake3.blake3(path.read_bytes()).hexdigest()
    names = set(threads)
    assert len(names) >= 2, names  # the pool hashed on several threads at once
    assert all(n.startswith("iscc-fp") for n in names)


# -- bad input: one-line FingerprintError naming the path -------------------------------------


def _error(path: Path) -> str:
    with pytest.raises(FingerprintError) as err:
        fingerprint_path(path)
    message = str(err.value)
    assert "\n" not in message
    message.encode("utf-8")  # printable whatever the name
    return message


def test_bad_input_is_one_line_naming_the_path(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "dangling").symlink_to("nowhere")
    assert _error(tmp_path / "missing") == f"{tmp_path}/missing: no such file or directory"
    assert _error(tmp_path / "fifo") == f"{tmp_path}/fifo: is a FIFO, not a regular file"
    assert _error(Path("/dev/null")) == "/dev/null: is a device or socket, not a regular file"
    assert _error(tmp_path / "a") == f"{tmp_path}/a: {os.strerror(errno.ELOOP)}"
    assert _error(tmp_path / "dangling") == f"{tmp_path}/dangling: dangling symlink"
    bad = tmp_path / os.fsdecode(b"gone\xff.bin")
    assert _error(bad) == f"{tmp_path}/gone\\udcff.bin: no such file or directory"


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_read_error_is_one_line() -> None:
    """A regular file whose read fails (EIO at offset 0), even for root."""
    assert _error(Path("/proc/self/mem")) == f"/proc/self/mem: {os.strerror(errno.EIO)}"


def test_non_utf8_name_fingerprints_but_is_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"raw\xff.tif")
    path.write_bytes(b"pixels")
    proc = IsccSumProcessor()
    proc.update(b"pixels")
    assert fingerprint_path(path).iscc == proc.result(wide=False, add_units=False).iscc
    shown = f"{tmp_path}/raw\\udcff.tif: file name is not valid UTF-8"
    with pytest.raises(FingerprintError) as err:
        location(path)
    assert str(err.value) == shown
    with Store(":memory:") as store, pytest.raises(FingerprintError) as err:
        Recorder(store).artifacts([path])
    assert str(err.value) == shown


def _errors_as_nobody(paths: list[Path]) -> list[str]:
    """Fingerprint in a forked child with root privileges dropped; the error messages.

    A fork, not an exec: the interpreter lives under /root, which nobody may not enter.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            results = fingerprint_many(paths)
            os.write(write_end, json.dumps([str(r) for r in results]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        messages: list[str] = json.loads(f.read())
    assert os.waitpid(pid, 0)[1] == 0
    return messages


NOBODY = 65534


def test_unreadable_file_and_directory(tmp_path: Path) -> None:
    root = os.geteuid() == 0
    # as root, drop to nobody in a child; pytest's tmp_path is private to root, so use a
    # directory nobody may enter
    where = Path(tempfile.mkdtemp(prefix="iscc-unreadable-")) if root else tmp_path
    secret, locked = where / "secret.bin", where / "locked"
    try:
        where.chmod(0o755)
        secret.write_bytes(b"secret")
        secret.chmod(0o000)
        (locked / "sub").mkdir(parents=True)
        (locked / "sub" / "f").write_bytes(b"f")
        locked.chmod(0o000)
        paths = [secret, locked]
        messages = _errors_as_nobody(paths) if root else [_error(p) for p in paths]
    finally:
        if locked.exists():
            locked.chmod(0o755)  # so that the temporary directory can be removed
        if root:
            shutil.rmtree(where)
    denied = os.strerror(errno.EACCES)
    assert messages == [f"{secret}: {denied}", f"{locked}: {denied}"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "iscc-lineage"
    return subprocess.run(
        [str(exe), "--store", str(cwd / "no-store.db"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("kind", ["fifo", "missing"])
def test_cli_reports_bad_input_in_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    proc = _cli("fingerprint", str(path), cwd=tmp_path)
    reason = "is a FIFO, not a regular file" if kind == "fifo" else "no such file or directory"
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"Error: {path}: {reason}"]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


# -- one large file on two threads (Data-Code in the background, BLAKE3 in front) -------------


@pytest.mark.parametrize("size", [SPLIT_MIN - 1, SPLIT_MIN, SPLIT_MIN + 3 * (1 << 20) + 7])
def test_large_file_split_path_matches_iscc_sum(tmp_path: Path, size: int) -> None:
    raw = make_bytes("random", 77, size)
    path = tmp_path / "large.bin"
    path.write_bytes(raw)
    proc = IsccSumProcessor()
    for i in range(0, size, 3_000_017):  # chunks that match none of our read buffers
        proc.update(raw[i : i + 3_000_017])
    want = proc.result(wide=False, add_units=True)
    got = fingerprint_file(path)
    assert (got.iscc, got.size, [got.data_code, got.instance_code]) == (
        want.iscc,
        want.filesize,
        list(want.units),
    )
    assert got.datahash == "1e20" + blake3.blake3(raw).hexdigest()


def test_split_path_equals_single_thread_path(tmp_path: Path) -> None:
    # Both code paths on the same text-like bytes (CDC boundaries differ from random data),
    # a size that is not a whole number of read buffers, and iscc-core as the referee.
    raw = make_bytes("text", 5, SPLIT_MIN + 12345)
    path, twin = tmp_path / "text.bin", tmp_path / "twin.bin"
    path.write_bytes(raw)
    twin.write_bytes(raw)
    threaded = fingerprint_file(path)  # a lone large file: the two-thread path
    single = fingerprint_many([path, twin], workers=2)  # on the pool: one SumHasher each
    assert isinstance(single[0], Fingerprint)
    assert threaded == single[0] == single[1]
    assert threaded.data_code == ic.gen_data_code_v0(io.BytesIO(path.read_bytes()), 256)["iscc"]


@pytest.mark.parametrize("cached", [False, True])
def test_cli_path_for_one_large_file_takes_the_two_thread_path(
    tmp_path: Path, cached: bool
) -> None:
    # `iscc-lineage fingerprint BIG` calls fingerprint_many([BIG], cache=…, on_bytes=…): a lone
    # large file must not go through the pool (one SumHasher on one core) but through the
    # split path, whose Data-Code thread is alive while the bytes are read.
    raw = make_bytes("random", 3, SPLIT_MIN + 7)
    path = tmp_path / "big.bin"
    path.write_bytes(raw)
    seen: set[str] = set()

    def on_bytes(_: int) -> None:
        seen.update(t.name for t in threading.enumerate())

    if cached:
        from iscc_lineage.store import Store

        with Store(str(tmp_path / "lineage.db")) as store:
            (got,) = fingerprint_many([path], cache=store, on_bytes=on_bytes)
    else:
        (got,) = fingerprint_many([path], on_bytes=on_bytes)
    assert "iscc-fp-data" in seen
    assert not any(name.startswith("iscc-fp_") for name in seen)  # no pool thread
    assert isinstance(got, Fingerprint) and got == fingerprint_file(path)

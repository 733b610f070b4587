"""``verify --crate`` reads only inside the crate, never extracts, and never passes an empty
or tampered crate. Every crate here is made by the test; each goes through the real CLI."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from hostile_helpers import cli, one_line

from iscc_lineage.codes import fingerprint_bytes

ISCC = fingerprint_bytes(b"secret\n").iscc


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


def _file(name: str, data: bytes) -> dict[str, object]:
    return {
        "@id": name,
        "@type": "File",
        "iscc": fingerprint_bytes(data).iscc,
        "contentSize": str(len(data)),
    }


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "tmp").mkdir()
    return {"TMPDIR": str(tmp_path / "tmp")}


def test_alternate_name_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    crate = _zip(
        tmp_path / "alt.zip",
        [
            (
                "ro-crate-metadata.json",
                _meta(
                    {"@id": "#x", "@type": "File", "iscc": ISCC, "alternateName": str(secret)},
                    {"@id": "#y", "@type": "File", "iscc": ISCC, "alternateName": "/usr"},
                ),
            )
        ],
    )
    proc = cli("verify", "--json", "--crate", str(crate), cwd=tmp_path, timeout=20)
    assert proc.returncode == 1, proc.stderr  # nothing was checked: not a pass
    assert ISCC not in [c["actual"] for c in json.loads(proc.stdout)]
    assert {c["status"] for c in json.loads(proc.stdout)} == {"unreachable"}
    assert "nothing to verify" in cli("verify", "--crate", str(crate), cwd=tmp_path).stderr


def test_folder_crate_symlinks_out_are_not_followed(tmp_path: Path) -> None:
    crate = tmp_path / "c"
    crate.mkdir()
    (tmp_path / "secret.txt").write_text("secret\n")
    (crate / "a.txt").symlink_to(tmp_path / "secret.txt")
    (crate / "data").symlink_to(tmp_path)
    (crate / "ro-crate-metadata.json").write_bytes(
        _meta(
            {"@id": "a.txt", "@type": "File", "iscc": ISCC},
            {"@id": "data/secret.txt", "@type": "File", "iscc": ISCC},
        )
    )
    proc = cli("verify", "--json", "--crate", str(crate), cwd=tmp_path)
    assert proc.returncode == 1
    checks = [c for c in json.loads(proc.stdout) if c["expected"]]
    assert {c["status"] for c in checks} == {"error"} and not any(c["actual"] for c in checks)
    assert all("symlink" in c["detail"] for c in checks)
    assert {c["id"] for c in json.loads(proc.stdout) if c["status"] == "undeclared"} == {"data"}


def test_unreferenced_zip_bomb_is_not_extracted_and_is_named(
    tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    ok = b"fine\n"
    crate = _zip(
        tmp_path / "bomb.zip",
        [
            ("ro-crate-metadata.json", _meta(_file("ok.txt", ok))),
            ("ok.txt", ok),
            *[(f"z{i}.bin", bytes(64 << 20)) for i in range(3)],
        ],
    )
    proc = cli("verify", "--crate", str(crate), cwd=tmp_path, env=tmpdir_env)
    assert proc.returncode == 1, proc.stderr
    assert "z0.bin" in proc.stdout and "declares no ISCC" in proc.stdout
    assert not os.listdir(tmpdir_env["TMPDIR"])  # nothing extracted


def test_a_member_beyond_any_deflate_ratio_is_refused(
    tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    big = bytes(256 << 20)
    crate = _zip(
        tmp_path / "ratio.zip",
        [("ro-crate-metadata.json", _meta(_file("z.bin", big))), ("z.bin", big)],
        method=zipfile.ZIP_BZIP2,
    )
    line = one_line(cli("verify", "--crate", str(crate), cwd=tmp_path, env=tmpdir_env))
    assert "compression ratio" in line
    assert not os.listdir(tmpdir_env["TMPDIR"])


def test_referenced_members_are_streamed_not_extracted(
    tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    data = os.urandom(3 << 20)
    crate = _zip(
        tmp_path / "ok.zip",
        [("ro-crate-metadata.json", _meta(_file("d/x.bin", data))), ("d/x.bin", data)],
    )
    proc = cli("verify", "--crate", str(crate), cwd=tmp_path, env=tmpdir_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not os.listdir(tmpdir_env["TMPDIR"])


def test_duplicate_member_names_are_refused(tmp_path: Path) -> None:
    real = _meta(_file("a.txt", b"a"))
    crate = tmp_path / "dup.zip"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(crate, "w") as zf:
        zf.writestr("ro-crate-metadata.json", real)
        zf.writestr("a.txt", b"b")
        zf.writestr("ro-crate-metadata.json", _meta())
    line = one_line(cli("verify", "--crate", str(crate), cwd=tmp_path))
    assert "ro-crate-metadata.json" in line and "twice" in line


@pytest.mark.parametrize("graph", [[], "abc", [{"@id": 5, "iscc": ISCC}]])
def test_nothing_declared_is_nothing_to_verify(tmp_path: Path, graph: object) -> None:
    crate = tmp_path / "c"
    crate.mkdir()
    (crate / "ro-crate-metadata.json").write_text(json.dumps({"@graph": graph}))
    proc = cli("verify", "--crate", str(crate), cwd=tmp_path)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2 or "nothing to verify" in proc.stderr


def test_payload_without_iscc_is_named(tmp_path: Path) -> None:
    ok = b"fine\n"
    crate = _zip(
        tmp_path / "evil.zip",
        [
            ("ro-crate-metadata.json", _meta(_file("ok.txt", ok))),
            ("ok.txt", ok),
            ("evil.sh", b"rm -rf ~\n"),
        ],
    )
    proc = cli("verify", "--crate", str(crate), cwd=tmp_path)
    assert proc.returncode == 1 and "evil.sh" in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    "doc",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"@graph": [{"@id": 1, "iscc": ISCC}, {"@id": "a", "iscc": ISCC}]}),
    ],
)
def test_hostile_json_is_one_line(tmp_path: Path, doc: str) -> None:
    crate = tmp_path / "c"
    crate.mkdir()
    (crate / "ro-crate-metadata.json").write_text(doc)
    proc = cli("verify", "--crate", str(crate), cwd=tmp_path)
    assert "Traceback" not in proc.stderr and proc.returncode in (1, 2), proc.stderr


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_before_reading(tmp_path: Path, special: str) -> None:
    path = tmp_path / "fifo"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path = Path(special)
    line = one_line(cli("verify", "--crate", str(path), cwd=tmp_path, timeout=20))
    assert "not a regular file" in line or "neither a folder nor a zip" in line

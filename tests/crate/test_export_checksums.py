"""``export checksums``: the real ``iscc-sum -c`` accepts the file on intact files and fails
after a one-byte change; plus the JSON outputs of the export commands against their schemas.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from crate_helpers import BIN, Project, flip, invoke
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from iscc_lineage.cli import cli
from iscc_lineage.errors import ExportError
from iscc_lineage.export.crate.place import crate_rel, external_rel
from iscc_lineage.export.crate.sink import check_name
from iscc_lineage.size import parse_size

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def iscc_sum_check(folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "iscc-sum"), "-c", name], cwd=folder, capture_output=True, text=True, check=False
    )


def test_iscc_sum_accepts_then_flags_a_one_byte_change(recorded: Project) -> None:
    invoke("export", "checksums", "ISCC-SUMS")
    lines = (recorded.root / "ISCC-SUMS").read_text().splitlines()
    paths = {line.split(" *", 1)[1] for line in lines}
    assert {
        "raw/img.tif",
        "results/table.csv",
        "results/figure.png",
        "results/tiles/",
        "results/figure-annotated.png",
        "scripts/plot.py",
        "../outside/ref.csv",
    } == paths
    assert all(line.startswith("ISCC:KUA") for line in lines)  # narrow, ISO 24138
    ok = iscc_sum_check(recorded.root, "ISCC-SUMS")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count(": OK") == len(lines)
    flip(recorded.root / "results" / "table.csv")
    bad = iscc_sum_check(recorded.root, "ISCC-SUMS")
    assert bad.returncode == 1
    assert "results/table.csv: FAILED" in bad.stdout
    flip(recorded.root / "results" / "table.csv")
    flip(recorded.root / "results" / "tiles" / "t2.bin")  # a folder line checks its files
    assert iscc_sum_check(recorded.root, "ISCC-SUMS").returncode == 1


def test_checksum_file_elsewhere_and_gone_files(recorded: Project, tmp_path: Path) -> None:
    (recorded.root / "results" / "figure.png").unlink()  # gone: left out, named on stderr
    out = tmp_path / "sums" / "all.iscc"
    out.parent.mkdir()
    res = CliRunner().invoke(cli, ["export", "checksums", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["skipped"] == {(recorded.root / "results/figure.png").as_posix(): "missing"}
    assert iscc_sum_check(out.parent, "all.iscc").returncode == 0
    assert CliRunner().invoke(cli, ["export", "checksums", str(out)]).exit_code == 2
    invoke("export", "checksums", str(out), "--force", "--run", "r1")


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_json_outputs_match_their_schemas(recorded: Project, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "export",
            "crate",
            str(tmp_path / "c"),
            "--json",
            "--data",
            "none",
            "--data-url",
            "https://example.org/x",
        ],
    )
    summary = json.loads(res.stdout)
    validator("export-crate").validate(summary)
    assert summary["runs"] == ["r1"] and summary["steps"] == 4
    assert "README.md" in summary["payload"] and summary["referenced"]
    res = runner.invoke(cli, ["export", "checksums", str(tmp_path / "s"), "--json"])
    validator("export-checksums").validate(json.loads(res.stdout))
    (tmp_path / "c" / "README.md").write_text("edited")
    (recorded.root / "results" / "figure-annotated.png").unlink()
    res = runner.invoke(cli, ["verify", "--crate", str(tmp_path / "c"), "--json"])
    checks = {c["id"]: c for c in json.loads(res.stdout)}
    validator("verify-crate").validate(list(checks.values()))
    assert checks["README.md"]["status"] == "changed"
    # web references are never fetched, nor read at their recorded path (alternateName)
    web = "https://example.org/x/results/"
    assert (checks[web + "table.csv"]["where"], checks[web + "table.csv"]["status"]) == (
        "web",
        "unreachable",
    )
    assert checks[web + "figure-annotated.png"]["status"] == "unreachable"


@pytest.mark.parametrize(
    ("loc", "workdir", "code", "want"),
    [
        ("/w/a/b.tif", "/w", None, "a/b.tif"),
        ("b.tif", "/w", None, "b.tif"),
        ("../x.tif", "/w/sub", None, external_rel("/w/x.tif")),
        ("/w/../etc/passwd", "/w", None, external_rel("/etc/passwd")),
        ("/wx/a", "/w", None, external_rel("/wx/a")),
        ("/code/rules/a.smk", "/w", "/code", "workflow/rules/a.smk"),
        ("/w/README.md", "/w", None, "files/README.md"),
        ("/w", "/w", None, external_rel("/w")),
    ],
)
def test_crate_paths_never_leave_the_crate(
    loc: str, workdir: str, code: str | None, want: str
) -> None:
    assert crate_rel(loc, workdir, code) == want
    assert check_name(want) == want


@pytest.mark.parametrize("name", ["/etc/passwd", "a/../../b", "a//b", "", "./a", "a/\0"])
def test_unsafe_member_names_are_refused(name: str) -> None:
    with pytest.raises(ExportError):
        check_name(name)


def test_sizes() -> None:
    assert [parse_size(t) for t in ("5000", "100MB", "1.5 GB", "2MiB", "1kb")] == [
        5000,
        100_000_000,
        1_500_000_000,
        2 * 1024 * 1024,
        1000,
    ]
    with pytest.raises(ValueError):
        parse_size("lots")
    res = CliRunner().invoke(cli, ["export", "crate", "x", "--max-size", "lots"])
    assert res.exit_code == 2

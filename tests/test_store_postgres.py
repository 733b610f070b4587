"""The lab-wide store on a real PostgreSQL server (tests/services.py starts a private one).

Credentials never show, a read-only role can read everything it needs, concurrent writers
lose nothing, and foreign or newer databases are refused without being written. The
backend-neutral behaviour (record, trace, impact, verify, prefixes, …) runs on both backends
through the ``store_location`` fixture in the chain, directory and store tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers_store import EDGES_PER_STEP, FIXTURE_FILES
from services import PostgresServer

from iscc_lineage import Recorder, open_store
from iscc_lineage.errors import SchemaVersionError, StoreError
from iscc_lineage.store import redact_credentials
from iscc_lineage.store.postgres import pg_sql

HELPER = Path(__file__).parent / "helpers_store.py"


def _cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The real command in a subprocess: what a user sees on stdout and stderr."""
    proc = subprocess.run(
        [sys.executable, "-m", "iscc_lineage", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def chain(tmp_path: Path, postgres_server: PostgresServer) -> tuple[str, Path]:
    """raw -> a -> figure recorded by the superuser into a new database."""
    url = postgres_server.url(postgres_server.new_database())
    (tmp_path / "raw.txt").write_text("raw\n")
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "figure.txt").write_text("figure\n")
    with open_store(url) as st:
        rec = Recorder(st)
        run = rec.begin_run(workdir=tmp_path, command=f"snakemake --logger-iscc-store {url}")
        rec.record_step(run, "a", inputs=[tmp_path / "raw.txt"], outputs=[tmp_path / "a.txt"])
        rec.record_step(
            run, "figure", inputs=[tmp_path / "a.txt"], outputs=[tmp_path / "figure.txt"]
        )
        rec.finish_run(run)
    return url, tmp_path


# -- credentials -----------------------------------------------------------------------------


def test_password_never_shown_nor_stored(
    chain: tuple[str, Path], postgres_server: PostgresServer
) -> None:
    url, _work = chain
    secret = postgres_server.password
    assert secret in url
    with open_store(url, create=False) as st:
        assert secret not in st.location and st.location.startswith("postgresql://postgres@")
        [run] = st.runs()
    code, out, err = _cli("--store", url, "runs", "--json")
    assert code == 0, err
    assert secret not in out + err
    code, out, err = _cli("--store", url, "show", run.id, "--json")
    assert code == 0 and secret not in out + err
    # a wrong password: one line, exit 2, and neither password in it
    bad = url.replace(secret, "not-the-password")
    code, out, err = _cli("--store", bad, "runs")
    assert code == 2 and err.count("\n") == 1 and err.startswith("Error: postgresql://postgres@")
    assert "not-the-password" not in err and secret not in err
    assert "password authentication failed" in err


def test_recorded_command_has_no_password() -> None:
    cmd = (
        "snakemake --logger iscc --logger-iscc-store postgresql://lab:s3cr%40t@db.lab:5432/"
        "lineage -c8 --config x=postgres://u:pw@h/d?sslmode=require&password=pw2"
    )
    clean = redact_credentials(cmd)
    assert "s3cr" not in clean and ":pw@" not in clean and "pw2" not in clean
    assert "postgresql://lab@db.lab:5432/lineage" in clean and "postgres://u@h/d?" in clean


def test_credentials_from_pgpassword_and_pgpass(
    chain: tuple[str, Path], tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url, _ = chain
    bare = url.replace(":" + postgres_server.password + "@", "@")
    assert postgres_server.password not in bare
    home = tmp_path / "home"
    home.mkdir()
    no_pw = {"HOME": str(home), "PGPASSWORD": "", "PGPASSFILE": str(home / ".pgpass")}
    code, _, err = _cli("--store", bare, "runs", env=no_pw)
    assert code == 2 and "password" in err  # nothing to authenticate with: refused
    code, out, err = _cli(
        "--store", bare, "runs", "--json", env={**no_pw, "PGPASSWORD": postgres_server.password}
    )
    assert code == 0 and len(json.loads(out)) == 1, err
    pgpass = home / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres_server.port}:*:postgres:{postgres_server.password}\n")
    pgpass.chmod(0o600)
    code, out, err = _cli("--store", bare, "runs", "--json", env=no_pw)
    assert code == 0 and len(json.loads(out)) == 1, err


# -- a read-only role -------------------------------------------------------------------------


def test_read_only_role_traces_verifies_exports_but_cannot_record(
    chain: tuple[str, Path], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url, work = chain
    db = url.rsplit("/", 1)[1]
    role = f"reader_{db}"
    postgres_server.psql(f"CREATE ROLE {role} LOGIN PASSWORD 'rpw'")
    postgres_server.psql(f"GRANT pg_read_all_data TO {role}")
    ro = postgres_server.url(db, user=role, password="rpw")
    env = {"ISCC_LINEAGE_STORE": ro}
    code, out, err = _cli("trace", "--json", str(work / "figure.txt"), env=env)
    assert code == 0, err
    assert [s["name"] for s in json.loads(out)["steps"]] == ["figure", "a"]
    code, out, err = _cli("impact", "--json", str(work / "raw.txt"), env=env)
    assert code == 0 and {s["name"] for s in json.loads(out)["steps"]} == {"a", "figure"}, err
    code, out, err = _cli("verify", env=env)
    assert code == 0, err
    crate = tmp_path / "crate"
    code, out, err = _cli("export", "crate", str(crate), env=env)
    assert code == 0, err
    assert (crate / "ro-crate-metadata.json").is_file()
    assert "rpw" not in (crate / "ro-crate-metadata.json").read_text()
    # writing is refused, in one line, and nothing is written
    before = postgres_server.psql("SELECT count(*) FROM step", db=db)
    (work / "new.txt").write_text("new\n")
    code, out, err = _cli(
        "record", "-i", str(work / "raw.txt"), "-o", str(work / "new.txt"), env=env
    )
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err, err
    assert postgres_server.psql("SELECT count(*) FROM step", db=db) == before


# -- refusing what is not ours -----------------------------------------------------------------


def test_foreign_database_is_refused_and_left_alone(postgres_server: PostgresServer) -> None:
    db = postgres_server.new_database()
    postgres_server.psql("CREATE TABLE patients (id int)", db=db)
    with pytest.raises(StoreError, match="a database with other tables"):
        open_store(postgres_server.url(db))
    tables = postgres_server.psql(
        "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'", db=db
    )
    assert tables.strip() == "patients"


def test_missing_store_is_not_created_by_a_read(postgres_server: PostgresServer) -> None:
    db = postgres_server.new_database()
    code, _, err = _cli("--store", postgres_server.url(db), "runs")
    assert code == 2 and "no lineage store here" in err
    assert (
        postgres_server.psql(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", db=db
        ).strip()
        == "0"
    )


def test_newer_schema_is_refused(pg_url: str, postgres_server: PostgresServer) -> None:
    open_store(pg_url).close()
    db = pg_url.rsplit("/", 1)[1]
    postgres_server.psql(
        "UPDATE iscc_lineage_meta SET value = '999' WHERE key = 'schema_version'", db=db
    )
    with pytest.raises(SchemaVersionError, match="v999 is newer"):
        open_store(pg_url)


# -- many writers -----------------------------------------------------------------------------


def test_four_writers_and_readers_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    n = 60
    names = [f"w{k}" for k in range(4)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(HELPER), pg_url, str(tmp_path / r), r, str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in names
    ]
    read_errors: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        try:
            with open_store(pg_url) as st:
                while not stop.is_set():
                    st.runs()
                    st.stats()
                    reads += 1
        except BaseException as exc:
            read_errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    outs = [p.communicate(timeout=300) for p in procs]
    stop.set()
    for t in threads:
        t.join()
    assert [p.returncode for p in procs] == [0] * 4, [e for _, e in outs]
    assert [len(o.split()) for o, _ in outs] == [n] * 4
    assert not read_errors and reads > 0
    with open_store(pg_url, create=False) as st:
        assert st.stats() == {
            "content": FIXTURE_FILES,
            "run": 4,
            "step": 4 * n,
            "observation": 4 * n * EDGES_PER_STEP,
        }
        assert sorted(r.status for r in st.runs()) == ["finished"] * 4
        for r in names:
            assert len(st.steps_of_run(r)) == n


# -- the dialect --------------------------------------------------------------------------------


def test_dialect_rewrites_only_what_differs() -> None:
    assert pg_sql("SELECT id FROM content WHERE datahash = ?") == (
        "SELECT id FROM content WHERE datahash = %s"
    )
    assert pg_sql("SELECT 1 WHERE x IN (SELECT value FROM json_each(?))") == (
        "SELECT 1 WHERE x = ANY(%s)"
    )
    assert pg_sql(
        "INSERT OR REPLACE INTO stat_cache (key, fingerprint, stored) VALUES (?, ?, ?)"
    ).endswith(
        "ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint"
        ", stored = EXCLUDED.stored"
    )
    assert '"user"' in pg_sql("INSERT INTO run (uid, user) VALUES (?, ?)")
    assert "users" in pg_sql("SELECT users FROM t")


# -- the stat cache on both backends -------------------------------------------------------------


def test_stat_cache_batch_lookup_and_tree_recheck(tmp_path: Path, store_location: str) -> None:
    import os
    import time

    from iscc_lineage.codes import fingerprint_many, fingerprint_tree

    files = []
    for k in range(30):
        f = tmp_path / "chunks" / str(k % 3) / f"{k}.bin"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(bytes([k]) * (100 + k))
        files.append(f)
    old = time.time() - 3600  # older than the racy window: cacheable
    for f in files:
        os.utime(f, (old, old))
    time.sleep(2.1)  # the ctime (now) must leave the racy window too
    with open_store(store_location) as st:
        first = fingerprint_many(files, cache=st)
        got = st.cache_get_many(
            [
                "nope",
                *(
                    f"{s.st_dev}:{s.st_ino}:{s.st_size}:{s.st_mtime_ns}:{s.st_ctime_ns}"
                    for s in (f.stat() for f in files[:5])
                ),
            ]
        )
        assert sorted(fp.datahash for fp in got.values()) == sorted(fp.datahash for fp in first[:5])  # type: ignore[union-attr]
        assert fingerprint_many(files, cache=st) == first
        tree = fingerprint_tree(tmp_path / "chunks", cache=st)
        assert fingerprint_tree(tmp_path / "chunks", cache=st) == tree
        assert len(tree.members) == 30


def test_init_never_writes_a_password_into_the_profile(tmp_path: Path) -> None:
    code, _, err = _cli(
        "init", str(tmp_path), "--store", "postgresql://lab:s3cret@db.example/lineage"
    )
    assert code == 0, err
    text = (tmp_path / "profiles" / "default" / "config.yaml").read_text()
    assert "s3cret" not in text and "postgresql://lab@db.example/lineage" in text
    assert "password is not written" in err


def test_many_processes_create_one_store_at_once(pg_url: str) -> None:
    code = (
        "import sys; from iscc_lineage import open_store; open_store(sys.argv[1]).check_writable()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, pg_url], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    with open_store(pg_url, create=False) as st:
        assert st.stats()["run"] == 0


def test_session_settings_jit_off_and_the_urls_own_options_kept(pg_url: str) -> None:
    """JIT is off from the startup packet (no extra round trip per command); a URL's own
    ``options`` are not replaced by it."""
    with open_store(pg_url) as store:
        assert store._query("SHOW jit")[0][0] == "off"
    own = pg_url + "?options=-c%20statement_timeout%3D12345"
    with open_store(own) as store:
        assert store._query("SHOW statement_timeout")[0][0] == "12345ms"
        assert store._query("SHOW jit")[0][0] == "off"
        assert store.runs() == []  # the schema check found the store in one query

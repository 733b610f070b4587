"""The private servers themselves: PostgreSQL takes SQL over TCP with a password, SLURM runs a
batch job and reports its id. Everything else that needs them builds on these two."""

from __future__ import annotations

import time

import pytest
from services import PostgresServer, SlurmCluster


def test_postgres_takes_password_logins_over_tcp(postgres_server: PostgresServer) -> None:
    psycopg = pytest.importorskip("psycopg")
    db = postgres_server.new_database()
    with psycopg.connect(postgres_server.url(db)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (db,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_server.url(db, password="wrong")).close()


@pytest.mark.e2e
def test_slurm_runs_a_batch_job(slurm_cluster: SlurmCluster, tmp_path) -> None:
    out = tmp_path / "job.out"
    sub = slurm_cluster.run(
        "sbatch", "--parsable", "-o", str(out), "--wrap", "hostname; echo $SLURM_JOB_ID"
    )
    jobid = sub.stdout.strip().split(";")[0]
    assert jobid.isdigit()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.exists() and out.read_text().strip()):
        time.sleep(0.2)
    assert out.read_text().split()[-1] == jobid
    state = slurm_cluster.run("squeue", "-h", "--states=all", "-j", jobid, "-o", "%T").stdout
    assert state.strip() in {"COMPLETED", "COMPLETING"}

"""Real servers for the tests: a private PostgreSQL and a private single-node SLURM cluster.

Both are started from the Debian binaries (``.ci/services.sh`` installs them) in a temporary
folder, on loopback and unix sockets with free ports, and stopped at the end of the session.
Nothing of the machine's own configuration is read or changed, but one file: SLURM's job
steps read ``/etc/slurm/slurm.conf``, so while the cluster runs that file (absent before, or
ours from an interrupted session) holds one ``Include`` of the private configuration.

Without the binaries (or, for SLURM, without root to run slurmd) the tests that use them skip
with the reason. Under ``ISCC_LINEAGE_REQUIRE_SERVICES=1`` (set by ``.ci/run``) they fail
instead, so CI can never pass by skipping them.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user
(created by Debian's package) through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REQUIRE = os.environ.get("ISCC_LINEAGE_REQUIRE_SERVICES") == "1"
SUPERUSER = "postgres"


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when CI requires the services."""
    if REQUIRE:
        pytest.fail(f"{reason} (ISCC_LINEAGE_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: callable, timeout: float, what: str, log: Path | None = None) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


# -- PostgreSQL ----------------------------------------------------------------------------


def pg_bindir() -> Path | None:
    """The newest Debian PostgreSQL server bin folder, or wherever ``initdb`` is on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresServer:
    """A running private server; :meth:`url` builds connection URLs for its databases."""

    root: Path
    port: int
    password: str
    bindir: Path
    as_user: list[str]
    created: list[str] = field(default_factory=list)
    opts: str = ""  #: the server options it was started with (for :meth:`resume`)

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, db: str = "postgres", user: str = SUPERUSER, password: str | None = "") -> str:
        """``postgresql://user:password@127.0.0.1:port/db`` (the superuser's password by
        default; ``None`` leaves the password out, for PG* / ~/.pgpass tests)."""
        pw = self.password if password == "" and user == SUPERUSER else password
        auth = f"{user}:{pw}" if pw else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over the unix socket (trust), independent of psycopg."""
        out = subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                db,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout

    def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        self.psql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return name

    def pause(self) -> None:
        """Stop the server, keeping its data (clients lose their connections)."""
        self._ctl("-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the paused server again on the same port and data."""
        self._ctl("-o", self.opts, "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def _ctl(self, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {done.stderr.strip()}")

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start in a temp folder; raises RuntimeError with the server log."""
    bindir = pg_bindir()
    if bindir is None:
        unavailable(
            "PostgreSQL server binaries not installed (Debian: postgresql; run .ci/services.sh)"
        )
    assert bindir is not None
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SUPERUSER)
        except KeyError:
            unavailable("running as root and no 'postgres' system user to run the server as")
        as_user = ["runuser", "-u", SUPERUSER, "--"]
    root = Path(tempfile.mkdtemp(prefix="iscc-pg-"))
    (root / "run").mkdir()
    password = secrets.token_hex(8)
    (root / "pw").write_text(password + "\n")
    if owner is not None:
        os.chmod(root, 0o755)
        for p in (root, root / "run", root / "pw"):
            os.chown(p, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = root / "server.log"
    init = subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(root / "data"),
            "-U",
            SUPERUSER,
            "--pwfile",
            str(root / "pw"),
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode:
        raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
    opts = (
        f"-k {root / 'run'} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    started = subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(root / "data"),
            "-o",
            opts,
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "start",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{tail}")
    return PostgresServer(root, port, password, bindir, as_user, opts=opts)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL server for the whole session."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> str:
    """A URL to a new, empty database on the private server (superuser, password in the URL)."""
    return postgres_server.url(postgres_server.new_database())


# -- SLURM ---------------------------------------------------------------------------------


@dataclass
class SlurmCluster:
    """A running single-node cluster; ``env`` makes sbatch/squeue/snakemake talk to it."""

    root: Path
    env: dict[str, str]
    partition: str = "debug"
    system_conf: Path | None = None

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, check=check)

    def stop(self) -> None:
        conf = self.system_conf
        if conf is not None and conf.exists() and str(self.root) in conf.read_text("utf-8"):
            conf.unlink()
        for name in ("slurmd", "slurmctld", "munged"):
            pidfile = self.root / f"{name}.pid"
            if pidfile.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text().split()[0]), 15)
        time.sleep(0.5)
        shutil.rmtree(self.root, ignore_errors=True)


MARK = "# iscc-lineage test cluster (tests/services.py); removed when the tests end"
SLURM_CONF = """\
ClusterName=iscc
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
PlugStackConfig={root}/plugstack.conf
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def start_slurm() -> SlurmCluster:
    """munged + slurmctld + slurmd on localhost in a temp folder; sbatch verified."""
    need = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
    missing = [b for b in need if shutil.which(b) is None]
    if missing:
        unavailable(
            f"SLURM/munge binaries not installed ({', '.join(missing)}; Debian: "
            "slurm-wlm munge; run .ci/services.sh)"
        )
    if os.geteuid() != 0:
        unavailable("a private SLURM node needs root (slurmd launches the jobs)")
    root = Path(tempfile.mkdtemp(prefix="iscc-slurm-"))
    os.chmod(root, 0o755)
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    (root / "plugstack.conf").write_text("")
    key = root / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    mem = max(512, int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20) // 2)
    conf = root / "slurm.conf"
    conf.write_text(
        SLURM_CONF.format(
            root=root, ctld_port=free_port(), d_port=free_port(), cpus=os.cpu_count() or 1, mem=mem
        )
    )
    env = {**os.environ, "SLURM_CONF": str(conf)}
    cluster = SlurmCluster(root, env)
    # The jobstep executor strips SLURM_* (SLURM_CONF too) before its nested srun, which then
    # reads the compiled-in /etc/slurm/slurm.conf: point that at ours while the cluster runs.
    system = Path("/etc/slurm/slurm.conf")
    if system.exists() and MARK not in system.read_text(errors="replace"):
        shutil.rmtree(root, ignore_errors=True)
        unavailable(f"{system} belongs to a real SLURM set-up; not starting a private one")
    system.parent.mkdir(parents=True, exist_ok=True)
    system.write_text(f"{MARK}\nInclude {conf}\n")
    cluster.system_conf = system
    try:
        subprocess.run(
            [
                "munged",
                "--force",
                "--socket",
                str(root / "munge.socket"),
                "--key-file",
                str(key),
                "--pid-file",
                str(root / "munged.pid"),
                "--log-file",
                str(root / "munged.log"),
                "--seed-file",
                str(root / "munged.seed"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        subprocess.run(
            ["slurmctld", "-f", str(conf)], env=env, check=True, capture_output=True, text=True
        )
        subprocess.run(
            ["slurmd", "-f", str(conf), "-N", "localhost"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )

        def idle() -> bool:
            out = cluster.run("sinfo", "-h", "-o", "%t", check=False).stdout.strip()
            return out.startswith("idle")

        _wait(idle, 30, "the SLURM node", root / "slurmd.log")
        out = root / "probe.out"
        job = cluster.run("sbatch", "--parsable", "-o", str(out), "--wrap", "echo slurm-ok")
        jobid = job.stdout.strip().split(";")[0]
        _wait(
            lambda: out.exists() and "slurm-ok" in out.read_text(),
            30,
            f"probe job {jobid}",
            root / "slurmctld.log",
        )
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        cluster.stop()
        raise RuntimeError(f"private SLURM did not start: {detail}") from None
    return cluster


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """One private single-node SLURM cluster for the whole session."""
    cluster = start_slurm()
    try:
        yield cluster
    finally:
        cluster.stop()

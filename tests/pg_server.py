"""A throwaway PostgreSQL server for tests and benchmarks.

``PgServer().start()`` runs ``initdb`` into a temporary folder, starts ``postgres`` on a free port
of 127.0.0.1 (unix socket in the same folder, never the system one) and returns once it accepts
connections; ``stop()`` shuts it down and removes the folder. A watchdog process stops the server
when the owning process dies or ``max_lifetime`` seconds have passed, whichever comes first, so a
killed test run never leaves a server behind.

``initdb`` refuses to run as root: as root the server runs as the ``postgres`` OS user (or
``nobody``) through ``runuser``/``su``; as any other user it runs as that user.

Also a pytest plugin (``pytest_plugins = ["pg_server"]``): the session fixture ``pg_server``
yields one started server (skipping with the reason when PostgreSQL is unavailable), and
``pg_dsn`` gives each test a DSN onto a fresh schema of its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

DEFAULT_SETTINGS = {
    "fsync": "off",  # a throwaway server: durability is not under test, speed is welcome
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "log_min_messages": "warning",
}

_WATCHDOG = r"""
import os, shutil, subprocess, sys, time
parent, deadline, stop_cmd, folder = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:-1], sys.argv[-1]
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while time.time() < deadline and alive(parent) and os.path.isdir(folder):
    time.sleep(0.5)
if os.path.isdir(folder):
    subprocess.run(stop_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    shutil.rmtree(folder, ignore_errors=True)
"""


class PgUnavailable(RuntimeError):
    """PostgreSQL server binaries are missing or cannot run here (the reason says which)."""


def find_bin(name: str) -> str | None:
    """``name`` from PATH, else from the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, *, max_lifetime: float = 900.0, settings: dict[str, str] | None = None,
                 superuser: str = "postgres") -> None:
        self.max_lifetime = max_lifetime
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.superuser = superuser
        self.port: int | None = None
        self.folder: Path | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._run_as: str | None = None

    # -- running commands as a user initdb accepts ---------------------------------------

    def _os_user(self) -> str | None:
        """None when we can run the binaries ourselves; else the unprivileged user to run them as."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        raise PgUnavailable("running as root and neither a 'postgres' nor a 'nobody' OS user exists for initdb")

    def _cmd(self, argv: list[str]) -> list[str]:
        if self._run_as is None:
            return argv
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        if os.path.exists(runuser):
            return [runuser, "-u", self._run_as, "--", *argv]
        return ["su", "-s", "/bin/sh", self._run_as, "-c", " ".join(map(_sh_quote, argv))]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> "PgServer":
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise PgUnavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                                "install postgresql-15 (.ci/run does) to run the PostgreSQL tests")
        self._run_as = self._os_user()
        self.folder = Path(tempfile.mkdtemp(prefix="memoryos-pg-"))
        try:
            if self._run_as:
                info = pwd.getpwnam(self._run_as)
                os.chown(self.folder, info.pw_uid, info.pw_gid)
                if not _traversable_by(self.folder, self._run_as):
                    raise PgUnavailable(f"{self.folder} is not reachable by OS user {self._run_as!r}; set TMPDIR to a"
                                        " world-traversable folder such as /tmp")
            data = self.folder / "data"
            proc = subprocess.run(
                self._cmd([initdb, "-D", str(data), "-U", self.superuser, "-A", "trust", "-E", "UTF8", "--no-locale",
                           "--no-sync"]), capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise PgUnavailable(f"initdb failed: {proc.stderr.strip() or proc.stdout.strip()}")
            self._start_watchdog(pg_ctl, data)
            last_error = ""
            for _ in range(5):  # the free port can be taken between probing and binding: try another
                self.port = free_port()
                options = " ".join(
                    [f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"]
                    + [f"-c {k}={v}" for k, v in self.settings.items()])
                proc = subprocess.run(
                    self._cmd([pg_ctl, "-D", str(data), "-l", str(self.folder / "server.log"), "-o", options,
                               "-w", "-t", "60", "start"]), capture_output=True, text=True, timeout=120)
                if proc.returncode == 0:
                    return self
                last_error = proc.stderr.strip() + "\n" + self.log_tail()
            raise PgUnavailable(f"postgres did not start: {last_error}")
        except BaseException:
            self.stop()
            raise

    def _start_watchdog(self, pg_ctl: str, data: Path) -> None:
        assert self.folder is not None
        stop_cmd = self._cmd([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"])
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(time.time() + self.max_lifetime), *stop_cmd,
             str(self.folder)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)

    def log_tail(self, lines: int = 30) -> str:
        log = (self.folder / "server.log") if self.folder else None
        if not log or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        folder, self.folder = self.folder, None
        if folder is None:
            return
        pg_ctl = find_bin("pg_ctl")
        if pg_ctl and (folder / "data" / "postmaster.pid").exists():
            subprocess.run(self._cmd([pg_ctl, "-D", str(folder / "data"), "-m", "fast", "-w", "-t", "30", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        if self._watchdog is not None:
            try:
                self._watchdog.wait(5)  # it sees the folder gone and exits
            except subprocess.TimeoutExpired:
                self._watchdog.kill()
                self._watchdog.wait()
            self._watchdog = None

    def __enter__(self) -> "PgServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- connecting ------------------------------------------------------------------------

    def dsn(self, dbname: str = "postgres", *, search_path: str | None = None) -> str:
        url = f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{dbname}"
        if search_path:
            url += "?options=" + quote(f"-csearch_path={search_path}", safe="")
        return url

    def execute(self, sql: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as conn:
            conn.execute(sql)

    def fresh_schema(self, dbname: str = "postgres") -> tuple[str, str]:
        """A new empty schema; returns (schema name, DSN whose search_path is that schema)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.execute(f"CREATE SCHEMA {name}", dbname)
        return name, self.dsn(dbname, search_path=name)


def _sh_quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _traversable_by(folder: Path, user: str) -> bool:
    """Every ancestor of ``folder`` lets ``user`` in (checked as the user itself)."""
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(folder)] if shutil.which("runuser")
                           else ["su", "-s", "/bin/sh", user, "-c", f"test -x {_sh_quote(str(folder))}"],
                           capture_output=True)
    return probe.returncode == 0


# -- pytest plugin -----------------------------------------------------------------------

try:
    import pytest
except ImportError:  # used by the benchmark without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def pg_server() -> Iterator[PgServer]:
        """One throwaway PostgreSQL server for the whole session (skips when unavailable)."""
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            pytest.skip(f"psycopg / psycopg-pool not installed ({exc}); pip install 'memoryos-kit[postgres]'")
        server = PgServer(max_lifetime=float(os.environ.get("MEMORYOS_PG_TEST_LIFETIME", "1200")))
        try:
            server.start()
        except PgUnavailable as exc:
            pytest.skip(f"PostgreSQL unavailable: {exc}")
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def pg_dsn(pg_server: PgServer) -> Iterator[str]:
        """A DSN onto a fresh, empty schema, dropped after the test."""
        name, dsn = pg_server.fresh_schema()
        yield dsn
        try:
            pg_server.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        except Exception:  # noqa: BLE001 - a test left connections busy: the server goes away anyway
            pass

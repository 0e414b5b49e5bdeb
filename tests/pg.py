"""A PostgreSQL server for the store tests: the one CI names, or a throwaway one.

1. `BRAIN_TUTOR_TEST_DATABASE_URL` set (`.ci/run` exports it after starting Debian's cluster):
   that server is used.
2. Else, when Debian's PostgreSQL binaries are installed (`apt-get install postgresql`:
   `/usr/lib/postgresql/*/bin/initdb` and `pg_ctl`): a cluster in a temporary folder, listening on
   127.0.0.1 on a free port (its socket in the same folder), stopped and removed at the end.
   As root, initdb and pg_ctl run as the `postgres` user (else `nobody`), which PostgreSQL needs.
3. Else the PostgreSQL tests are skipped, saying why.

Each test gets its own schema (`schema_url`), dropped afterwards, so tests never see each other's
tables and the server can be shared.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local import free_port

TEST_URL_VARIABLE = "BRAIN_TUTOR_TEST_DATABASE_URL"


class Unavailable(RuntimeError):
    """No PostgreSQL server for the tests, and why."""


def find_binaries() -> Path | None:
    """The newest Debian PostgreSQL bin folder with initdb and pg_ctl, or one on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.name)],
        reverse=True,
    )
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _server_user() -> str | None:
    """Who runs the server: us, unless we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise Unavailable("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL")


@contextlib.contextmanager
def throwaway_server(attempts: int = 3) -> Iterator[str]:
    """Start a private PostgreSQL cluster on 127.0.0.1; yield its URL; stop and remove it."""
    binaries = find_binaries()
    if binaries is None:
        raise Unavailable(
            "PostgreSQL is not installed (apt-get install postgresql) and "
            f"{TEST_URL_VARIABLE} is not set"
        )
    user = _server_user()
    prefix = ["runuser", "-u", user, "--"] if user else []
    # Directly in the temporary folder (not pytest's 0700 one), so the server user can reach it.
    root = Path(tempfile.mkdtemp(prefix="brain-tutor-pg-"))
    data = root / "data"
    try:
        if user:
            info = pwd.getpwnam(user)
            os.chown(root, info.pw_uid, info.pw_gid)
        initdb = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "tutor",
                  "-E", "UTF8", "--no-sync", "--locale=C"]
        done = subprocess.run(prefix + initdb, capture_output=True, text=True, timeout=120,
                              cwd=root)
        if done.returncode != 0:
            raise Unavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-500:]}")
        for _ in range(attempts):
            port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
                       "-c fsync=off -c full_page_writes=off -c max_connections=50")
            start = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
                     "-w", "-t", "60", "-o", options, "start"]
            done = subprocess.run(prefix + start, capture_output=True, text=True, timeout=90,
                                  cwd=root)
            if done.returncode == 0:
                break
        else:
            log_text = (root / "server.log").read_text(errors="replace")[-800:] \
                if (root / "server.log").exists() else ""
            raise Unavailable(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log_text}")
        try:
            yield f"postgresql://tutor@127.0.0.1:{port}/postgres"
        finally:
            stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(prefix + stop, capture_output=True, timeout=60, cwd=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    """The configured server's URL, or a throwaway server's; Unavailable if neither."""
    configured = os.environ.get(TEST_URL_VARIABLE, "").strip()
    if configured:
        yield configured
        return
    with throwaway_server() as url:
        yield url


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A connection string whose `search_path` is a new, empty schema; dropped afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"brain_tutor_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(url, options=f"-c search_path={name}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for this test run (see the module docstring), or a skip."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    try:
        with server_url() as url:
            yield url
    except Unavailable as reason:
        pytest.skip(f"no PostgreSQL for the store tests: {reason}")


@pytest.fixture
def schema_url(postgres_url: str) -> Iterator[str]:
    """A connection string for a schema of this test's own."""
    with fresh_schema(postgres_url) as url:
        yield url

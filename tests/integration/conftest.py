"""Servers for the integration suite: a real PostgreSQL, an S3 server and a Dask LocalCluster.

PostgreSQL: with DATATAILR_TEST_POSTGRES_URL set (a CI service), that server is used;
otherwise ``initdb`` + ``pg_ctl`` from the Debian packages start a throwaway server for the
session, listening on a free port of 127.0.0.1 only, its data in a temporary folder. Postgres
refuses to run as root, so as root the server runs as ``nobody`` (through ``runuser``).
Each test gets a fresh schema. S3: moto's server (``moto_server`` from PyPI) as a separate
process on a free port of 127.0.0.1, with one bucket; its endpoint and (dummy) credentials go
into this process's environment for the session, before the Dask workers start, so workers
reach it as they would reach a real bucket with ``AWS_*`` variables. Dask: one LocalCluster
with two process workers for the session. ``configure`` points a test's home at one of the
configurations.
"""

from __future__ import annotations

import contextlib
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

import pytest

CONFIGURATIONS = ("local", "dask", "postgres", "all", "s3", "s3-dask")
PG_USER = "nobody"


def config_param(name: str):
    marks = {"local": [], "dask": [pytest.mark.dask], "postgres": [pytest.mark.postgres],
             "all": [pytest.mark.dask, pytest.mark.postgres], "s3": [pytest.mark.s3],
             "s3-dask": [pytest.mark.s3, pytest.mark.dask]}[name]
    return pytest.param(name, marks=marks, id=name)


def _pg_bindir() -> Path | None:
    given = os.environ.get("DATATAILR_TEST_PG_BINDIR")
    candidates = [Path(given)] if given else []

    def version(path: str) -> tuple:
        part = Path(path).parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit())

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version,
                                           reverse=True)]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="datatailr-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            entry = pwd.getpwnam(PG_USER)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              cwd=self.folder)

    def start(self) -> None:
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                         "-E", "UTF8", "--no-sync", "--locale=C")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories='' -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=200")
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                         "-o", options, "start")
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="session")
def postgres_admin_url():
    """The URL of a PostgreSQL database with the right to create databases."""
    given = os.environ.get("DATATAILR_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found in "
                    "/usr/lib/postgresql/*/bin or on PATH: apt-get install postgresql, or set "
                    "DATATAILR_TEST_POSTGRES_URL to a server's URL")
    server = _PgServer(bindir)
    try:
        server.start()
        yield server.admin_url
    finally:
        server.stop()


def _admin_execute(admin_url: str, statement: str) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    admin = make_url(admin_url)
    conn = psycopg2.connect(host=admin.host, port=admin.port, user=admin.username,
                            password=admin.password, dbname=admin.database)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def postgres_tests_db(postgres_admin_url):
    """One database for the session's tests; each test gets a schema of its own in it."""
    from sqlalchemy.engine import make_url

    name = f"datatailr_tests_{uuid.uuid4().hex[:8]}"
    _admin_execute(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE template0')
    return make_url(postgres_admin_url).set(database=name)


@pytest.fixture
def postgres_url(postgres_tests_db, postgres_admin_url):
    """A fresh, empty PostgreSQL schema as a DATATAILR_DB_URL (a CREATE DATABASE costs half a
    second of disk copying; a schema is free and isolates as well, sequences included)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = postgres_tests_db
    _admin_execute(db.render_as_string(hide_password=False), f'CREATE SCHEMA "{schema}"')
    return db.set(query={"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


@pytest.fixture
def postgres_database(postgres_admin_url):
    """A fresh database, as a plain ``postgresql://user@host:port/name`` URL."""
    from sqlalchemy.engine import make_url

    name = f"dt_{uuid.uuid4().hex[:12]}"
    _admin_execute(postgres_admin_url, f'CREATE DATABASE "{name}" TEMPLATE template0')
    return make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)


class _S3Server:
    """moto's S3 server in its own process on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.folder = Path(tempfile.mkdtemp(prefix="datatailr-s3-"))
        self.log = self.folder / "server.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        server = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        if not os.path.exists(server):
            pytest.skip("moto's S3 server is not installed: pip install 'moto[server]'")
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited:\n{self.log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"moto_server did not listen in 30 s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


#: what a machine with access to the bucket has in its environment (here: the test server)
S3_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_DEFAULT_REGION": "us-east-1"}
S3_BUCKET = "datatailr-tests"


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server for the session, with the bucket ``S3_BUCKET``; its
    endpoint and credentials are set in ``os.environ`` (and so reach every process started
    after it: Dask workers, agents, runners). Yields the endpoint URL."""
    pytest.importorskip("s3fs")
    server = _S3Server()
    server.start()
    environment = {**S3_ENVIRONMENT, "AWS_ENDPOINT_URL": server.endpoint}
    saved = {k: os.environ.get(k) for k in environment}
    os.environ.update(environment)
    try:
        import boto3

        boto3.client("s3", endpoint_url=server.endpoint).create_bucket(Bucket=S3_BUCKET)
        yield server.endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def s3_url(s3_server):
    """A fresh prefix of the session's bucket, as a DATATAILR_STORAGE_URL."""
    return f"s3://{S3_BUCKET}/t-{uuid.uuid4().hex[:12]}"


def _session_s3(request) -> None:
    """Start the S3 server before the Dask workers when this session's tests use it, so the
    workers' environment reaches it (as every machine's would reach a real bucket)."""
    if any(item.get_closest_marker("s3") for item in request.session.items):
        request.getfixturevalue("s3_server")


@pytest.fixture(scope="session")
def dask_cluster(request):
    """A LocalCluster of two worker processes (one thread each), for the whole session."""
    import logging

    _session_s3(request)

    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                       scheduler_kwargs={"dashboard": False},
                                       silence_logs=logging.ERROR)
    try:
        yield cluster
    finally:
        from datatailr.engine import dask_executor

        for client in list(dask_executor._CLIENTS.values()):
            with contextlib.suppress(Exception):
                client.close()
        dask_executor._CLIENTS.clear()
        cluster.close()


@pytest.fixture
def configure(monkeypatch, request, tmp_path):
    """``configure(name)`` points DATATAILR_* at one configuration; returns the settings."""

    def apply(name: str) -> dict:
        settings = {}
        if name in ("dask", "all", "s3-dask"):
            cluster = request.getfixturevalue("dask_cluster")
            host_port = cluster.scheduler_address.split("://", 1)[1]
            settings["DATATAILR_EXECUTOR"] = f"dask://{host_port}"
            # Through fsspec (not the plain-folder fast path), as an object store would be.
            settings["DATATAILR_STORAGE_URL"] = f"local://{tmp_path / 'shared-storage'}"
        if name in ("s3", "s3-dask"):
            settings["DATATAILR_STORAGE_URL"] = request.getfixturevalue("s3_url")
        if name in ("postgres", "all"):
            settings["DATATAILR_DB_URL"] = request.getfixturevalue("postgres_url")
        for key, value in settings.items():
            monkeypatch.setenv(key, value)
        return settings

    return apply

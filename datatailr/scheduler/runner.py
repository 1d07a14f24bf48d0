"""``python -m datatailr.scheduler.runner RUN_ID``: execute one queued run of a stored version.

The agent starts it (with the clean environment of ``run_environment``); a local rerun of a
stored version starts it too (``run_here``, with the caller's environment). Before any task:
the version's ``python_requirements`` - met by this interpreter, or the runner re-executes
itself in the isolated environment built for them (a local run only checks them) - then its
frozen code, source bundle first on ``sys.path``. If either fails, the run fails with that
reason (the installer's error, the import error) instead of staying queued. Progress lines go
to this process's output, which the agent points at ``agent/runs/RUN_ID.log``. The agent keeps
one runner warm (``serve_warm``: imported, store open, waiting for a run id), so a queued run
starts without paying for an interpreter's start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback

#: Set for a runner that runs a local run (check requirements, never build environments).
LOCAL_FLAG = "DATATAILR_RUNNER_LOCAL"
#: Set by a runner that re-executed itself in an isolated environment (the set's key).
IN_ENV_FLAG = "DATATAILR_RUNNER_ENV"

#: Variables of the agent's environment a deployed run keeps: what the system needs to work
#: (search path, home, user, locale, time zone, temp folder) and how Python finds datatailr.
BASE_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ",
                  "TMPDIR", "TERM", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR")
#: The platform's own settings (DATATAILR_*), except a run context left over in the agent's.
CONTEXT_VARIABLES = ("DATATAILR_JOB_NAME", "DATATAILR_JOB_ENVIRONMENT", "DATATAILR_JOB_VERSION",
                     "DATATAILR_BATCH_RUN_ID", "DATATAILR_JOB_TYPE", "DATATAILR_USER")


#: the credentials each kind of store reads from the environment (by URL scheme): a
#: deployed run keeps the agent's for the storage and database it uses, and only those
STORE_CREDENTIALS = {
    "s3": ("AWS_",), "s3a": ("AWS_",),
    "gs": ("GOOGLE_", "GCS_", "CLOUDSDK_"), "gcs": ("GOOGLE_", "GCS_", "CLOUDSDK_"),
    "abfs": ("AZURE_",), "abfss": ("AZURE_",), "az": ("AZURE_",),
    "postgresql": ("PG",), "postgres": ("PG",),
}


def _credential_prefixes(*urls: str | None) -> tuple[str, ...]:
    prefixes: list[str] = []
    for url in urls:
        scheme = (url or "").split("://", 1)[0].split("+", 1)[0].lower() if "://" in (
            url or "") else ""
        prefixes.extend(STORE_CREDENTIALS.get(scheme, ()))
    return tuple(prefixes)


def run_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The clean base a deployed run starts from: BASE_VARIABLES, LC_*, the platform's
    DATATAILR_* settings of ``environ`` (default: this process's), and the credentials its
    storage and database need (AWS_* for an s3:// storage, PG* for PostgreSQL ...: see
    STORE_CREDENTIALS). Never anything else of the shell that started the agent."""
    own = environ is None
    environ = dict(os.environ if environ is None else environ)
    if own:
        from datatailr.config import load_config

        config = load_config()
        urls: tuple[str | None, ...] = (config.storage_url, config.db_url)
    else:
        urls = (environ.get("DATATAILR_STORAGE_URL"), environ.get("DATATAILR_DB_URL"))
    credentials = _credential_prefixes(*urls)
    out = {}
    for key, value in environ.items():
        if key in BASE_VARIABLES or key.startswith("LC_") or (
                key.startswith("DATATAILR_") and key not in CONTEXT_VARIABLES
                and not key.startswith("DATATAILR_BATCH_ARG_")
                and key not in (LOCAL_FLAG, IN_ENV_FLAG)) or (
                credentials and key.startswith(credentials)):
            out[key] = value
    return out


def _fail(meta: object, run_id: int, error: str) -> int:
    print(f"Error: {error}", file=sys.stderr, flush=True)
    meta.mark_abandoned(run_id, "failed", error)  # type: ignore[attr-defined]
    return 1


def _prepare_environment(meta: object, run_id: int, version: dict, name: str) -> int | None:
    """None to go on here; an exit code when the run failed (or never returns: exec)."""
    from datatailr.errors import RequirementsError
    from datatailr.image import environment as env_mod
    from datatailr.scheduler.execution import version_requirements

    requirements = version_requirements(version)
    if not requirements:
        return None
    if os.environ.get(LOCAL_FLAG) == "1" or os.environ.get(IN_ENV_FLAG):
        try:
            env_mod.check_here(requirements, name)
        except RequirementsError as exc:
            return _fail(meta, run_id, str(exc))
        return None
    try:
        python = env_mod.ensure(requirements, log=lambda line: print(line, flush=True))
    except RequirementsError as exc:
        return _fail(meta, run_id, f"The run's environment could not be built. {exc}")
    if python == sys.executable:
        return None
    print(f"Running in the environment for {requirements}: {python}", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(python, [python, "-m", "datatailr.scheduler.runner", str(run_id)],
              {**env_mod.activation(python, dict(os.environ)),
               IN_ENV_FLAG: env_mod.requirements_key(requirements)})
    return None  # not reached


def run(run_id: int) -> int:
    from datatailr.scheduler.execution import execute, load_dag
    from datatailr.scheduler.platform import current_platform
    from datatailr.scheduler.progress import PlainProgress

    platform = current_platform()
    meta = platform.metadata
    row = meta.get_run(run_id)
    if row is None:
        print(f"Error: no run {run_id}", file=sys.stderr)
        return 1
    workflow = meta.workflow_by_id(row["workflow_id"])
    version = meta.get_version(row["workflow_id"], row["job_version"])
    assert workflow is not None
    if version is None:
        return _fail(meta, run_id, f"Cannot load the code of version {row['job_version']}: "
                                   f"version {row['job_version']} of {workflow['name']!r} is gone")
    failed = _prepare_environment(meta, run_id, version, workflow["name"])
    if failed is not None:
        return failed
    # This process is a batch run: a module of the version that deploys at import time
    # (imported now, to load the task functions) must not deploy again.
    os.environ["DATATAILR_JOB_TYPE"] = "batch"
    try:
        dag = load_dag(platform, version)
    except Exception as exc:
        traceback.print_exc()
        return _fail(meta, run_id, f"Cannot load the code of version {row['job_version']}: "
                                   f"{type(exc).__name__}: {exc}")
    state = execute(platform, run_id, dag, workflow_name=workflow["name"],
                    listeners=[PlainProgress(dag, workflow["name"])])
    return 0 if state == "completed" else 3


def run_here(run_id: int, progress: bool = True) -> int:
    """Run a recorded run in a runner process started from here, with this process's
    environment, relaying its progress lines; returns the runner's exit code. Used for local
    runs of a stored version (its frozen files must not mix with the modules loaded here)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "datatailr.scheduler.runner", str(run_id)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, LOCAL_FLAG: "1"}, text=True, errors="replace")
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if progress:
                sys.stdout.write(line)
                sys.stdout.flush()
        return process.wait()
    except BaseException:  # Ctrl+C here stops the run there
        from datatailr.scheduler.platform import current_platform

        current_platform().metadata.request_stop(run_id)
        process.wait()
        raise


def serve_warm(log_dir: str) -> int:
    """A runner started ahead of its run (``--warm LOG_DIR``, by the agent, with the same
    clean environment a cold runner gets): it imports the platform and opens the store, then
    waits for one line on stdin - the run id - and runs that run with its output in
    ``LOG_DIR/RUN_ID.log``, exactly as a runner started for it would. End of input (the
    agent stopped) ends it without running anything."""
    import datatailr.engine.local  # noqa: F401 - imported ahead: the point of being warm
    import datatailr.scheduler.execution  # noqa: F401
    from datatailr.scheduler.platform import current_platform

    current_platform()  # the store opened and its schema checked ahead too
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    run_id = int(line)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(os.path.join(log_dir, f"{run_id}.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return run(run_id)


if __name__ == "__main__":
    if sys.argv[1] == "--warm":
        sys.exit(serve_warm(sys.argv[2]))
    sys.exit(run(int(sys.argv[1])))

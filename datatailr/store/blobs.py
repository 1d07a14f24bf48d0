"""Blob storage: task results, task logs and frozen workflow code, under one URL.

The default URL is a folder in DATATAILR_HOME, served by plain file calls (the fast path);
any other fsspec URL (``memory://``, ``s3://bucket/prefix``, ``gs://``, ``abfs://``,
``file:///shared``) goes through fsspec. Writes are atomic: an object store's PUT is (a whole
object or none), other backends write a temporary name, then rename; a reader sees a whole
result or none. Picklable (it holds only its URL), so workers in other processes and on other
machines get their own copy. Must not know about SQL.

A filesystem object is per process: async backends (s3fs, gcsfs, adlfs) hold an event loop,
a thread and open connections that a forked child does not have, and refuse to be used there
("This class is not fork-safe"). So the filesystem remembers the pid that made it, and a
forked worker that reaches it makes its own (fsspec drops its instance cache in a forked
child; its global loop lock is reset too).

Layout under the root, where ``<S>/`` is the metadata store's id (so a database recreated
beside old storage never writes into, or reads, an old run's files; stores made before ids
existed have none)::

    results/<S>/<run_id>/<task_id>.pkl      the task's return value (cloudpickle, protocol 5)
    logs/<S>/<run_id>/<task_id>.out|.err    exactly what the task wrote to stdout / stderr
    code/<S>/<environment>/<slug>/v<job_version>.pkl   the frozen DAG and task functions

A local folder is private to its user: folders 0700, files 0600, whatever the umask; nothing
is written through a symlink the store did not make.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from datatailr.errors import StorageError

_MISSING = object()
_SPOOL_PREFIX = "datatailr-logs-"
#: backends where one PUT makes the whole object visible at once (no rename needed, and a
#: rename would be a copy): written in place
_OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss",
                            "memory"})
_FORK_HOOK: list[bool] = []


def _reset_fsspec_after_fork() -> None:
    """In a forked child: fsspec's own hook resets its loop and thread but not the lock that
    guards making them, which another thread may have held at the fork."""
    with contextlib.suppress(Exception):
        import fsspec.asyn

        fsspec.asyn.reset_lock()


def _filesystem(url: str) -> tuple[Any, str]:
    import fsspec

    if not _FORK_HOOK and hasattr(os, "register_at_fork"):
        _FORK_HOOK.append(True)
        os.register_at_fork(after_in_child=_reset_fsspec_after_fork)
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise StorageError(
            f"DATATAILR_STORAGE_URL={url!r} needs a package that is not installed here: "
            f"{exc}. Install it on every machine that runs tasks (s3:// needs s3fs, gs:// "
            f"gcsfs, abfs:// adlfs)."
        ) from exc
    except Exception as exc:
        raise StorageError(
            f"Cannot reach result storage {url!r}: {type(exc).__name__}: {exc}. Check "
            f"DATATAILR_STORAGE_URL and that this machine can reach it."
        ) from exc


class UnpicklableResultError(Exception):
    """The task's return value cannot be pickled."""


class BlobStore:
    def __init__(self, url: str, namespace: str = "") -> None:
        self.url = url.rstrip("/") or "/"
        if self.url.startswith("file://"):
            self.url = self.url[len("file://"):]
        self.local = "://" not in self.url
        #: the metadata store's id: a path segment of every key (see the layout above)
        self.namespace = namespace
        self._ns = f"{namespace}/" if namespace else ""
        self._fs: Any = None
        self._fs_pid = 0
        self._root = ""
        self._object_store = False
        self._folders: set[str] = set()

    def __getstate__(self) -> dict:
        return {"url": self.url, "namespace": self.namespace}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"], state.get("namespace", ""))  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"BlobStore({self.url!r})"

    # -- keys -----------------------------------------------------------------------------
    def result_key(self, run_id: int, task_id: int) -> str:
        return f"results/{self._ns}{run_id}/{task_id}.pkl"

    def log_key(self, run_id: int, task_id: int, stream: str) -> str:
        return f"logs/{self._ns}{run_id}/{task_id}.{'err' if stream == 'stderr' else 'out'}"

    def attempts_key(self, run_id: int, task_id: int) -> str:
        """Where each attempt of a task begins in its two logs (see ``log_files``)."""
        return f"logs/{self._ns}{run_id}/{task_id}.attempts"

    def code_key(self, environment: str, slug: str, job_version: int) -> str:
        return f"code/{self._ns}{environment}/{slug}/v{job_version}.pkl"

    def run_keys(self, run_id: int) -> list[str]:
        """The folders of one run's results and logs."""
        return [f"results/{self._ns}{run_id}", f"logs/{self._ns}{run_id}"]

    # -- generic bytes --------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        """This process's filesystem for the URL (made again in a forked child)."""
        pid = os.getpid()
        if self._fs is None or self._fs_pid != pid:
            fs, root = _filesystem(self.url)
            protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
            self._object_store = bool(_OBJECT_STORES.intersection(protocols))
            self._fs, self._root, self._fs_pid = fs, root, pid
        return self._fs

    def path(self, key: str) -> str:
        if self.local:
            return os.path.join(self.url, key)
        self.fs  # noqa: B018 - sets _root
        return f"{self._root.rstrip('/')}/{key}"

    @contextlib.contextmanager
    def _atomic_writer(self, key: str) -> Iterator[io.BufferedWriter]:
        if self.local:
            final = self.path(key)
            folder = os.path.dirname(final)
            self._makedirs(folder)
            # A name no other writer uses (one process writes a key at a time), opened
            # exclusively: cheaper than mkstemp's random names, as safe.
            tmp = os.path.join(folder, f".{os.path.basename(final)}.{os.getpid()}.part")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)  # left by a process killed mid-write that had our pid
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                with os.fdopen(fd, "wb") as f:
                    yield f  # type: ignore[misc]
                os.replace(tmp, final)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            try:
                final = self.path(key)
                fs = self.fs
                if self._object_store:
                    # One PUT of the whole object: nothing is visible if writing fails.
                    buffer = io.BytesIO()
                    yield buffer  # type: ignore[misc]
                    fs.pipe_file(final, buffer.getvalue())
                    return
                tmp = f"{final}.part-{os.getpid()}"
                fs.makedirs(os.path.dirname(final), exist_ok=True)
                with fs.open(tmp, "wb") as f:
                    yield f
                try:
                    fs.mv(tmp, final)
                except Exception:  # backends without rename: write in place
                    fs.pipe_file(final, fs.cat_file(tmp))
                    fs.rm_file(tmp)
            except StorageError:
                raise
            except (OSError, ValueError) as exc:
                raise StorageError(f"Cannot write {key!r} to {self.url!r}: "
                                   f"{type(exc).__name__}: {exc}") from exc

    def _makedirs(self, folder: str) -> None:
        # A worker writes many results and logs into a few folders: ask the disk once each.
        if folder not in self._folders:
            make_private_dirs(folder, below=self.url)
            self._folders.add(folder)

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            with self._atomic_writer(key) as f:
                f.write(data)
        except StorageError:
            raise
        except OSError as exc:
            raise StorageError(_os_error(exc, f"write {key!r} to {self.url!r}")) from exc

    def get_bytes(self, key: str) -> bytes | None:
        try:
            if self.local:
                with open(self.path(key), "rb") as f:
                    return f.read()
            return self.fs.cat_file(self.path(key))
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        if self.local:
            return os.path.exists(self.path(key))
        return bool(self.fs.exists(self.path(key)))

    def delete(self, key: str) -> None:
        self._folders.clear()
        with contextlib.suppress(FileNotFoundError):
            if self.local:
                p = self.path(key)
                if os.path.isdir(p):
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    os.unlink(p)
            else:
                self.fs.rm(self.path(key), recursive=True)

    # -- results --------------------------------------------------------------------------
    def save_result(self, run_id: int, task_id: int, value: Any,
                    inline_max: int = 0) -> bytes | None:
        """Store ``value`` (cloudpickle, protocol 5). A local store keeps the large contiguous
        buffers of arrays and frames out of band (see :func:`_dump_result`), so that readers
        map them instead of copying; small values are a plain pickle file.

        With ``inline_max``, a value whose pickle is at most that many bytes is not written
        at all: its pickle is returned, for the caller to keep in the metadata store with the
        task's row (``store.results``), always a plain pickle (``pickle.loads``); None means
        it was written here."""
        import cloudpickle

        key = self.result_key(run_id, task_id)
        # below the out-of-band size: a pickle kept inline is always a plain one
        inline_max = min(inline_max, OUT_OF_BAND_MIN - 1)
        try:
            with contextlib.ExitStack() as stack:
                out = _Spill(inline_max, lambda: stack.enter_context(self._atomic_writer(key)))
                try:
                    if self.local:
                        _dump_result(cloudpickle, value, out)
                    else:
                        cloudpickle.dump(value, out, protocol=5)
                except OSError:
                    raise  # the disk, not the value (ENOSPC, EIO ...)
                except Exception as exc:
                    raise UnpicklableResultError(
                        f"the return value ({type(value).__module__}.{type(value).__qualname__})"
                        f" cannot be pickled: {type(exc).__name__}: {exc}. Return plain data "
                        f"(numbers, strings, lists, dicts, DataFrames, arrays) instead of open "
                        f"files, locks, connections or generators."
                    ) from exc
                return out.small()
        except StorageError:
            raise
        except OSError as exc:
            raise StorageError(_os_error(
                exc, f"store the result of task {task_id} of run {run_id} at "
                     f"{self.path(key)}")) from exc

    def load_result(self, run_id: int, task_id: int, default: Any = _MISSING) -> Any:
        """The stored value; ``default`` (or KeyError when none is given) if nothing is stored.
        A result that is there but cannot be read is a ``StorageError`` naming its path.

        Out-of-band buffers of a local result are mapped from its file copy-on-write: arrays
        and frames read back share the page cache with every other reader (no copy, no
        unpickling of their data), stay writable (a write copies that page for this process
        only) and stay valid after the file is replaced or removed."""
        key = self.result_key(run_id, task_id)
        try:
            if not self.local:
                # One GET of the whole object (pickle's many small reads would each be a
                # ranged request on an object store).
                data = self.fs.cat_file(self.path(key))
                try:
                    return result_from_bytes(data)
                except Exception as exc:
                    raise StorageError(
                        f"The stored result of task {task_id} of run {run_id} at "
                        f"{self.path(key)} cannot be read: {type(exc).__name__}: {exc}"
                    ) from exc
            f = open(self.path(key), "rb")
        except FileNotFoundError:
            if default is _MISSING:
                raise KeyError(key) from None
            return default
        with f:
            try:
                return _load_result(f)
            except Exception as exc:
                raise StorageError(
                    f"The stored result of task {task_id} of run {run_id} at {self.path(key)} "
                    f"cannot be read: {type(exc).__name__}: {exc}"
                ) from exc

    def has_result(self, run_id: int, task_id: int) -> bool:
        return self.exists(self.result_key(run_id, task_id))

    # -- logs -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def log_files(self, run_id: int, task_id: int,
                  attempt: int = 0) -> Iterator[tuple[str, str]]:
        """Local paths to append the task's stdout and stderr to; uploaded at the end when
        the storage is remote (live tailing is then only on the worker's machine). Every
        attempt appends to the same two logs; with ``attempt`` (1, 2 ...) where it begins in
        each is recorded the first time it writes, so ``read_log(attempt=N)`` reads that
        attempt's part alone."""
        if self.local:
            out = self.path(self.log_key(run_id, task_id, "stdout"))
            err = self.path(self.log_key(run_id, task_id, "stderr"))
            self._makedirs(os.path.dirname(out))
            if attempt:
                self._mark_attempt(run_id, task_id, attempt, _size(out), _size(err))
            yield out, err
            return
        # Named after the process, the task and the attempt, so that when the process is
        # killed mid-task its executor can still upload what it wrote (``salvage_logs``).
        spool = tempfile.mkdtemp(
            prefix=f"{_SPOOL_PREFIX}{os.getpid()}-{run_id}-{task_id}-a{attempt}-")
        try:
            yield os.path.join(spool, "out"), os.path.join(spool, "err")
        finally:
            self._upload_spool(spool, run_id, task_id, attempt)

    def _upload_spool(self, spool: str, run_id: int, task_id: int, attempt: int = 0) -> None:
        try:
            offsets = []
            for stream, name in (("stdout", "out"), ("stderr", "err")):
                p = os.path.join(spool, name)
                key = self.log_key(run_id, task_id, stream)
                earlier = self.get_bytes(key) if os.path.exists(p) or attempt else None
                offsets.append(len(earlier or b""))
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        data = f.read()
                    # A retry adds to the earlier attempts' log, as the appended files of a
                    # local folder do.
                    self.put_bytes(key, earlier + data if earlier else data)
            if attempt:
                self._mark_attempt(run_id, task_id, attempt, offsets[0], offsets[1])
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def _mark_attempt(self, run_id: int, task_id: int, attempt: int, out: int,
                      err: int) -> None:
        """Record that ``attempt`` begins at byte ``out``/``err`` of the two logs, unless it
        is recorded already (a second write of the same attempt, e.g. a crash reason). The
        first attempt begins where the logs do, so it is implied, never written: a task
        that is not retried keeps two files."""
        if attempt <= 1 or attempt in self.attempt_marks(run_id, task_id):
            return
        line = f"{attempt} {out} {err}\n".encode()
        key = self.attempts_key(run_id, task_id)
        if self.local:
            # One small O_APPEND write: whole, even with another writer appending too.
            fd = os.open(self.path(key), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        else:
            self.put_bytes(key, (self.get_bytes(key) or b"") + line)

    def attempt_marks(self, run_id: int, task_id: int) -> dict[int, tuple[int, int]]:
        """attempt -> (stdout offset, stderr offset) where it begins. The first attempt
        begins at (0, 0); a log written before attempts were recorded has that one mark
        only, so all of it reads as the first attempt's."""
        key = self.attempts_key(run_id, task_id)
        if self.local:
            try:
                with open(self.path(key), "rb") as f:
                    data: bytes | None = f.read()
            except FileNotFoundError:
                data = None
        else:
            data = self.get_bytes(key)
        marks: dict[int, tuple[int, int]] = {}
        for line in (data or b"").decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and all(p.isdigit() for p in parts):
                marks.setdefault(int(parts[0]), (int(parts[1]), int(parts[2])))
        marks.setdefault(1, (0, 0))
        return marks

    def salvage_logs(self, pid: int, run_id: int, task_id: int) -> None:
        """Upload the logs that process ``pid``, killed while running the task, had spooled
        (remote storage only; a local folder has them already)."""
        if self.local:
            return
        import glob
        import re

        pattern = os.path.join(tempfile.gettempdir(), f"{_SPOOL_PREFIX}{pid}-{run_id}-{task_id}-*")
        for spool in glob.glob(pattern):
            found = re.search(r"-a(\d+)-[^-/]*$", spool)
            self._upload_spool(spool, run_id, task_id, int(found.group(1)) if found else 0)

    def local_log_path(self, run_id: int, task_id: int, stream: str) -> str | None:
        return self.path(self.log_key(run_id, task_id, stream)) if self.local else None

    def read_log(self, run_id: int, task_id: int, stream: str = "stdout",
                 lines: int | None = 5000, attempt: int | None = None) -> str:
        """The last ``lines`` lines of a task's log (all of them with None); of one attempt
        only with ``attempt`` (an attempt that wrote nothing, or was never made, is "")."""
        key = self.log_key(run_id, task_id, stream)
        if attempt is not None:
            return _last_lines(self._attempt_part(run_id, task_id, stream, attempt), lines)
        if self.local:
            try:
                return _tail(self.path(key), lines)
            except FileNotFoundError:
                return ""
        data = self.get_bytes(key)
        if data is None:
            return ""
        text = data.decode("utf-8", errors="replace")
        return _last_lines(text, lines)

    def _attempt_part(self, run_id: int, task_id: int, stream: str, attempt: int) -> str:
        marks = self.attempt_marks(run_id, task_id)
        if attempt not in marks:
            return ""
        which = 0 if stream == "stdout" else 1
        begin = marks[attempt][which]
        later = [m[which] for a, m in marks.items() if a > attempt and m[which] >= begin]
        end = min(later) if later else None
        key = self.log_key(run_id, task_id, stream)
        if self.local:
            try:
                with open(self.path(key), "rb") as f:
                    f.seek(begin)
                    data = f.read() if end is None else f.read(end - begin)
            except FileNotFoundError:
                return ""
        else:
            data = (self.get_bytes(key) or b"")[begin:end]
        return data.decode("utf-8", errors="replace")

    def delete_run(self, run_id: int) -> None:
        for key in self.run_keys(run_id):
            self.delete(key)


# -- results with out-of-band buffers ---------------------------------------------------------
#
# A result file is a plain pickle, optionally followed by the pickle's out-of-band buffers
# (PEP 574) and a trailer that says where they are:
#
#     pickle | pad | buffer 0 | pad | buffer 1 ... | (offset, length) x n | pickle_len | n | MAGIC
#
# Buffers start at multiples of 64 bytes, so mapped arrays are aligned for any dtype. A plain
# pickle always ends with its STOP opcode (``.``), never with MAGIC, so a file is one or the
# other by its last 8 bytes; small values are written exactly as before.

#: A buffer this large (bytes) goes out of band; smaller ones stay inside the pickle.
OUT_OF_BAND_MIN = 64 * 1024
_MAGIC = b"DTOOB1\x00\n"
_ALIGN = 64


class _Spill:
    """Where a result is pickled to: memory while the pickle is at most ``limit`` bytes, the
    file ``open_file()`` gives from the first write past it (everything so far first). The
    pickler writes whole frames (64 KiB at most), so a large value is streamed to its file,
    never held twice in memory; with ``limit`` 0 every value goes to the file."""

    def __init__(self, limit: int, open_file: Any) -> None:
        self.limit = limit
        self.open_file = open_file
        self.memory: bytearray | None = bytearray()
        self.file: Any = None
        self.position = 0

    def write(self, data: Any) -> int:
        n = memoryview(data).nbytes
        if self.memory is not None:
            if self.position + n <= self.limit:
                self.memory += data
                self.position += n
                return n
            self.file = self.open_file()
            self.file.write(self.memory)
            self.memory = None
        self.file.write(data)
        self.position += n
        return n

    def tell(self) -> int:
        return self.position

    def small(self) -> bytes | None:
        """The whole pickle when it stayed in memory, else None (it is in the file)."""
        if self.memory is None:
            return None
        if not self.position:  # nothing was written: an empty file, as before
            self.file = self.open_file()
            return None
        return bytes(self.memory)


def _dump_result(cloudpickle: Any, value: Any, f: Any) -> None:
    """Pickle ``value`` into ``f``, its large contiguous buffers after the pickle."""
    import struct

    big: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            raw = buffer.raw()
        except BufferError:  # not contiguous: stays in band
            return True
        if raw.nbytes < OUT_OF_BAND_MIN:
            return True
        big.append(raw)
        return False

    if isinstance(value, (bytes, bytearray)) and len(value) >= OUT_OF_BAND_MIN:
        value = _BigBytes(value)
    cloudpickle.dump(value, f, protocol=5, buffer_callback=out_of_band)
    if not big:
        return
    pickle_len = f.tell()
    table = []
    position = pickle_len
    for raw in big:
        pad = -position % _ALIGN
        f.write(b"\0" * pad)
        position += pad
        f.write(raw)
        table.append((position, raw.nbytes))
        position += raw.nbytes
    f.write(b"".join(struct.pack("<QQ", o, n) for o, n in table))
    f.write(struct.pack("<QQ", pickle_len, len(table)) + _MAGIC)


def result_from_bytes(data: bytes) -> Any:
    """The value of a whole result's bytes: a pickle, with or without out-of-band buffers."""
    return _loads_result(memoryview(data)) if _has_trailer(data) else pickle.loads(data)


def _has_trailer(data: bytes | memoryview) -> bool:
    return len(data) >= 16 + len(_MAGIC) and bytes(data[-len(_MAGIC):]) == _MAGIC


def _loads_result(data: memoryview) -> Any:
    """The value of a result file's bytes (a mapping or a bytes object) that has a trailer."""
    import struct

    end = len(data) - len(_MAGIC)
    pickle_len, count = struct.unpack("<QQ", data[end - 16:end])
    table_at = end - 16 - 16 * count
    buffers = []
    for i in range(count):
        offset, length = struct.unpack("<QQ", data[table_at + 16 * i:table_at + 16 * i + 16])
        buffers.append(data[offset:offset + length])
    return pickle.loads(data[:pickle_len], buffers=buffers)


def _load_result(f: io.BufferedReader) -> Any:
    """A local result file's value: its out-of-band buffers mapped, else a plain load."""
    size = os.fstat(f.fileno()).st_size
    if size >= 16 + len(_MAGIC):
        f.seek(size - len(_MAGIC))
        if f.read(len(_MAGIC)) == _MAGIC:
            import mmap

            # copy-on-write: readers share the page cache; a write stays in this process
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
            return _loads_result(memoryview(mapped))
        f.seek(0)
    return pickle.load(f)


def _bytes_from(buffer: Any) -> bytes:
    return bytes(buffer)


def _bytearray_from(buffer: Any) -> bytearray:
    return bytearray(buffer)


class _BigBytes:
    """A large ``bytes``/``bytearray`` result, pickled with its data out of band (pickle keeps
    them in band). Read back as the same type, equal: one copy out of the mapping, as a
    ``bytes`` object owns its memory."""

    __slots__ = ("value",)

    def __init__(self, value: bytes | bytearray) -> None:
        self.value = value

    def __reduce_ex__(self, protocol: Any) -> tuple:
        rebuild = _bytes_from if isinstance(self.value, bytes) else _bytearray_from
        return rebuild, (pickle.PickleBuffer(self.value),)


def make_private_dirs(folder: str, below: str) -> None:
    """``os.makedirs`` where every folder made is 0700 (makedirs' mode reaches only the last
    one), refusing to go through a symlink below ``below`` that someone planted."""
    folder = os.path.abspath(folder)
    root = os.path.abspath(below)
    missing = []
    path = folder
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(p, 0o700)
    rel = os.path.relpath(folder, root)
    if not rel.startswith(".."):
        path = root
        for part in rel.split(os.sep):
            if part in ("", "."):
                continue
            path = os.path.join(path, part)
            if os.path.islink(path):
                raise StorageError(
                    f"{path} is a symbolic link the store did not make: refusing to write "
                    f"through it. Remove it (it is not datatailr's) and try again."
                )


def _os_error(exc: OSError, what: str) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        return f"Disk full: cannot {what} ({exc.strerror})."
    if exc.errno == errno.ELOOP:
        return f"Cannot {what}: it is a symbolic link the store did not make; remove it."
    return f"Cannot {what}: {exc}"


def _last_lines(text: str, lines: int | None) -> str:
    if lines is None or lines <= 0:
        return text if lines is None else ""
    parts = text.splitlines(keepends=True)
    return "".join(parts[-lines:])


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def _tail(path: str, lines: int | None) -> str:
    """The last ``lines`` lines of a file without reading all of a large one."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if lines is None or size <= 1 << 20:
            f.seek(0)
            return _last_lines(f.read().decode("utf-8", errors="replace"), lines)
        block = 1 << 16
        pos, chunks, newlines = size, [], 0
        while pos > 0 and newlines <= lines:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step)
            chunks.append(chunk)
            newlines += chunk.count(b"\n")
        data = b"".join(reversed(chunks)).decode("utf-8", errors="replace")
        return _last_lines(data, lines)

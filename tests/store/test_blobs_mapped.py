"""Results with out-of-band buffers: large arrays, frames and bytes are written after the
pickle and mapped by readers (copy-on-write); small values stay plain pickle files."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from datatailr.errors import StorageError
from datatailr.store.blobs import OUT_OF_BAND_MIN, BlobStore

WRITER = """
import sys
import numpy as np
import pandas as pd
from datatailr.store.blobs import BlobStore

store = BlobStore(sys.argv[1], "s1")
rng = np.random.default_rng(7)
store.save_result(1, 0, np.arange(3_000_000, dtype="float64").reshape(1000, 3000))
store.save_result(1, 1, pd.DataFrame({
    "x": np.arange(200_000, dtype="int64"),
    "y": rng.random(200_000),
    "when": pd.date_range("2026-01-01", periods=200_000, freq="s", tz="UTC"),
    "label": [f"r{i % 7}" for i in range(200_000)],
}, index=pd.RangeIndex(10, 200_010)))
store.save_result(1, 2, bytes(range(256)) * 1024)
store.save_result(1, 3, bytearray(b"ab") * 100_000)
store.save_result(1, 4, np.asfortranarray(rng.integers(0, 9, size=(400, 500), dtype="int16")))
store.save_result(1, 5, {"small": np.arange(10), "big": np.ones(100_000, dtype="uint8"),
                         "text": "t" * 10})
"""


def mapped(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is a mapping of a file (not a copy)."""
    base = array
    while base is not None:
        if isinstance(base, memoryview):
            return isinstance(base.obj, mmap.mmap)
        base = getattr(base, "base", None)
    return False


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("blobs")
    subprocess.run([sys.executable, "-c", WRITER, str(root)], check=True)  # the writer exits
    return BlobStore(str(root), "s1")


def test_arrays_read_back_exactly_and_mapped_after_the_writer_exited(written):
    value = written.load_result(1, 0)
    np.testing.assert_array_equal(value, np.arange(3_000_000, dtype="float64").reshape(1000, 3000))
    assert (value.dtype, value.shape, value.flags.c_contiguous) == (np.float64, (1000, 3000), True)
    assert mapped(value) and value.flags.aligned
    fortran = written.load_result(1, 4)
    expected = np.random.default_rng(7)
    expected.random(200_000)  # the frame's draw came first
    np.testing.assert_array_equal(fortran, expected.integers(0, 9, size=(400, 500), dtype="int16"))
    assert (fortran.dtype, fortran.flags.f_contiguous, mapped(fortran)) == (np.int16, True, True)


def test_a_frame_reads_back_exactly_its_numbers_mapped(written):
    frame = written.load_result(1, 1)
    rng = np.random.default_rng(7)
    expected = pd.DataFrame({
        "x": np.arange(200_000, dtype="int64"),
        "y": rng.random(200_000),
        "when": pd.date_range("2026-01-01", periods=200_000, freq="s", tz="UTC"),
        "label": [f"r{i % 7}" for i in range(200_000)],
    }, index=pd.RangeIndex(10, 200_010))
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert mapped(frame["y"].to_numpy()) and mapped(frame["x"].to_numpy())


def test_bytes_and_bytearrays_keep_their_type_and_value(written):
    data = written.load_result(1, 2)
    assert type(data) is bytes and data == bytes(range(256)) * 1024
    array = written.load_result(1, 3)
    assert type(array) is bytearray and array == bytearray(b"ab") * 100_000


def test_small_buffers_stay_inside_the_pickle_large_ones_go_out(written):
    value = written.load_result(1, 5)
    assert set(value) == {"small", "big", "text"} and value["text"] == "t" * 10
    np.testing.assert_array_equal(value["small"], np.arange(10))
    np.testing.assert_array_equal(value["big"], np.ones(100_000, dtype="uint8"))
    assert (mapped(value["small"]), mapped(value["big"])) == (False, True)


@pytest.mark.parametrize("value", [
    {"a": [1, 2], "b": "text"}, 42, None, np.arange(100), b"x" * (OUT_OF_BAND_MIN - 1),
    pd.DataFrame({"a": [1, 2, 3]}),
])
def test_small_values_are_the_same_plain_pickle_as_before(tmp_path, value):
    store = BlobStore(str(tmp_path))
    store.save_result(2, 0, value)
    with open(store.path(store.result_key(2, 0)), "rb") as f:
        assert f.read() == cloudpickle.dumps(value, protocol=5)


def test_a_reader_writes_its_own_copy_and_the_mapping_outlives_the_file(tmp_path):
    store = BlobStore(str(tmp_path))
    store.save_result(3, 0, np.zeros(50_000))
    first, second = store.load_result(3, 0), store.load_result(3, 0)
    first[:10] = 7.0  # copy-on-write: neither the file nor another reader sees it
    assert (second[:10].tolist(), store.load_result(3, 0)[:10].tolist()) == ([0.0] * 10,) * 2
    store.save_result(3, 0, np.ones(50_000))  # replaced (a rename), then removed
    store.delete_run(3)
    assert (float(second.sum()), float(first[:10].sum())) == (0.0, 70.0)
    assert store.has_result(3, 0) is False


def test_a_cut_file_is_a_storage_error_naming_its_path(tmp_path):
    store = BlobStore(str(tmp_path))
    store.save_result(4, 0, np.ones(100_000))
    path = store.path(store.result_key(4, 0))
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:  # the trailer stays, a buffer goes
        f.write(data[:1000] + data[-40:])
    with pytest.raises(StorageError, match=f"task 0 of run 4 at {path} cannot be read"):
        store.load_result(4, 0)
    os.unlink(path)
    with pytest.raises(KeyError):
        store.load_result(4, 0)


def test_remote_storage_reads_an_out_of_band_file_too(tmp_path):
    local = BlobStore(str(tmp_path))
    local.save_result(5, 0, np.arange(100_000))
    remote = BlobStore(f"memory://dt-mapped-{os.getpid()}")
    with open(local.path(local.result_key(5, 0)), "rb") as f:
        remote.put_bytes(remote.result_key(5, 0), f.read())
    np.testing.assert_array_equal(remote.load_result(5, 0), np.arange(100_000))
    remote.save_result(5, 1, np.arange(100_000))  # remote writes stay plain pickles
    np.testing.assert_array_equal(remote.load_result(5, 1), np.arange(100_000))

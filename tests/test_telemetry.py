"""TelemetrySink's guard rails: windows in order and of one length, a writer failure reported to
the host, and nothing partial left behind."""
from __future__ import annotations

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.clock import Clock, parse_utc, unix_s
from twin.model import Column
from twin.telemetry import TelemetrySink, parts

CLOCK = Clock(unix_s(parse_utc("2030-01-01T00:00:00Z")), 60, 100)
COLUMNS = {"power_w": Column("W", "rate", "power"), "count": Column("count", "state", "a count")}


def window(n: int, start: int = 0) -> dict:
    return {"power_w": np.arange(start, start + n, dtype=np.float64), "count": np.arange(start, start + n, dtype=np.int64)}


def everything(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_windows_must_follow_each_other(tmp_path):
    sink = TelemetrySink(tmp_path / "x.parquet", CLOCK, COLUMNS)
    sink.append(0, window(10))
    with pytest.raises(ValueError, match="x.parquet: telemetry for step 12 but step 10 was due"):
        sink.append(12, window(5, 12))
    with pytest.raises(ValueError, match="telemetry for step 5 but step 10 was due"):
        sink.append(5, window(5, 5))  # nothing written twice either
    sink.append(10, window(5, 10))
    assert [p.name for p in sink.close()] == ["part-000000000000-000000000015.parquet"]
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.column("count").to_pylist() == list(range(15))


def test_columns_of_one_window_must_have_one_length(tmp_path):
    sink = TelemetrySink(tmp_path / "x.parquet", CLOCK, COLUMNS)
    with pytest.raises(ValueError, match=r"telemetry columns differ in length: \[9, 10\]"):
        sink.append(0, {"power_w": np.zeros(10), "count": np.zeros(9, dtype=np.int64)})
    sink.append(0, window(10))  # the refused window took no step
    sink.close()
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 10


def test_a_column_without_a_description_fails_the_write_and_leaves_nothing(tmp_path):
    folder = tmp_path / "x.parquet"
    sink = TelemetrySink(folder, CLOCK, COLUMNS)
    sink.append(0, {**window(10), "mystery": np.zeros(10)})
    with pytest.raises(RuntimeError, match=r"writing telemetry to .*x.parquet failed: .*mystery have no unit, kind and description"):
        sink.close()
    assert everything(folder) == []


def test_a_writer_failure_mid_part_surfaces_and_leaves_no_partial_file(tmp_path):
    # The first chunk opens the part's partial file; the second cannot be written to it (a column
    # that was float turns into text, which the Parquet writer refuses for this file's schema).
    folder = tmp_path / "x.parquet"
    sink = TelemetrySink(folder, CLOCK, COLUMNS, chunk_rows=10)
    sink.append(0, window(10))  # flushed: the writer thread opens .part-...partial
    sink._jobs.join()
    assert [p.name for p in folder.iterdir()] == [".part-000000000000-000000000000.parquet.partial"]
    sink.append(10, {"power_w": np.array(["ten"] * 10), "count": np.arange(10, 20)})
    sink._jobs.join()
    with pytest.raises(RuntimeError, match="writing telemetry to .*x.parquet failed"):
        sink.append(20, window(10, 20))  # the next call from the host reports it
    with pytest.raises(RuntimeError, match="writing telemetry to .*x.parquet failed"):
        sink.close()
    assert everything(folder) == []  # no partial file, nothing published


def test_a_failure_after_a_checkpoint_keeps_the_published_part_only(tmp_path):
    folder = tmp_path / "x.parquet"
    sink = TelemetrySink(folder, CLOCK, COLUMNS, chunk_rows=10)
    sink.append(0, window(10))
    sink.rotate()  # a checkpoint at step 10: the part is published
    sink.append(10, {"power_w": np.array([object()] * 10, dtype=object), "count": np.arange(10, 20)})
    with pytest.raises(RuntimeError, match="writing telemetry to .*x.parquet failed"):
        sink.close()
    assert everything(folder) == ["part-000000000000-000000000010.parquet"]
    assert [(a, b) for a, b, _ in parts(folder)] == [(0, 10)]
    assert pq.read_table(folder).column("count").to_pylist() == list(range(10))


def test_discard_drops_what_is_not_published(tmp_path):
    folder = tmp_path / "x.parquet"
    sink = TelemetrySink(folder, CLOCK, COLUMNS, chunk_rows=5)
    sink.append(0, window(10))
    sink.rotate()
    sink.append(10, window(10, 10))  # flushed to a partial file, not yet published
    sink._jobs.join()
    assert len(everything(folder)) == 2
    sink.discard()
    assert everything(folder) == ["part-000000000000-000000000010.parquet"]


def test_a_part_that_cannot_be_published_surfaces_and_leaves_no_partial_file(tmp_path):
    # The file system refuses the rename that publishes the part (something else, a folder, holds
    # its name): the error reaches the host, the partial file goes.
    folder = tmp_path / "x.parquet"
    folder.mkdir()
    (folder / "part-000000000000-000000000010.parquet").mkdir()
    (folder / "part-000000000000-000000000010.parquet" / "keep").write_text("not ours")
    sink = TelemetrySink(folder, CLOCK, COLUMNS)
    sink.append(0, window(10))
    with pytest.raises(RuntimeError, match="writing telemetry to .*x.parquet failed"):
        sink.close()
    assert not list(folder.glob(".*.partial"))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_surfaces_as_an_error(tmp_path):
    folder = tmp_path / "x.parquet"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        sink = TelemetrySink(folder, CLOCK, COLUMNS)
        sink.append(0, window(10))
        with pytest.raises(RuntimeError, match="writing telemetry to .*x.parquet failed"):
            sink.close()
        assert everything(folder) == []
    finally:
        folder.chmod(0o755)

"""The ground archive (issue 5, item 6): archiving telemetry.

Ratio (same run, interleaved, through `compare`): `Archive.store_telemetry` of a decoded batch of
1,000 samples (one transaction) against the naive way, one sqlite3 INSERT and one commit per
sample into the same table with the same indexes, WAL and synchronous=NORMAL (so the ratio
measures batching and our value handling, not fsync policy). Ours also resolves names from the
dictionary and encodes each value's kind and display form, which the peer does not.

Absolute target, asserted only when benchmarking (`make bench`): at least 10,000 telemetry values
per second "comfortably", asserted as twice that, 20,000/s.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from flight.ground.archive import MIGRATIONS, Archive
from flight.runtime.records import TlmSample

BATCH = 1000
CHANNELS = 50
REQUIRED_VALUES_PER_S = 20_000
TAI0 = 2.1e9


def _dictionary() -> dict[str, Any]:
    """A dictionary shaped like `flight dict` output: U32, F32, BOOL and ENUM channels."""
    kinds = [{"type": "U32", "min": 0, "max": 2**32 - 1}, {"type": "F32"}, {"type": "BOOL"},
             {"type": "ENUM", "enum": "Mode", "bits": 8, "members": {"SAFE": 0, "NOMINAL": 1}}]
    return {"channels": [{"name": f"comp{i // 10}.ch{i}", "id": 0x100 + i,
                          "type": kinds[i % len(kinds)]} for i in range(CHANNELS)]}


def _batch(start: float) -> list[TlmSample]:
    values = (lambda i: i * 7, lambda i: i * 0.25, lambda i: i % 3 == 0, lambda i: i % 2)
    return [TlmSample(0x100 + i % CHANNELS, start + i * 0.01, values[i % CHANNELS % 4](i))
            for i in range(BATCH)]


def _naive_database(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in MIGRATIONS[0]:
        if "telemetry" in statement:
            conn.execute(statement)
    conn.commit()
    return conn


def test_store_telemetry_vs_one_insert_per_commit(compare, tmp_path: Path) -> None:
    archive = Archive(tmp_path / "ours.db", _dictionary(), now=lambda: 1.7e9)
    naive = _naive_database(tmp_path / "naive.db")
    batch = _batch(TAI0)
    rows = [(1.7e9, s.time, s.channel_id, f"ch{s.channel_id}", type(s.value).__name__, s.value,
             str(s.value)) for s in batch]

    def ours() -> None:
        archive.store_telemetry(batch)

    def peer() -> None:
        for row in rows:
            naive.execute(
                "INSERT INTO telemetry (received, onboard_time, channel_id, channel, kind, value,"
                " display) VALUES (?,?,?,?,?,?,?)", row,
            )
            naive.commit()

    result = compare(ours, peer, peer_name="sqlite3, one INSERT per commit (WAL, NORMAL)",
                     min_ratio=2.5)
    try:
        stored = archive.counts()["telemetry"]
        assert stored % BATCH == 0 and stored >= BATCH
        assert archive.latest(0x101).value == batch[-CHANNELS + 1].value
        if result is not None:
            rate = BATCH / result.ours_s
            print(f"\narchive: {rate:,.0f} telemetry values/s in batches of {BATCH}; "
                  f"naive: {BATCH / result.peer_s:,.0f}/s")
            assert rate >= REQUIRED_VALUES_PER_S, f"{rate:,.0f} values/s"
    finally:
        archive.close()
        naive.close()

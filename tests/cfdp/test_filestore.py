"""Filestores: names confined to the root, atomic finalize, partial files discarded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flight.cfdp import FilestoreError, MemoryFilestore, NativeFilestore
from flight.cfdp.filestore import PARTIAL_DIR, normalize


@pytest.mark.parametrize("name, expected", [
    ("a.bin", "a.bin"), ("/down/a.bin", "down/a.bin"), ("x//y/./z", "x/y/z"),
    ("dir\\file", "dir/file"),
])
def test_names_are_relative_to_the_root(name: str, expected: str) -> None:
    assert normalize(name) == expected


@pytest.mark.parametrize("name", ["", "/", ".", "../etc/passwd", "a/../../b", "a/..",
                                  "nul\x00", f"{PARTIAL_DIR}/x"])
def test_names_that_leave_the_root_are_refused(name: str) -> None:
    with pytest.raises(FilestoreError):
        normalize(name)


def test_native_partial_finalizes_atomically(tmp_path: Path) -> None:
    store = NativeFilestore(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f.bin").write_bytes(b"old")
    part = store.create_partial()
    part.write(4, b"5678")
    part.write(0, b"1234")
    assert part.read(2, 4) == b"3456"
    assert (tmp_path / "out" / "f.bin").read_bytes() == b"old"  # untouched until finalize
    part.finalize("/out/f.bin")
    assert (tmp_path / "out" / "f.bin").read_bytes() == b"12345678"
    assert os.listdir(tmp_path / PARTIAL_DIR) == []
    part2 = store.create_partial()
    part2.write(0, b"junk")
    part2.finalize("new/deep/g.bin")  # parents created
    assert (tmp_path / "new" / "deep" / "g.bin").read_bytes() == b"junk"


def test_native_discard_and_stale_partials(tmp_path: Path) -> None:
    store = NativeFilestore(tmp_path)
    part = store.create_partial()
    part.write(0, b"x")
    part.discard()
    assert os.listdir(tmp_path / PARTIAL_DIR) == []
    store.create_partial().write(0, b"left behind by a power cut")
    assert NativeFilestore(tmp_path).discard_stale_partials() == 1


def test_native_read_and_refusals(tmp_path: Path) -> None:
    (tmp_path / "src.bin").write_bytes(b"abcdef")
    store = NativeFilestore(tmp_path)
    f = store.open_read("src.bin")
    assert (f.size, f.read(2, 3), f.read(5, 10)) == (6, b"cde", b"f")
    f.close()
    with pytest.raises(FilestoreError, match="missing|No such"):
        store.open_read("missing.bin")
    (tmp_path / "d").mkdir()
    with pytest.raises(FilestoreError, match="directory"):
        store.check_name("d")


def test_memory_filestore() -> None:
    store = MemoryFilestore({"/a": b"xyz"})
    assert store.open_read("a").read(1, 5) == b"yz"
    part = store.create_partial()
    part.write(3, b"de")
    part.write(0, b"abc")
    assert store.partials == 1
    part.finalize("b")
    assert store.files["b"] == b"abcde" and store.partials == 0
    with pytest.raises(FilestoreError):
        store.open_read("nope")

"""An imaging capture downlinked bit-exact over CFDP: the file the ground receives is the file the
satellite stored (read from an emulated board's storage; on a real board, the CRC-32C the
satellite computed when it stored the file)."""

from __future__ import annotations

from flight.codec import crc32c
from hil.ops import HK_TIMEOUT_S

DOWNLINK_TIMEOUT_S = 600.0  # board seconds: a compressed 256 x 256 frame at 64 kbit/s, with margin


def capture(ground, target: str) -> tuple[str, int, int]:
    """Power the imager, capture `target`, power it off; (path, size, CRC-32C) as stored."""
    mark = ground.mark()
    ground.send_and_await_completion("imager.power", True, timeout=HK_TIMEOUT_S)
    try:
        ground.send_and_await_completion("imager.capture", target, 2, timeout=HK_TIMEOUT_S)
    finally:
        ground.send_and_await_completion("imager.power", False, timeout=HK_TIMEOUT_S)
    captured = ground.await_event("imager.captured", lambda a: a[0] == target,
                                  timeout=HK_TIMEOUT_S, start=mark)
    file_id = captured.args[1]
    stored = ground.await_event("store.file_stored", lambda a: a[0] == file_id,
                                timeout=HK_TIMEOUT_S, start=mark)
    _, path, size, crc = stored.args
    assert size == captured.args[2]
    return path, size, crc


def downlink(ground, path: str, cls: int = 2):
    ground.send_and_await_completion("files.downlink", path, cls, timeout=HK_TIMEOUT_S)
    return ground.await_file(path, timeout=DOWNLINK_TIMEOUT_S)


def test_capture_downlinked_bit_exact(ground, board):
    path, size, crc = capture(ground, "hil_nadir")
    received = downlink(ground, path)
    data = received.path.read_bytes()
    assert (len(data), crc32c(data)) == (size, crc) == (received.size, received.crc32c)
    stored = board.stored_file(path)
    if stored is not None:  # an emulated board: its storage is at hand
        assert data == stored
    mark = ground.mark()
    ground.send_and_await_completion("store.list_files", 0, 100, timeout=HK_TIMEOUT_S)
    listed = ground.await_event("store.file_listed", lambda a: a[1] == path,
                                timeout=HK_TIMEOUT_S, start=mark)
    assert listed.args[6]  # marked downlinked when the ground's Finished PDU arrived

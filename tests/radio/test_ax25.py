"""AX.25 UI frames: vectors derived by hand from AX.25 2.2 (sections 3 and 6.1.2), validation
errors, and agreement with aioax25's frame classes both ways."""

from __future__ import annotations

import pytest
from aioax25.frame import AX25Address, AX25Frame, AX25UnnumberedInformationFrame
from hypothesis import given
from hypothesis import strategies as st

from drivers.radio import ax25
from drivers.radio.ax25 import Address, UiFrame
from drivers.radio.errors import Ax25AddressError, Ax25ControlError, Ax25Error, Ax25LengthError
from drivers.radio.kiss import KissDeframer, kiss_encode

# CQ (destination, command: C=1) from N0CALL-7 (source, C=0, last address), UI, PID F0, "Hi".
#   'C' 0x43<<1 = 86, 'Q' 0x51<<1 = A2, space 0x20<<1 = 40 (x4)
#   SSID octet: C 80 | reserved 60 | SSID 0 | X 0 = E0
#   'N' 9C '0' 60 'C' 86 'A' 82 'L' 98 'L' 98; SSID octet: 60 | 7<<1 = 0E | X 01 = 6F
CQ_FRAME = bytes.fromhex("86 A2 40 40 40 40 E0 9C 60 86 82 98 98 6F 03 F0 48 69")

# APRS from N0CALL-1 via WIDE1-1 (repeated: H=1) and WIDE2-2 (last address).
#   'A' 82 'P' A0 'R' A4 'S' A6 40 40, E0 (C=1)
#   N0CALL, 60 | 1<<1 = 62 (C=0, X=0)
#   'W' AE 'I' 92 'D' 88 'E' 8A '1' 62 40, H 80 | 60 | 02 = E2
#   'W' AE 'I' 92 'D' 88 'E' 8A '2' 64 40, 60 | 04 | X 01 = 65
APRS_FRAME = bytes.fromhex(
    " ".join(
        [
            "82 A0 A4 A6 40 40 E0",
            "9C 60 86 82 98 98 62",
            "AE 92 88 8A 62 40 E2",
            "AE 92 88 8A 64 40 65",
            "03 F0 21",
        ]
    )
)


def test_ui_command_frame_vector() -> None:
    frame = UiFrame.build("CQ", "N0CALL-7", b"Hi")
    assert ax25.encode(frame) == CQ_FRAME
    decoded = ax25.decode(CQ_FRAME)
    assert decoded == frame
    assert decoded.command is True
    assert str(decoded.source) == "N0CALL-7"


def test_digipeater_vector() -> None:
    frame = UiFrame.build(
        "APRS", "N0CALL-1", b"!", via=[Address("WIDE1", 1, ch=True), Address("WIDE2", 2)]
    )
    assert ax25.encode(frame) == APRS_FRAME
    decoded = ax25.decode(APRS_FRAME)
    assert decoded == frame
    assert [d.ch for d in decoded.digipeaters] == [True, False]


def test_response_and_poll_bits() -> None:
    frame = UiFrame.build("CQ", "N0CALL-7", b"", command=False)
    wire = ax25.encode(UiFrame(frame.destination, frame.source, b"", poll=True))
    assert wire[6] == 0x60 and wire[13] == 0xEF  # C bits 0 / 1 (response), X on the source
    assert wire[14] == 0x13  # UI with P/F
    decoded = ax25.decode(wire)
    assert decoded.command is False and decoded.poll


def test_version_one_form_and_reserved_bits_kept() -> None:
    wire = bytearray(CQ_FRAME)
    wire[6] = 0x20  # C = 0 on both, one reserved bit clear
    decoded = ax25.decode(bytes(wire))
    assert decoded.command is None
    assert decoded.destination.reserved == 0b01
    assert ax25.encode(decoded) == bytes(wire)


def test_through_kiss_with_escapes() -> None:
    frame = UiFrame.build("CQ", "N0CALL-7", b"\xc0\xdb")
    wire = kiss_encode(ax25.encode(frame))
    assert wire == bytes.fromhex("C0 00") + CQ_FRAME[:-2] + bytes.fromhex("DB DC DB DD C0")
    (kiss_frame,) = KissDeframer().feed(wire)
    assert ax25.decode(kiss_frame.payload) == frame


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"callsign": "n0call"}, Ax25AddressError, "upper-case"),
        ({"callsign": "N0-CAL"}, Ax25AddressError, "'-'"),
        ({"callsign": "TOOLONG"}, Ax25AddressError, "1 to 6"),
        ({"callsign": ""}, Ax25AddressError, "1 to 6"),
        ({"callsign": "N0CALL", "ssid": 16}, Ax25AddressError, "0..15"),
        ({"callsign": "N0CALL", "ssid": -1}, Ax25AddressError, "0..15"),
    ],
)
def test_address_validation(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Address(**kwargs)


def test_address_parse() -> None:
    assert Address.parse("N0CALL-15") == Address("N0CALL", 15)
    for bad in ("N0CALL-16", "N0CALL-x", "N0CALL-", "N0CALL-007"):
        with pytest.raises(Ax25AddressError):
            Address.parse(bad)


def test_encode_limits() -> None:
    with pytest.raises(Ax25LengthError, match="information field is 257 octets"):
        ax25.encode(UiFrame.build("CQ", "N0CALL", bytes(257)))
    assert len(ax25.encode(UiFrame.build("CQ", "N0CALL", bytes(300)), max_info=300)) == 316
    nine = [f"DIGI{i}" for i in range(9)]
    with pytest.raises(Ax25LengthError, match="digipeater path"):
        ax25.encode(UiFrame.build("CQ", "N0CALL", b"", via=nine))


def _with(octets: bytes, index: int, value: int) -> bytes:
    data = bytearray(octets)
    data[index] = value
    return bytes(data)


@pytest.mark.parametrize(
    ("wire", "error", "numbers"),
    [
        (CQ_FRAME[:15], Ax25LengthError, ("frame", 15)),
        (_with(CQ_FRAME, 0, 0x87), Ax25AddressError, ("extension bit",)),
        (_with(CQ_FRAME, 1, 0xC2), Ax25AddressError, ("'a'",)),  # lower-case 'a'
        (_with(CQ_FRAME, 0, 0x40), Ax25AddressError, ("padded at the end",)),  # " Q    "
        (_with(CQ_FRAME, 6, 0xE1), Ax25AddressError, ("destination only",)),
        (_with(CQ_FRAME, 13, 0x6E), Ax25LengthError, ("unterminated",)),
        (_with(CQ_FRAME, 14, 0x3F), Ax25ControlError, ("0x3F",)),  # SABM, not UI
        (_with(CQ_FRAME, 14, 0x00), Ax25ControlError, ("0x00",)),  # an I frame
        (CQ_FRAME[:-2] + bytes(257), Ax25LengthError, ("257",)),
    ],
)
def test_decode_rejections(wire: bytes, error: type, numbers: tuple) -> None:
    with pytest.raises(error) as info:
        ax25.decode(wire)
    for text in numbers:
        assert str(text) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_decode_rejects_nine_digipeaters() -> None:
    digi = bytes.fromhex("AE 92 88 8A 62 40 62")  # WIDE1-1, not last
    wire = CQ_FRAME[:13] + b"\x6e" + digi * 9 + b"\x03\xf0"
    with pytest.raises(Ax25LengthError, match="at most 8 addresses"):
        ax25.decode(wire)


callsigns = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
addresses = st.builds(Address, callsigns, st.integers(0, 15), st.booleans())


@given(
    dest=addresses,
    src=addresses,
    digis=st.lists(addresses, max_size=8),
    info=st.binary(max_size=256),
    command=st.booleans(),
    pid=st.integers(0, 255),
)
def test_agrees_with_aioax25(
    dest: Address, src: Address, digis: list[Address], info: bytes, command: bool, pid: int
) -> None:
    ours = UiFrame.build(dest, src, info, via=digis, command=command, pid=pid)
    theirs = AX25UnnumberedInformationFrame(
        destination=AX25Address(dest.callsign, dest.ssid),
        source=AX25Address(src.callsign, src.ssid),
        repeaters=[AX25Address(d.callsign, d.ssid, ch=d.ch) for d in digis],
        pid=pid,
        payload=info,
        cr=command,
    )
    assert ax25.encode(ours) == bytes(theirs)
    back = AX25Frame.decode(ax25.encode(ours))
    assert (back.header.destination.callsign, back.header.destination.ssid) == (
        dest.callsign,
        dest.ssid,
    )
    assert back.header.cr == command and back.header.src_cr == (not command)
    assert [(r.callsign, r.ssid, r.ch) for r in back.header.repeaters] == [
        (d.callsign, d.ssid, d.ch) for d in digis
    ]
    assert (back.pid, back.payload) == (pid, info)
    assert ax25.decode(bytes(theirs)) == ours


@given(st.binary(max_size=400))
def test_random_octets_decode_or_raise_ax25_error(data: bytes) -> None:
    try:
        frame = ax25.decode(data)
    except Ax25Error:
        return
    assert ax25.encode(frame) == data

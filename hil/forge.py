"""Telecommand frames the rig crafts on the wire: captured from the ground's radio, forged
without the key, altered in transit, or replayed.

The rig sits between the ground radio and the board, so what it sends goes through the same
radio (CADUs, Reed-Solomon) as the ground's own frames; only the TC frame inside differs. Every
crafted frame has the right spacecraft ID, virtual channel, SPI and FECF, and the sequence
number FARM-1 expects, so the only thing wrong with it is its security: the satellite must
refuse it at SDLS (bad MAC, replay) and never read its data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType

from flight.codec import crc16
from flight.ground.station import GroundStation
from flight.link.devkeys import GroundKeys
from flight.link.keystore import KEY_OCTETS
from flight.link.profile import PAD_OCTET, LinkProfile
from flight.link.sdls import Sdls
from flight.link.spacepacket import PacketType, SpacePacket
from flight.link.tcframe import TcFrame
from flight.runtime.records import Command

FECF_OCTETS = 2


class UplinkRecorder:
    """Records every radio frame the ground station transmits while it is open (a tap on the
    ground radio's input)."""

    def __init__(self, ground: GroundStation) -> None:
        self.transport = ground.link.transport
        self.frames: list[bytes] = []
        self._send: Callable[[bytes], bool] | None = None

    def __enter__(self) -> UplinkRecorder:
        send = self._send = self.transport.send

        def record(frame: bytes) -> bool:
            self.frames.append(bytes(frame))
            return send(frame)

        self.transport.send = record  # type: ignore[method-assign]
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self._send is not None
        self.transport.send = self._send  # type: ignore[method-assign]

    def distinct(self) -> list[bytes]:
        """The frames recorded, retransmissions counted once, in order."""
        return list(dict.fromkeys(self.frames))


def transmit(ground: GroundStation, frame: bytes) -> None:
    """Radiate `frame` from the ground radio, padded to the radio frame as the ground pads."""
    size = ground.profile.frame_octets
    if len(frame) > size:
        raise ValueError(f"a {len(frame)}-octet frame does not fit a {size}-octet radio frame")
    if not ground.link.transport.send(frame + bytes((PAD_OCTET,)) * (size - len(frame))):
        raise RuntimeError("the ground radio's queue refused the frame")


def tc_frame_length(radio_frame: bytes) -> int:
    """The length of the TC frame at the start of a radio frame (its length field)."""
    return (((radio_frame[2] & 0x03) << 8) | radio_frame[3]) + 1


def forge(profile: LinkProfile, command: Command, sequence_number: int, arsn: int) -> bytes:
    """A TC frame carrying `command`, protected under a key the satellite does not have."""
    stranger = GroundKeys(profile.spi, profile.key_id, os.urandom(KEY_OCTETS),
                          profile.master_key_id, os.urandom(KEY_OCTETS))
    sdls = Sdls(stranger.key_store())
    sdls.add(profile.sa_parameters)
    sdls.start(profile.spi)
    sdls.association(profile.spi).next_sequence_number = arsn
    packet = SpacePacket(profile.apid_command, 0, command.pack(), PacketType.TC)
    frame = TcFrame(profile.spacecraft_id, profile.tc_vcid, sequence_number, packet.pack(),
                    map_id=profile.tc_map_id)
    return sdls.apply(frame, profile.spi)


def alter(radio_frame: bytes, octet_from_end: int = FECF_OCTETS + 20) -> bytes:
    """A recorded frame with one bit of its protected data flipped and the FECF made right
    again, as an attacker in the path (or a corrupting relay) would."""
    frame = bytearray(radio_frame[:tc_frame_length(radio_frame)])
    frame[len(frame) - octet_from_end] ^= 0x01
    frame[-FECF_OCTETS:] = crc16(bytes(frame[:-FECF_OCTETS])).to_bytes(FECF_OCTETS, "big")
    return bytes(frame)

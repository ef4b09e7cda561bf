"""The onboard uplink component: radio frames in, authenticated commands and file PDUs out.

    radio.rx_frame (223 x I octets, or a KISS information field)
      -> the TC frame at its start (its length field; the pad after it is ignored, see
         `flight.link.profile` for why this replaces the CLTU)
      -> TcUplink: frame checks, spacecraft ID, VCID, SDLS (SPI, key, MAC, anti-replay), FARM-1
      -> MAP reassembly -> space packets, routed by APID:
         commands (msgpack [opcode, seq, [args]]) to the command dispatcher (`commands` output),
         CFDP PDUs to the file receiver (`file_pdus` output)
    CLCW of FARM-1 -> `clcw` output (to the downlink's OCF)

Nothing in a rejected frame is interpreted. Each rejection is counted under its reason (a
channel per reason), and reported in a throttled security event with the fault; the frame
security report (355.0-B FSR) is a channel refreshed every cycle. When the dispatcher's queue is
full, accepted packets wait here and FARM-1's buffer fills, which raises the wait flag in the CLCW
and holds the ground's FOP-1: flow control end to end, nothing dropped.

Keys (355.1-B key management) are in a `KeyStore` in the component's non-volatile storage
(hardware binding `storage`); the commands `load_key` (wrapped under a master key: OTAR),
`activate_key`, `deactivate_key`, `destroy_key` and `rekey_sa` manage them. Key octets never reach
telemetry, events or the log. The SA's key binding and its anti-replay state survive a reboot: the
highest ARSN is reserved ahead in blocks (`ARSN_RESERVATION`) in storage, and after a reboot every
number up to the reservation counts as used, so a frame recorded before the reboot never verifies
again. The `arsn` channel reports the highest number used; a restarted ground station continues
after it.
"""

from __future__ import annotations

import struct
from collections import Counter, deque
from collections.abc import Mapping
from enum import IntEnum
from typing import Any, ClassVar, Final

from flight.link.devkeys import provision
from flight.link.errors import FieldValueError, LinkError, OversizedError, TruncatedError
from flight.link.farm import Farm1, FarmEvent, FarmState
from flight.link.keystore import (
    WRAPPED_KEY_OCTETS,
    KeyManagementError,
    KeyState,
    KeyStore,
    StorageBlobs,
)
from flight.link.profile import LinkProfile
from flight.link.sdls import RejectReason, Sdls, SdlsError
from flight.link.spacepacket import PacketType, SpacePacket
from flight.link.tcframe import PRIMARY_HEADER_OCTETS
from flight.link.uplink import Rejected, TcUplink, UplinkChannel
from flight.runtime.component import (
    Channel,
    Component,
    Event,
    Output,
    Throttle,
    Update,
    command,
    input_port,
)
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.types import U8, U16, U32, U64, Bytes, Enum, String
from hal.storage import Storage, StorageError, StorageMissing, open_storage

ARSN_RESERVATION: Final[int] = 1024
_SA_RECORD: Final = struct.Struct(">BHQ")  # version, key ID, reserved ARSN
_SA_RECORD_VERSION: Final[int] = 1
_ON_CHANGE: Final = Update.ON_CHANGE


class RejectCode(IntEnum):
    """`RejectReason` as the number telemetry and events carry."""

    MALFORMED = 1
    BAD_FECF = 2
    WRONG_SCID = 3
    WRONG_VCID = 4
    UNKNOWN_SPI = 5
    INACTIVE_SA = 6
    BAD_MAC = 7
    REPLAY = 8


class Uplink(Component):
    """Telecommand reception: frames, security, COP-1, packets to their consumers."""

    LINK_PROFILE: ClassVar[bool] = True

    frames_received = Channel(1, U32, update=_ON_CHANGE, doc="radio frames handed to the uplink")
    frames_accepted = Channel(2, U32, update=_ON_CHANGE, doc="TC data frames FARM-1 accepted")
    frames_rejected = Channel(3, U32, update=_ON_CHANGE,
                              doc="frames rejected before FARM-1, all reasons")
    rejected_malformed = Channel(4, U32, update=_ON_CHANGE,
                                 doc="truncated, oversized, wrong version or security header")
    rejected_bad_fecf = Channel(5, U32, update=_ON_CHANGE, doc="frame CRC mismatch")
    rejected_wrong_scid = Channel(6, U32, update=_ON_CHANGE, doc="for another spacecraft")
    rejected_wrong_vcid = Channel(7, U32, update=_ON_CHANGE, doc="virtual channel not configured")
    rejected_unknown_spi = Channel(8, U32, update=_ON_CHANGE, doc="no SA with this SPI here")
    rejected_inactive_sa = Channel(9, U32, update=_ON_CHANGE, doc="SA or its key not active")
    rejected_bad_mac = Channel(10, U32, update=_ON_CHANGE, doc="authentication failed")
    rejected_replay = Channel(11, U32, update=_ON_CHANGE, doc="ARSN already used or too old")
    farm_state = Channel(12, Enum(FarmState), update=_ON_CHANGE, doc="FARM-1 state")
    farm_v_r = Channel(13, U8, update=_ON_CHANGE, doc="FARM-1 V(R), next expected N(S)")
    farm_lockouts = Channel(14, U32, update=_ON_CHANGE, doc="FARM-1 lockouts since boot")
    farm_discards = Channel(15, U32, update=_ON_CHANGE,
                            doc="valid AD frames FARM-1 discarded (out of sequence, buffer full)")
    packets_routed = Channel(16, U32, update=_ON_CHANGE, doc="packets delivered by APID")
    packets_unrouted = Channel(17, U32, update=_ON_CHANGE,
                               doc="packets with an unknown APID or not telecommands")
    packets_waiting = Channel(18, U32, update=_ON_CHANGE,
                              doc="accepted packets waiting for a full consumer queue")
    fsr = Channel(19, U32, update=_ON_CHANGE, doc="SDLS frame security report (355.0-B FSR)")
    arsn = Channel(20, U64, update=_ON_CHANGE,
                   doc="highest anti-replay sequence number used on the SA")
    sa_key_id = Channel(21, U16, update=_ON_CHANGE, doc="key ID the SA uses")
    keys_active = Channel(22, U8, update=_ON_CHANGE, doc="session keys in state ACTIVE")

    frame_rejected = Event(
        1, Severity.WARNING_HI, "TC frame rejected: {reason} (SPI {spi}): {fault}",
        throttle=Throttle(10, 60.0), reason=Enum(RejectCode), spi=U16, fault=String(100),
    )
    lockout = Event(2, Severity.WARNING_HI,
                    "FARM-1 lockout on VC {vcid}: N(S) {ns} far from V(R) {vr}",
                    throttle=Throttle(5, 60.0), vcid=U8, ns=U8, vr=U8)
    farm_control = Event(3, Severity.ACTIVITY_HI, "FARM-1 {control} on VC {vcid}, V(R) {vr}",
                         throttle=Throttle(10, 60.0), control=String(24), vcid=U8, vr=U8)
    packet_unrouted = Event(4, Severity.WARNING_LO,
                            "packet APID 0x{apid:03X} type {packet_type} not routed",
                            throttle=Throttle(5, 60.0), apid=U16, packet_type=U8)
    key_changed = Event(5, Severity.ACTIVITY_HI, "key {key_id} is now {state}", throttle=None,
                        key_id=U16, state=Enum(KeyState))
    sa_rekeyed = Event(6, Severity.ACTIVITY_HI, "SA {spi} now uses key {key_id}", throttle=None,
                       spi=U16, key_id=U16)
    storage_fault = Event(7, Severity.WARNING_HI, "link security storage: {detail}",
                          throttle=Throttle(5, 60.0), detail=String(100))
    dev_keys = Event(8, Severity.WARNING_LO,
                     "development keys generated (master {master}, session {session}); ground "
                     "key file {file}", throttle=None, master=U16, session=U16, file=String(64))

    commands = Output("command packet data fields (bytes) for the command dispatcher")
    file_pdus = Output("CFDP PDUs (bytes) from file-uplink packets, for the file receiver")
    clcw = Output("the CLCW word (int) of the TC channel, for the downlink's OCF")

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.profile = LinkProfile()
        self.provision_dev_keys = False
        self.key_file = "sdls-ground.key"
        self.storage: Storage | None = None
        self.keys: KeyStore | None = None
        self.sdls: Sdls | None = None
        self.tc: TcUplink | None = None
        self.rejections: Counter[RejectReason] = Counter()
        self.rejected_by_fault: Counter[str] = Counter()
        self.received = 0
        self.routed = 0
        self.unrouted = 0
        self._pending: deque[SpacePacket] = deque()
        self._clcw_word: int | None = None
        self._clcw_state: tuple[int, bool, bool, bool, int] | None = None
        self._arsn_reserved = 0

    # ------------------------------------------------------------ lifecycle

    def configure(self, config: Mapping[str, Any]) -> None:
        self.profile, rest = LinkProfile.from_config(config)
        for key, value in rest.items():
            if key == "provision_dev_keys":
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                self.provision_dev_keys = value
            elif key == "key_file":
                if type(value) is not str or not value or "/" in value:
                    raise ConfigError(key, f"{value!r} must be a plain file name")
                self.key_file = value
            else:
                raise ConfigError(key, "unknown setting (known: the link profile's keys, "
                                       "provision_dev_keys, key_file)")

    def restore(self) -> None:
        p = self.profile
        try:
            self.storage = open_storage(self.hardware("storage"))
        except ValueError as exc:
            raise ConfigError("hardware.storage", str(exc)) from None
        self.keys = KeyStore(StorageBlobs(self.storage))
        for name in self.keys.unreadable:
            self.emit(self.storage_fault, f"key blob {name} unreadable; key skipped")
        if self.provision_dev_keys:
            ground = provision(self.keys, self.storage, p, self.key_file)
            if ground is not None:
                self.emit(self.dev_keys, p.master_key_id, p.key_id, self.key_file)
        self.sdls = Sdls(self.keys)
        self.sdls.add(p.sa_parameters)
        key_id, reserved = self._load_sa_record()
        if key_id != p.key_id:
            self.sdls.rekey(p.spi, key_id)
        self.sdls.resume_after(p.spi, reserved)
        self._arsn_reserved = reserved
        self.sdls.start(p.spi)
        channel = UplinkChannel(p.tc_vcid, segmented=True, secured=True,
                                farm_window=p.farm_window, farm_buffer=p.farm_buffer)
        self.tc = TcUplink(p.spacecraft_id, [channel], sdls=self.sdls)

    def start(self) -> None:
        self._report()

    def cycle(self) -> None:
        self._route()
        self._report()

    # ------------------------------------------------------------ reception

    @input_port(depth=64, policy="drop_oldest")
    def rx_frame(self, frame: bytes) -> None:
        """One frame from the radio."""
        assert self.tc is not None
        self.received += 1
        try:
            octets = self._tc_frame(frame)
        except LinkError as error:
            self._reject(RejectReason.MALFORMED, error)
            return
        outcome = self.tc.receive(octets)
        if isinstance(outcome, Rejected):
            self._reject(outcome.reason, outcome.error)
        else:
            self._farm(outcome, octets[4])
        self._keep_arsn_reserved()
        self._route()
        self._publish_clcw()

    def _tc_frame(self, frame: Any) -> bytes:
        """The TC frame at the start of a radio frame, by its length field."""
        if type(frame) is not bytes:
            if not isinstance(frame, bytearray | memoryview):
                raise FieldValueError("radio frame", type(frame).__name__, "bytes")
            frame = bytes(frame)
        size = len(frame)
        if size > self.profile.frame_octets:
            raise OversizedError("radio frame", size, self.profile.frame_octets)
        if size < PRIMARY_HEADER_OCTETS:
            raise TruncatedError("TC frame header", PRIMARY_HEADER_OCTETS, size)
        declared = (((frame[2] & 0x03) << 8) | frame[3]) + 1
        if size < declared:
            raise TruncatedError("TC frame", declared, size)
        return frame if size == declared else frame[:declared]

    def _reject(self, reason: RejectReason, error: LinkError) -> None:
        self.rejections[reason] += 1
        self.rejected_by_fault[type(error).__name__] += 1
        spi = getattr(error, "spi", None) if isinstance(error, SdlsError) else None
        self.emit(self.frame_rejected, RejectCode[reason.name], spi or 0, str(error)[:100])

    def _farm(self, event: FarmEvent, sequence_number: int) -> None:
        farm = self._farm1
        if event is FarmEvent.AD_LOCKOUT:
            self.emit(self.lockout, farm.virtual_channel_id, sequence_number, farm.v_r)
        elif event in (FarmEvent.UNLOCK, FarmEvent.SET_V_R, FarmEvent.SET_V_R_IN_LOCKOUT):
            self.emit(self.farm_control, event.name, farm.virtual_channel_id, farm.v_r)

    @property
    def _farm1(self) -> Farm1:
        assert self.tc is not None
        return self.tc.farms[self.profile.tc_vcid]

    # ------------------------------------------------------------ routing

    def _route(self) -> None:
        """Hand accepted packets to their consumers; stop at a full queue and keep the rest."""
        assert self.tc is not None
        pending = self._pending
        p = self.profile
        while True:
            if not pending:
                pending.extend(packet for _, packet in self.tc.take_packets())
                if not pending:
                    return
            packet = pending[0]
            if packet.packet_type is not PacketType.TC:
                self._unrouted(packet)
            elif packet.apid == p.apid_command:
                if not self.commands.send(packet.data):
                    return
                self.routed += 1
            elif packet.apid == p.apid_file_uplink:
                if not self.file_pdus.send(packet.data):
                    return
                self.routed += 1
            else:
                self._unrouted(packet)
            pending.popleft()

    def _unrouted(self, packet: SpacePacket) -> None:
        self.unrouted += 1
        self.emit(self.packet_unrouted, packet.apid, int(packet.packet_type))

    def _publish_clcw(self) -> None:
        """Send the CLCW when FARM-1's reported state changed."""
        farm = self._farm1
        state = (farm.v_r, farm.lockout, farm.wait, farm.retransmit, farm.farm_b_counter)
        if state != self._clcw_state:
            self._clcw_state = state
            self._clcw_word = farm.clcw().to_word()
            self.clcw.send(self._clcw_word)

    # ------------------------------------------------------------ telemetry

    def _report(self) -> None:
        assert self.tc is not None and self.sdls is not None and self.keys is not None
        r = self.rejections
        self.tlm(self.frames_received, self.received)
        self.tlm(self.frames_accepted, self.tc.frames_accepted)
        self.tlm(self.frames_rejected, sum(r.values()))
        for reason in RejectReason:
            self.tlm(_REJECT_CHANNELS[reason], r[reason])
        farm = self._farm1
        counts = farm.counts
        self.tlm(self.farm_state, farm.state)
        self.tlm(self.farm_v_r, farm.v_r)
        self.tlm(self.farm_lockouts, counts[FarmEvent.AD_LOCKOUT])
        self.tlm(self.farm_discards, sum(counts[e] for e in _DISCARDS))
        self.tlm(self.packets_routed, self.routed)
        self.tlm(self.packets_unrouted, self.unrouted)
        self.tlm(self.packets_waiting, len(self._pending))
        self.tlm(self.fsr, self.sdls.fsr())
        self.tlm(self.arsn, self.sdls.highest_sequence_number(self.profile.spi))
        self.tlm(self.sa_key_id, self.sdls.association(self.profile.spi).parameters.key_id)
        self.tlm(self.keys_active,
                 sum(1 for s in self.keys.states().values() if s is KeyState.ACTIVE))
        self._clcw_word = self.tc.clcw(self.profile.tc_vcid).to_word()
        self.clcw.send(self._clcw_word)  # every cycle too: a downlink that missed one catches up

    # ------------------------------------------------------------ SA state in storage

    def _sa_blob(self) -> str:
        return f"sdls-sa-{self.profile.spi:05d}"

    def _load_sa_record(self) -> tuple[int, int]:
        """(key ID, reserved ARSN) saved for the SA; the configured key and 0 at first boot."""
        assert self.storage is not None
        try:
            record = self.storage.load(self._sa_blob())
            version, key_id, reserved = _SA_RECORD.unpack(record)
            if version != _SA_RECORD_VERSION:
                raise ValueError(f"record version {version}")
        except StorageMissing:
            return self.profile.key_id, 0
        except (StorageError, ValueError, struct.error) as exc:
            # Unknown anti-replay state: refuse every number up to the largest the ARSN field
            # holds would brick the uplink, so restart at 0 and say so loudly.
            self.emit(self.storage_fault, f"SA record unreadable ({str(exc)[:60]}); ARSN reset")
            return self.profile.key_id, 0
        return key_id, reserved

    def _save_sa_record(self) -> None:
        assert self.storage is not None and self.sdls is not None
        key_id = self.sdls.association(self.profile.spi).parameters.key_id
        try:
            self.storage.save(self._sa_blob(), _SA_RECORD.pack(_SA_RECORD_VERSION, key_id,
                                                               self._arsn_reserved))
        except OSError as exc:
            self.emit(self.storage_fault, f"SA record not saved: {str(exc)[:70]}")

    def _keep_arsn_reserved(self) -> None:
        """Reserve the next block of ARSNs in storage before any frame beyond the last
        reservation is acted on."""
        assert self.sdls is not None
        highest = self.sdls.highest_sequence_number(self.profile.spi)
        self.tlm(self.arsn, highest)  # at once: a ground station that restarts reads it
        if highest >= self._arsn_reserved:
            self._arsn_reserved = highest + ARSN_RESERVATION
            self._save_sa_record()

    # ------------------------------------------------------------ key management commands

    @command(1, key_id=U16, wrapped=Bytes(WRAPPED_KEY_OCTETS), master_key_id=U16)
    def load_key(self, key_id: int, wrapped: bytes, master_key_id: int) -> None:
        """OTAR: load a session key wrapped (RFC 3394) under an active master key; PRE_ACTIVE."""
        assert self.keys is not None
        self._key_command(lambda: self.keys.load_wrapped(key_id, wrapped, master_key_id))
        self.emit(self.key_changed, key_id, KeyState.PRE_ACTIVE)

    @command(2, key_id=U16)
    def activate_key(self, key_id: int) -> None:
        """PRE_ACTIVE -> ACTIVE."""
        assert self.keys is not None
        self._key_command(lambda: self.keys.activate(key_id))
        self.emit(self.key_changed, key_id, KeyState.ACTIVE)

    @command(3, key_id=U16)
    def deactivate_key(self, key_id: int) -> None:
        """ACTIVE -> DEACTIVATED (for good: a deactivated key never comes back)."""
        assert self.keys is not None
        self._key_command(lambda: self.keys.deactivate(key_id))
        self.emit(self.key_changed, key_id, KeyState.DEACTIVATED)

    @command(4, key_id=U16)
    def destroy_key(self, key_id: int) -> None:
        """Erase a key's material from storage (any state)."""
        assert self.keys is not None
        self._key_command(lambda: self.keys.destroy(key_id))
        self.emit(self.key_changed, key_id, KeyState.DESTROYED)

    @command(5, spi=U16, key_id=U16)
    def rekey_sa(self, spi: int, key_id: int) -> None:
        """Make SA `spi` use ACTIVE session key `key_id` from the next frame on."""
        assert self.sdls is not None and self.keys is not None
        if spi != self.profile.spi:
            raise CommandError(ReasonCode.NOT_FOUND, f"no security association with SPI {spi}")
        if self.keys.cipher(key_id) is None:
            raise CommandError(ReasonCode.EXECUTION_FAILED, f"key {key_id} is not an ACTIVE "
                                                            "session key")
        self.sdls.rekey(spi, key_id)
        self._save_sa_record()
        self.emit(self.sa_rekeyed, spi, key_id)

    def _key_command(self, action: Any) -> None:
        try:
            action()
        except KeyManagementError as exc:
            raise CommandError(ReasonCode.EXECUTION_FAILED, str(exc)) from None
        except OSError as exc:
            raise CommandError(ReasonCode.STORAGE_ERROR, str(exc)[:100]) from None


_REJECT_CHANNELS: Final = {
    RejectReason.MALFORMED: Uplink.rejected_malformed,
    RejectReason.BAD_FECF: Uplink.rejected_bad_fecf,
    RejectReason.WRONG_SCID: Uplink.rejected_wrong_scid,
    RejectReason.WRONG_VCID: Uplink.rejected_wrong_vcid,
    RejectReason.UNKNOWN_SPI: Uplink.rejected_unknown_spi,
    RejectReason.INACTIVE_SA: Uplink.rejected_inactive_sa,
    RejectReason.BAD_MAC: Uplink.rejected_bad_mac,
    RejectReason.REPLAY: Uplink.rejected_replay,
}

_DISCARDS: Final = (FarmEvent.AD_NO_BUFFER, FarmEvent.AD_POSITIVE_WINDOW,
                    FarmEvent.AD_NEGATIVE_WINDOW, FarmEvent.AD_IN_LOCKOUT)

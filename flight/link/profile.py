"""The link's managed parameters, shared by the onboard link components and the ground station.

A `LinkProfile` names the spacecraft, the virtual channels, the APIDs, the security association
and the radio frame size. The uplink and downlink components take its keys in their tables of the
deployment file, and the ground station reads them back from the same file
(`LinkProfile.from_deployment`), so both ends of the link are configured from one place.

Radio frames: the transparent radio carries fixed frames of 223 x I octets (one CADU each). A TM
frame fills one exactly. A TC frame (at most 1024 octets) travels at the start of one, followed by
pad octets that the receiver ignores, because the TC frame's own length field says where it ends.
This replaces the CLTU (231.0-B: start sequence, BCH codeblocks, tail sequence) on this link: the
CADU's Reed-Solomon code protects the uplink as well as the downlink, and the radio hands over
frames, not a bit stream to search for a start sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from flight.link.sdls import SaParameters, ServiceType
from flight.link.spacepacket import MAX_APID
from flight.link.tcframe import MAX_FRAME_OCTETS as MAX_TC_FRAME_OCTETS
from flight.link.tcframe import MAX_SPACECRAFT_ID, MAX_VCID
from flight.link.tcframe import PRIMARY_HEADER_OCTETS as TC_HEADER_OCTETS
from flight.link.tmframe import MAX_VCID as MAX_TM_VCID
from flight.runtime.errors import ConfigError

RS_DATA_OCTETS: Final[int] = 223
INTERLEAVE_DEPTHS: Final = (1, 2, 3, 4, 5, 8)
PAD_OCTET: Final[int] = 0x55
_TC_SEGMENT_AND_FECF: Final[int] = 1 + 2


@dataclass(frozen=True)
class LinkProfile:
    """Everything both ends must agree on. Defaults are refsat's."""

    spacecraft_id: int = 0x2A
    frame_octets: int = 5 * RS_DATA_OCTETS
    # uplink: one TC virtual channel under COP-1, MAP multiplexing with a segment header
    tc_vcid: int = 0
    tc_map_id: int = 0
    farm_window: int = 10
    farm_buffer: int = 16
    # SDLS on the TC channel
    spi: int = 1
    key_id: int = 10
    master_key_id: int = 1
    service_type: ServiceType = ServiceType.AUTHENTICATED_ENCRYPTION
    arsn_octets: int = 4
    replay_window: int = 64
    # APIDs: telecommand packets
    apid_command: int = 0x010
    apid_file_uplink: int = 0x011
    # APIDs: telemetry packets
    apid_housekeeping: int = 0x020
    apid_event: int = 0x021
    apid_verification: int = 0x022
    apid_file_downlink: int = 0x023
    # TM virtual channels, highest priority first
    vc_realtime: int = 0
    vc_events: int = 1
    vc_files: int = 2
    vc_idle: int = 7

    def __post_init__(self) -> None:
        _check(self)

    @property
    def interleave(self) -> int:
        return self.frame_octets // RS_DATA_OCTETS

    @property
    def max_tc_frame_octets(self) -> int:
        return min(MAX_TC_FRAME_OCTETS, self.frame_octets)

    @property
    def max_tc_packet_octets(self) -> int:
        """The largest space packet one TC frame carries (segment header, SDLS, FECF aside)."""
        return (self.max_tc_frame_octets - TC_HEADER_OCTETS - _TC_SEGMENT_AND_FECF
                - self.sa_parameters.overhead_octets)

    @property
    def sa_parameters(self) -> SaParameters:
        return SaParameters(
            spi=self.spi, service_type=self.service_type, spacecraft_id=self.spacecraft_id,
            virtual_channel_id=self.tc_vcid, key_id=self.key_id,
            sequence_number_length=self.arsn_octets, replay_window=self.replay_window,
        )

    @property
    def tm_apids(self) -> dict[str, int]:
        return {"housekeeping": self.apid_housekeeping, "event": self.apid_event,
                "verification": self.apid_verification, "file": self.apid_file_downlink}

    # ------------------------------------------------------------ configuration

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> tuple[LinkProfile, dict[str, Any]]:
        """The profile from a component's deployment table, and the keys that are not the
        profile's (for the component to check). Raises `ConfigError(key, why)`."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        rest: dict[str, Any] = {}
        for key, value in config.items():
            if key not in known:
                rest[key] = value
            elif key == "service_type":
                values[key] = _service_type(value)
            elif type(value) is not int:
                raise ConfigError(key, f"{value!r} must be an integer")
            else:
                values[key] = value
        try:
            return cls(**values), rest
        except ProfileError as exc:
            raise ConfigError(exc.key, exc.why) from None

    @classmethod
    def from_deployment(cls, path: str) -> LinkProfile:
        """The profile of a deployment file (a path or a shipped name such as "refsat"): the
        link keys of every component that declares `LINK_PROFILE = True`, which must agree."""
        from flight.deployments import resolve
        from flight.runtime.deployment import Deployment, DeploymentError

        deployment = Deployment.load(resolve(path))
        merged: dict[str, Any] = {}
        found = False
        names = {f.name for f in fields(cls)}
        for decl in deployment.components:
            if not getattr(decl.cls, "LINK_PROFILE", False):
                continue
            found = True
            for key, value in decl.config.items():
                if key in names:
                    if key in merged and merged[key] != value:
                        raise DeploymentError(
                            deployment.path, f"components[{decl.index}].{key}",
                            f"{value!r} disagrees with {merged[key]!r} given to another link "
                            "component",
                        )
                    merged[key] = value
        if not found:
            raise DeploymentError(deployment.path, "components",
                                  "no link component (uplink or downlink) to take the profile from")
        try:
            return cls.from_config(merged)[0]
        except ConfigError as exc:
            raise DeploymentError(deployment.path, exc.key, exc.detail) from None


class ProfileError(ValueError):
    """A link profile value out of range; names the key."""

    def __init__(self, key: str, why: str) -> None:
        super().__init__(f"{key}: {why}")
        self.key = key
        self.why = why


def _service_type(value: Any) -> ServiceType:
    if isinstance(value, str):
        try:
            return ServiceType[value.upper()]
        except KeyError:
            pass
    raise ConfigError("service_type", f"{value!r} must be one of "
                      f"{', '.join(s.name.lower() for s in ServiceType)}")


def _check(p: LinkProfile) -> None:
    def need(ok: bool, key: str, why: str) -> None:
        if not ok:
            raise ProfileError(key, why)

    need(0 <= p.spacecraft_id <= MAX_SPACECRAFT_ID, "spacecraft_id", "must be 0..1023")
    need(p.frame_octets % RS_DATA_OCTETS == 0
         and p.frame_octets // RS_DATA_OCTETS in INTERLEAVE_DEPTHS, "frame_octets",
         f"{p.frame_octets} must be 223 x I for an interleave depth I in {INTERLEAVE_DEPTHS}")
    need(0 <= p.tc_vcid <= MAX_VCID, "tc_vcid", "must be 0..63")
    need(0 <= p.tc_map_id <= 63, "tc_map_id", "must be 0..63")
    need(2 <= p.farm_window <= 254 and p.farm_window % 2 == 0, "farm_window",
         "must be even, 2..254")
    need(p.farm_buffer >= 1, "farm_buffer", "must be at least 1")
    need(0 <= p.key_id <= 0xFFFF and 0 <= p.master_key_id <= 0xFFFF
         and p.key_id != p.master_key_id, "key_id", "key IDs are 0..65535, session != master")
    need(p.service_type in (ServiceType.AUTHENTICATION, ServiceType.AUTHENTICATED_ENCRYPTION),
         "service_type", "telecommands must be authenticated")
    try:
        sa = p.sa_parameters
    except ValueError as exc:
        raise ProfileError("spi", str(exc)) from None
    apids = [p.apid_command, p.apid_file_uplink, *p.tm_apids.values()]
    need(all(0 <= a < MAX_APID for a in apids), "apid_command", "APIDs are 0..2046")
    need(len({p.apid_command, p.apid_file_uplink}) == 2, "apid_file_uplink",
         "TC APIDs must differ")
    need(len(set(p.tm_apids.values())) == 4, "apid_file_downlink", "TM APIDs must differ")
    vcs = [p.vc_realtime, p.vc_events, p.vc_files, p.vc_idle]
    need(all(0 <= v <= MAX_TM_VCID for v in vcs), "vc_realtime", "TM VCIDs are 0..7")
    need(len(set(vcs)) == 4, "vc_idle", "TM virtual channels must differ")
    need(p.max_tc_frame_octets - TC_HEADER_OCTETS - _TC_SEGMENT_AND_FECF
         > sa.overhead_octets + 7, "frame_octets", "too small for a secured TC frame")

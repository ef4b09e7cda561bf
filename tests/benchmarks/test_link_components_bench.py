"""The onboard link components (issue 5), measured as the runtime runs them: what the components
add to the library paths of `test_link_stack_bench.py` (bus delivery, packetizing records with
their CUC time stamps, telemetry, routing, the ARSN reservation in storage).

Absolute, asserted only when benchmarking (`make bench`): the downlink component turns
housekeeping records into CADUs at >= 50 Mbit/s of records; the uplink component authenticates,
decodes and routes >= 5,000 TC frames/s.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable

from flight.codec import cadu_encode
from flight.link.devkeys import GroundKeys
from flight.link.downlink_component import Downlink
from flight.link.keystore import KeyStore, StorageBlobs
from flight.link.profile import LinkProfile
from flight.link.sdls import Sdls
from flight.link.spacepacket import PacketType, SpacePacket
from flight.link.tcframe import TcFrame
from flight.link.uplink_component import Uplink
from flight.runtime.records import HousekeepingPacket
from flight.runtime.runtime import Runtime
from hal.clock import SimClock
from hal.storage import open_storage

RECORD_OCTETS = 2_000_000
UPLINK_FRAMES = 1000
_disk = itertools.count()


def _best_seconds(run: Callable[[], None], setup: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        setup()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def test_downlink_component_records_to_cadus_50_mbit_s(benchmark) -> None:
    rng = random.Random(4)
    records = []
    octets = 0
    while octets < RECORD_OCTETS:
        record = HousekeepingPacket(len(records) % 8 + 1, 1000.0 + len(records) * 0.01, 2,
                                    rng.randbytes(rng.randint(40, 400)))
        records.append(record)
        octets += len(record.pack())
    state: dict[str, object] = {}

    def setup() -> None:
        clock = SimClock()
        rt = Runtime("bench", clock=clock)
        downlink = rt.add(Downlink("downlink", 0x0A00), config={
            "air_rate_bps": 1e12, "send_idle": False, "queue_octets": {"realtime": 1 << 24}})
        cadus: list[bytes] = []
        rt.bus.subscribe("downlink.tx_frame", lambda m: cadus.append(cadu_encode(m[1], 5)),
                         depth=1 << 20)
        rt.boot()
        state.update(rt=rt, clock=clock, downlink=downlink, cadus=cadus)

    def run() -> None:
        rt, clock, downlink = state["rt"], state["clock"], state["downlink"]
        handle = downlink.housekeeping  # the input port's handler, as the bus pump calls it
        for record in records:
            handle(record)
        clock.advance(0.1)
        downlink.cycle()  # as many frames as the (huge) air rate allows: all that is queued
        rt.bus.pump()
        assert not downlink.queued
        assert len(state["cadus"]) >= octets // 1103

    setup()
    benchmark.pedantic(run, setup=setup, rounds=1 if benchmark.disabled else 3)
    if benchmark.disabled:
        return
    mbit_s = octets * 8 / _best_seconds(run, setup, 3) / 1e6
    benchmark.extra_info.update(record_mbit_s=round(mbit_s, 1), required=50)
    assert mbit_s >= 50, f"downlink component: {mbit_s:.1f} Mbit/s of records, required 50"


def test_uplink_component_5000_frames_per_second(benchmark) -> None:
    keys = GroundKeys(1, 10, bytes(range(32)), 1, bytes(range(32, 64)))
    state: dict[str, object] = {}

    def setup() -> None:
        disk = f"mem://uplink-bench-{next(_disk)}"  # fresh anti-replay state every round
        keys.install_session(_with_master(disk, keys))
        rt = Runtime("bench", clock=SimClock())
        uplink = rt.add(Uplink("uplink", 0x0900), hardware={"storage": disk},
                        config={"farm_buffer": UPLINK_FRAMES})
        routed: list[bytes] = []
        rt.bus.subscribe("uplink.commands", routed.append, depth=1 << 20)
        rt.boot()
        state.update(rt=rt, uplink=uplink, routed=routed)

    frames = _frames(keys)

    def run() -> None:
        receive = state["uplink"].rx_frame  # type: ignore[attr-defined]
        for frame in frames:  # the input port's handler, as the bus pump calls it
            receive(frame)
        state["rt"].bus.pump()  # type: ignore[attr-defined]
        assert len(state["routed"]) == UPLINK_FRAMES  # type: ignore[arg-type]

    setup()
    benchmark.pedantic(run, setup=setup, rounds=1 if benchmark.disabled else 5)
    if benchmark.disabled:
        return
    rate = UPLINK_FRAMES / _best_seconds(run, setup, 5)
    benchmark.extra_info.update(frames_per_s=round(rate), required=5000)
    assert rate >= 5000, f"uplink component: {rate:.0f} TC frames/s, required 5,000"


def _with_master(disk: str, keys: GroundKeys) -> KeyStore:
    store = KeyStore(StorageBlobs(open_storage(disk)))
    store.install_master(keys.master_key_id, bytes(range(32, 64)))
    return store


def _frames(keys: GroundKeys) -> list[bytes]:
    """Radio frames: 64-octet command packets in segmented AD frames under the SA, padded to
    1115 octets as the ground sends them."""
    p = LinkProfile()
    sdls = Sdls(keys.key_store())
    sdls.add(p.sa_parameters)
    sdls.start(p.spi)
    data = random.Random(3).randbytes(64)
    out = []
    for n in range(UPLINK_FRAMES):
        packet = SpacePacket(p.apid_command, n, data, PacketType.TC).pack()
        frame = sdls.apply(TcFrame(p.spacecraft_id, p.tc_vcid, n % 256, packet,
                                   map_id=p.tc_map_id), p.spi)
        out.append(frame + b"\x55" * (p.frame_octets - len(frame)))
    return out

"""A simulated observation payload: an imager producing 16-bit frames, stored as data products.

The scene. Each target name gives a deterministic landscape (seeded by the deployment's seed,
the instance name and the target, through string seeds, which Python hashes with SHA-512, so
runs are reproducible whatever PYTHONHASHSEED): a fractal relief of value noise (four octaves of
bilinearly interpolated random grids), quantized into land-cover classes of different albedo
(the sharp edges of fields and shores), a river, and a few soft bright clouds. The sensor adds
what a real detector adds: vignetting of the optics, a dark level, photon shot noise (Gaussian
of variance = signal in electrons), read noise, a fixed column pattern, a few hot pixels, and
saturation at full scale. Exposure (a parameter) scales the signal. Every capture draws fresh
noise from its own seed, so two captures of one target differ as two real frames do.

Pure standard library (`array`, `random`, `math`); numpy is not a runtime dependency.

The product. A frame is compressed losslessly with CCSDS 121 (`flight.codec.rice_compress`,
16-bit samples, big-endian, J = 16, RSI = 128, unit-delay preprocessing) and stored in the
product store with its metadata: capture time (TAI and UTC), target, frame geometry, exposure,
codec parameters, raw and compressed sizes, compression ratio and the CRC-32C of the raw frame;
the store adds the CRC-32C of the compressed data. `decode_frame` turns a product back into the
frame, bit for bit.
"""

from __future__ import annotations

import math
import random
import re
import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from flight.codec import crc32c, rice_compress, rice_decompress
from flight.runtime.component import Channel, Component, Event, Param, Throttle, Update, command
from flight.runtime.errors import CommandError, ConfigError, ReasonCode
from flight.runtime.records import Severity
from flight.runtime.registry import Registry
from flight.runtime.types import BOOL, F32, U8, U32, String
from flight.svc.products import FileCategory, StoreError
from flight.svc.sctime import component_time, tai_or_none, utc_text
from hal.time import TimeSource

FULL_SCALE: Final = 65535
BITS: Final = 16
BLOCK_SIZE: Final = 16
RSI: Final = 128
CODEC: Final = "CCSDS-121.0-B-3"
DARK_DN: Final = 180.0
READ_NOISE_DN: Final = 3.5
ELECTRONS_PER_DN: Final = 4.0
MAX_SIDE: Final = 4096
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class FrameSpec:
    width: int
    height: int

    def __post_init__(self) -> None:
        for side in (self.width, self.height):
            if type(side) is not int or not 16 <= side <= MAX_SIDE or side % 16:
                raise ValueError(f"frame side {side!r} must be a multiple of 16 in 16..{MAX_SIDE}")


class SceneModel:
    """The radiance a target presents (0..1, before optics and exposure); see the module notes."""

    CACHED: ClassVar[int] = 2  # scenes kept (float32): a pass images one target or two

    def __init__(self, spec: FrameSpec, seed: str) -> None:
        self.spec = spec
        self.seed = seed
        self._scenes: dict[str, array[float]] = {}

    def radiance(self, target: str) -> array[float]:
        scene = self._scenes.pop(target, None)
        if scene is None:
            scene = array("f", self._build(target))
        self._scenes[target] = scene  # most recent last
        while len(self._scenes) > self.CACHED:
            del self._scenes[next(iter(self._scenes))]
        return scene

    def _build(self, target: str) -> array[float]:
        rng = random.Random(f"scene:{self.seed}:{target}")
        w, h = self.spec.width, self.spec.height
        relief = array("d", bytes(8 * w * h))
        amplitude = 1.0
        for cells in (3, 6, 12, 24):
            _add_value_noise(relief, w, h, cells, amplitude, rng)
            amplitude *= 0.5
        lo, hi = min(relief), max(relief)
        span = (hi - lo) or 1.0
        albedo = [rng.uniform(0.08, 0.45) for _ in range(6)]
        water = 0.04
        river_x = [w * rng.uniform(0.2, 0.8)]
        drift = rng.uniform(-0.4, 0.4)
        for _ in range(1, h):
            river_x.append(river_x[-1] + drift + rng.uniform(-0.8, 0.8))
        river_half = max(1.0, w / 90)
        clouds = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(w / 20, w / 7),
                   rng.uniform(0.4, 0.9)) for _ in range(rng.randrange(1, 5))]
        out = array("d", bytes(8 * w * h))
        for y in range(h):
            row = y * w
            rx = river_x[y]
            for x in range(w):
                level = (relief[row + x] - lo) / span
                value = water if level < 0.22 else albedo[min(5, int((level - 0.22) / 0.13))]
                value += 0.08 * (level - 0.5)
                if abs(x - rx) < river_half:
                    value = water
                out[row + x] = value
        for cx, cy, radius, opacity in clouds:
            r2 = 2 * radius * radius
            for y in range(max(0, int(cy - 3 * radius)), min(h, int(cy + 3 * radius) + 1)):
                dy2 = (y - cy) ** 2
                row = y * w
                for x in range(max(0, int(cx - 3 * radius)), min(w, int(cx + 3 * radius) + 1)):
                    cover = opacity * math.exp(-((x - cx) ** 2 + dy2) / r2)
                    out[row + x] = out[row + x] * (1 - cover) + 0.85 * cover
        return out


def _add_value_noise(field: array[float], w: int, h: int, cells: int, amplitude: float,
                     rng: random.Random) -> None:
    """Add a bilinearly interpolated (cells+1)^2 grid of random values to `field`."""
    grid = [[rng.uniform(-amplitude, amplitude) for _ in range(cells + 1)]
            for _ in range(cells + 1)]
    sx = cells / w
    sy = cells / h
    xs = [(int(x * sx), x * sx - int(x * sx)) for x in range(w)]
    for y in range(h):
        gy = y * sy
        j = int(gy)
        fy = gy - j
        top, bottom = grid[j], grid[j + 1]
        row = y * w
        for x in range(w):
            i, fx = xs[x]
            a = top[i] + (top[i + 1] - top[i]) * fx
            b = bottom[i] + (bottom[i + 1] - bottom[i]) * fx
            field[row + x] += a + (b - a) * fy


class Detector:
    """Optics and sensor: vignetting, dark level, noise, column pattern, hot pixels."""

    def __init__(self, spec: FrameSpec, seed: str) -> None:
        self.spec = spec
        rng = random.Random(f"detector:{seed}")
        w, h = spec.width, spec.height
        self.column_dn = [rng.gauss(0.0, 2.0) for _ in range(w)]
        self.hot = {rng.randrange(w * h): rng.uniform(2000, 20000)
                    for _ in range(max(1, w * h // 20000))}
        cx, cy = (w - 1) / 2, (h - 1) / 2
        k = 0.25 / (cx * cx + cy * cy)  # 25% darker in the corners, radially
        self.vignette_x = [k * (x - cx) ** 2 for x in range(w)]
        self.vignette_y = [k * (y - cy) ** 2 for y in range(h)]

    def expose(self, radiance: array[float], exposure_ms: float,
               rng: random.Random) -> array[int]:
        """The 16-bit frame for `radiance` after `exposure_ms` (`full_well` DN at 1.0, 20 ms)."""
        w = self.spec.width
        scale = FULL_SCALE * 0.9 * exposure_ms / 20.0
        gauss = rng.gauss
        columns = self.column_dn
        vx, vy = self.vignette_x, self.vignette_y
        frame = array("H", bytes(2 * len(radiance)))
        for i, value in enumerate(radiance):
            signal = value * (1.0 - vx[i % w] - vy[i // w]) * scale
            electrons_sigma = math.sqrt(signal * ELECTRONS_PER_DN) / ELECTRONS_PER_DN if (
                signal > 0) else 0.0
            dn = DARK_DN + columns[i % w] + signal + gauss(0.0, 1.0) * math.hypot(
                electrons_sigma, READ_NOISE_DN)
            frame[i] = 0 if dn < 0 else FULL_SCALE if dn > FULL_SCALE else int(dn)
        for index, extra in self.hot.items():
            frame[index] = min(FULL_SCALE, frame[index] + int(extra))
        return frame


def frame_octets(frame: array[int]) -> bytes:
    """The frame's samples big-endian, as `rice_compress` takes them with `msb_first`."""
    if sys.byteorder == "little":
        frame = array("H", frame)
        frame.byteswap()
    return frame.tobytes()


def compress_frame(frame: array[int]) -> bytes:
    return rice_compress(frame_octets(frame), bits=BITS, block_size=BLOCK_SIZE, rsi=RSI)


def decode_frame(data: bytes, meta: Mapping[str, Any]) -> array[int]:
    """The frame of a stored image product, bit for bit (its raw CRC-32C is checked)."""
    count = int(meta["width"]) * int(meta["height"])
    raw = rice_decompress(data, count=count, bits=int(meta["bits"]),
                          block_size=int(meta["block_size"]), rsi=int(meta["rsi"]))
    actual = crc32c(raw)
    if actual != int(meta["raw_crc32c"]):
        raise ValueError(f"decoded frame CRC-32C 0x{actual:08X}, product says "
                         f"0x{int(meta['raw_crc32c']):08X}")
    frame = array("H", raw)
    if sys.byteorder == "little":
        frame.byteswap()
    return frame


class Imager(Component):
    """The observation payload: captures, compresses and stores frames on command."""

    powered = Channel(1, BOOL, update=Update.ON_CHANGE, doc="imager powered")
    captures = Channel(2, U32, update=Update.ON_CHANGE, doc="frames captured and stored")
    failures = Channel(3, U32, update=Update.ON_CHANGE, doc="captures that could not be stored")
    last_ratio = Channel(4, F32, update=Update.ON_CHANGE,
                         doc="compression ratio of the last product (raw / compressed)")
    last_octets = Channel(5, U32, unit="B", update=Update.ON_CHANGE,
                          doc="size of the last product")
    last_file_id = Channel(6, U32, update=Update.ON_CHANGE, doc="file ID of the last product")

    exposure_ms = Param(1, F32(min=0.1, max=200.0), 10.0, doc="exposure time (ms)")

    captured = Event(1, Severity.ACTIVITY_HI,
                     "captured {target}: file {file_id}, {octets} octets, ratio {ratio:.2f}",
                     throttle=None, target=String(32), file_id=U32, octets=U32, ratio=F32)
    capture_failed = Event(2, Severity.WARNING_HI, "capture of {target} failed: {detail}",
                           throttle=Throttle(10, 60.0), target=String(32), detail=String(120))
    power_set = Event(3, Severity.ACTIVITY_HI, "imager power {on}", throttle=None, on=BOOL)

    def __init__(self, name: str, base_id: int) -> None:
        super().__init__(name, base_id)
        self.spec = FrameSpec(256, 256)
        self.store_name = "store"
        self.is_powered = False
        self.store: Any = None
        self.time: TimeSource | None = None
        self.scene: SceneModel | None = None
        self.detector: Detector | None = None
        self._captures = 0
        self._failures = 0

    def configure(self, config: Mapping[str, Any]) -> None:
        width, height = self.spec.width, self.spec.height
        for key, value in config.items():
            if key == "width":
                width = value
            elif key == "height":
                height = value
            elif key == "store":
                if type(value) is not str or not value.isidentifier():
                    raise ConfigError(key, f"{value!r} must be a component instance name")
                self.store_name = value
            elif key == "powered":
                if type(value) is not bool:
                    raise ConfigError(key, "must be true or false")
                self.is_powered = value
            else:
                raise ConfigError(key, "unknown setting (known: width, height, store, powered)")
        try:
            self.spec = FrameSpec(width, height)
        except ValueError as exc:
            raise ConfigError("width" if "width" in config else "height", str(exc)) from None

    def registry_ready(self, registry: Registry) -> None:
        self.store = registry.components.get(self.store_name)
        if self.store is None or not callable(getattr(self.store, "write", None)):
            raise ConfigError("store", f"no product store named {self.store_name!r}")
        seed = f"{self.context.seed}:{self.name}"
        self.scene = SceneModel(self.spec, seed)
        self.detector = Detector(self.spec, seed)  # small: per-column and per-row terms

    def init(self) -> None:
        self.time = component_time(self)
        self.tlm(self.powered, self.is_powered)

    def capture_frame(self, target: str) -> array[int]:
        """Expose one frame of `target` (the next in this imager's sequence of captures)."""
        assert self.scene is not None and self.detector is not None
        rng = random.Random(f"noise:{self.context.seed}:{self.name}:{target}:{self._captures}")
        return self.detector.expose(self.scene.radiance(target), self.exposure_ms, rng)

    @command(1, on=BOOL)
    def power(self, on: bool) -> None:
        """Switch the imager on or off."""
        self.is_powered = on
        self.tlm(self.powered, on)
        self.emit(self.power_set, on)

    @command(2, target=String(32), priority=U8)
    def capture(self, target: str, priority: int) -> None:
        """Capture a frame of `target` and store it as a product of `priority` (0..255)."""
        if not self.is_powered:
            raise CommandError(ReasonCode.EXECUTION_FAILED, "the imager is off")
        tai = tai_or_none(self.time) if self.time is not None else None
        frame = self.capture_frame(target)
        raw = frame_octets(frame)
        data = compress_frame(frame)
        ratio = len(raw) / len(data)
        meta = {
            "kind": "image", "target": target, "capture_tai": tai,
            "capture_utc": utc_text(tai) if tai is not None else None,
            "width": self.spec.width, "height": self.spec.height, "bits": BITS,
            "exposure_ms": self.exposure_ms, "codec": CODEC, "block_size": BLOCK_SIZE,
            "rsi": RSI, "preprocess": True, "byte_order": "big", "raw_octets": len(raw),
            "compressed_octets": len(data), "ratio": round(ratio, 4),
            "raw_crc32c": crc32c(raw),
        }
        stamp = utc_text(tai)[:19].replace(":", "").replace("-", "") if tai is not None else (
            f"m{self.now():.0f}")
        path = f"img/{stamp}-{_SAFE.sub('_', target) or 'target'}-{self._captures:05d}.r121"
        try:
            info = self.store.write(path, data, category=FileCategory.PRODUCT, priority=priority,
                                    meta=meta)
        except StoreError as exc:
            self._failures += 1
            self.tlm(self.failures, self._failures)
            self.emit(self.capture_failed, target, str(exc)[:120])
            raise CommandError(exc.reason, str(exc)) from None
        self._captures += 1
        self.tlm(self.captures, self._captures)
        self.tlm(self.last_ratio, ratio)
        self.tlm(self.last_octets, len(data))
        self.tlm(self.last_file_id, info.file_id)
        self.emit(self.captured, target, info.file_id, len(data), ratio)

"""The simulated imager: deterministic realistic frames, capture -> compressed product ->
decompressed bit for bit, captures by command and by schedule."""

from __future__ import annotations

import random
import statistics

import imagecodecs
import pytest

from flight.codec import crc32c
from flight.payload.imager import (
    FULL_SCALE,
    Detector,
    FrameSpec,
    SceneModel,
    compress_frame,
    decode_frame,
    frame_octets,
)
from flight.runtime.errors import ConfigError, ReasonCode
from flight.runtime.records import Stage
from flight.svc.products import FileCategory

from .services_rig import T0, build, events_named, hit, new_disk, send

SPEC = FrameSpec(64, 48)


def frame(seed="s", target="lake", exposure=10.0, noise=1):
    return Detector(SPEC, seed).expose(SceneModel(SPEC, seed).radiance(target), exposure,
                                       random.Random(noise))


def test_frames_are_deterministic_and_differ_by_seed_target_and_noise():
    assert frame() == frame()
    assert frame() != frame(noise=2)
    assert frame() != frame(target="desert")
    assert frame() != frame(seed="other")
    assert len(frame()) == 64 * 48 and frame().typecode == "H"


def test_frames_have_structure_noise_and_respond_to_exposure():
    f = frame()
    values = list(f)
    assert 0 <= min(values) and max(values) <= FULL_SCALE
    assert statistics.pstdev(values) > 500  # a scene, not a flat field
    a, b = frame(noise=1), frame(noise=2)
    diff = [x - y for x, y in zip(a, b, strict=True)]
    assert 5 < statistics.pstdev(diff) < 500  # two exposures differ by noise only
    brighter = frame(exposure=20.0)
    assert statistics.mean(brighter) > 1.8 * statistics.mean(f) - 400
    saturated = frame(exposure=200.0)
    assert max(saturated) == FULL_SCALE


def test_compressed_frame_decompresses_bit_exact_and_libaec_decodes_it():
    f = frame()
    data = compress_frame(f)
    raw = frame_octets(f)
    assert len(data) < len(raw)
    meta = {"width": 64, "height": 48, "bits": 16, "block_size": 16, "rsi": 128,
            "raw_crc32c": crc32c(raw)}
    assert decode_frame(data, meta) == f
    # the product is a standard CCSDS 121 stream: libaec decodes it to the same samples
    aec_msb, aec_preprocess = 4, 8
    decoded = imagecodecs.aec_decode(data, bitspersample=16, flags=aec_preprocess | aec_msb,
                                     blocksize=16, rsi=128, out=len(raw))
    assert bytes(decoded) == raw
    with pytest.raises(ValueError, match="CRC-32C"):
        decode_frame(data, {**meta, "raw_crc32c": meta["raw_crc32c"] ^ 1})


def test_capture_by_command_stores_a_product_that_decodes_bit_exact():
    rt = build(new_disk())
    imager = rt.components["imager"]
    assert send(rt, "imager.capture", "lake", 3).reason is ReasonCode.EXECUTION_FAILED  # off
    assert send(rt, "imager.power", True).stage is Stage.COMPLETED
    rt.run(2.0)
    assert send(rt, "imager.capture", "lake", 3).stage is Stage.COMPLETED
    (product,) = rt.components["store"].file_list()
    assert product.category is FileCategory.PRODUCT and product.priority == 3
    assert product.path == "img/20250320T000002-lake-00000.r121"
    meta = product.meta
    assert meta["capture_tai"] == T0 + 2.0 and meta["capture_utc"].startswith("2025-03-20T00:00:02")
    assert (meta["width"], meta["height"], meta["bits"]) == (64, 48, 16)
    assert meta["raw_octets"] == 64 * 48 * 2
    assert meta["compressed_octets"] == product.size
    assert meta["ratio"] == pytest.approx(meta["raw_octets"] / product.size, rel=1e-3)
    data = rt.components["store"].read(product.path)
    assert crc32c(data) == product.crc32c
    decoded = decode_frame(data, meta)
    expected = imager.detector.expose(imager.scene.radiance("lake"), 10.0,
                                      random.Random("noise:5:imager:lake:0"))
    assert decoded == expected
    assert rt.telemetry.get("imager.captures") == 1
    assert rt.telemetry.get("imager.last_file_id") == product.file_id
    assert rt.telemetry.get("imager.last_ratio") == pytest.approx(meta["ratio"], rel=1e-3)
    assert events_named(rt, "imager.captured")[0].args[:2] == ("lake", product.file_id)


def test_captures_by_schedule_and_sequence_and_a_full_store_is_a_failure():
    rt = build(new_disk(), store={"quota_bytes": 12_000},
               seq={"sequences": {"pass": '+0 imager.power true\n+1 imager.capture "b" 0\n'}})
    sched = rt.components["sched"]
    sched.insert_many([(T0 + 3.0, rt.command("seq.start", "pass")),
                       (T0 + 5.0, rt.command("imager.capture", "c", 0)),
                       (T0 + 6.0, hit(rt, 1))])
    rt.run(8.0)
    products = rt.components["store"].file_list()
    assert [p.meta["target"] for p in products] == ["b", "c"]
    assert [round(p.meta["capture_tai"] - T0, 6) for p in products] == [4.0, 5.0]
    assert rt.components["probe"].hits  # the schedule went on
    # protected products fill the quota: the next capture fails with an event
    assert send(rt, "imager.capture", "d", 0).reason is ReasonCode.STORAGE_ERROR
    assert events_named(rt, "imager.capture_failed")[0].args[0] == "d"
    assert rt.telemetry.get("imager.failures") == 1


def test_exposure_is_a_parameter():
    rt = build(new_disk(), imager={"powered": True})
    exposure = rt.registry.param("imager.exposure_ms").param_id
    send(rt, "imager.capture", "lake", 3)
    assert send(rt, "prmdb.set_param", exposure, 40.0).stage is Stage.COMPLETED
    send(rt, "imager.capture", "lake", 3)
    assert send(rt, "prmdb.set_param", exposure, 500.0).reason is ReasonCode.OUT_OF_RANGE
    short, long = rt.components["store"].file_list()
    assert (short.meta["exposure_ms"], long.meta["exposure_ms"]) == (10.0, 40.0)
    dim = decode_frame(rt.components["store"].read(short.file_id), short.meta)
    bright = decode_frame(rt.components["store"].read(long.file_id), long.meta)
    assert statistics.mean(bright) > 3 * statistics.mean(dim)


def test_configuration_is_checked():
    with pytest.raises(ConfigError, match="multiple of 16"):
        build(new_disk(), imager={"width": 50}, boot=False)
    with pytest.raises(ConfigError, match="unknown setting"):
        build(new_disk(), imager={"colour": True}, boot=False)
    with pytest.raises(ConfigError, match="nowhere"):
        build(new_disk(), imager={"store": "nowhere"}, boot=False).prepare()


def test_refsat_runs_a_scheduled_imaging_campaign_and_keeps_the_images():
    from flight.deployments import resolve
    from flight.runtime.deployment import Deployment
    from hal.clock import SimClock

    dep = Deployment.load(resolve("refsat"))
    disk = new_disk()
    rt = dep.build(clock=SimClock(), bindings={"nvm": disk})
    dep.boot(rt)
    cmd = rt.components["cmd"]
    for start in (60.0, 130.0):
        entry = rt.command("seq.start", "payload_pass").pack()
        assert cmd.dispatch(rt.command("sched.insert", T0 + start, entry)).stage is Stage.COMPLETED
    rt.run(200.0)
    store = rt.components["store"]
    images = [f for f in store.file_list() if f.category is FileCategory.PRODUCT]
    assert [round(f.meta["capture_tai"] - T0, 6) for f in images] == [62.0, 132.0]
    for image in images:
        frame = decode_frame(store.read(image.file_id), image.meta)
        assert len(frame) == 256 * 256 and image.meta["ratio"] > 1.2
    assert rt.telemetry.get("imager.captures") == 2 and rt.telemetry.get("imager.powered") is False
    assert rt.telemetry.get("sched.dispatched") == 2 and rt.telemetry.get("seq.completed") == 2
    rt.shutdown()
    # after a reset the images, and the housekeeping recorded meanwhile, are still there
    again = dep.build(clock=SimClock(), bindings={"nvm": disk})
    dep.boot(again)
    kept = again.components["store"].file_list()
    assert [f.file_id for f in kept if f.category is FileCategory.PRODUCT] == [
        f.file_id for f in images]
    assert any(f.category is FileCategory.HOUSEKEEPING for f in kept)

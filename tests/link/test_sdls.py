"""SDLS: AES-GCM known answers in the frame, key management, anti-replay, FSR, and the uplink
path under attack (forged, replayed, bit-flipped and wrong-key telecommands)."""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.codec import crc16
from flight.link.errors import FieldValueError
from flight.link.farm import FarmEvent
from flight.link.fop import Fop1
from flight.link.keystore import (
    KeyManagementError,
    KeyState,
    KeyStore,
    StorageBlobs,
    wrap_key,
)
from flight.link.sdls import (
    BadMacError,
    InactiveSaError,
    KeyExhaustedError,
    RejectReason,
    ReplayError,
    SaParameters,
    Sdls,
    SecurityHeaderError,
    ServiceType,
    UnknownSpiError,
)
from flight.link.spacepacket import PacketType, SpacePacket
from flight.link.tcframe import TcFrame
from flight.link.uplink import Rejected, TcUplink, UplinkChannel
from hal.clock import SimClock
from hal.storage import SimBackend, Storage

SCID = 0x0AB
MASTER_ID, KEY_ID = 1, 10
MASTER = bytes(range(32))
SESSION = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
AE, AUTH = ServiceType.AUTHENTICATED_ENCRYPTION, ServiceType.AUTHENTICATION


def key_store(session: bytes = SESSION, storage=None) -> KeyStore:
    keys = KeyStore(storage if storage is not None else StorageBlobs(Storage(SimBackend())))
    keys.install_master(MASTER_ID, MASTER)
    keys.load_wrapped(KEY_ID, wrap_key(MASTER, session), MASTER_ID)
    keys.activate(KEY_ID)
    return keys


def endpoint(session: bytes = SESSION, random_bytes=os.urandom) -> Sdls:
    sdls = Sdls(key_store(session), random_bytes=random_bytes)
    for spi, service, vcid in ((1, AE, 1), (2, AUTH, 2), (3, AE, 2)):
        sdls.add(SaParameters(spi, service, SCID, vcid, KEY_ID))
        sdls.start(spi)
    return sdls


def uplink(sdls: Sdls) -> TcUplink:
    return TcUplink(SCID, [UplinkChannel(1, segmented=True), UplinkChannel(2, segmented=False)],
                    sdls=sdls)


def command(n: int) -> bytes:
    return SpacePacket(0x42, n % 16384, f"cmd {n}".encode(), PacketType.TC).pack()


# ---------------------------------------------------------------- known answers


def test_gcm_known_answers_256_bit_keys() -> None:
    """McGrew & Viega test cases 13, 14 and 16 (the NIST GCM vectors), 256-bit key, 96-bit IV."""
    zero = AESGCM(bytes(32))
    assert zero.encrypt(bytes(12), b"", None).hex() == "530f8afbc74536b9a963b4f1c4cb738b"
    assert zero.encrypt(bytes(12), bytes(16), None).hex() == (
        "cea7403d4d606b6e074ec5d3baf39d18" "d0d1c8a799996bf0265b98b5d48ab919")
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    plain = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    aad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    assert AESGCM(SESSION).encrypt(iv, plain, aad).hex() == (
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        "76fc6ece0f4e1768cddf8853bb2d551b")


def test_frame_layout_places_iv_ciphertext_and_tag_as_the_vectors_say() -> None:
    iv = bytes.fromhex("cafebabefacedbaddecaf888")
    plain = bytes.fromhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    ground = endpoint(random_bytes=lambda n: iv)
    octets = ground.apply(TcFrame(SCID, 1, 7, plain, map_id=3), spi=1)
    # primary header 5 | segment header 1 | SPI 2 | IV 12 | ARSN 4 | ciphertext | tag 16 | FECF 2
    assert len(octets) == 5 + 1 + 2 + 12 + 4 + len(plain) + 16 + 2
    assert octets[6:8] == b"\x00\x01" and octets[8:20] == iv
    assert octets[20:24] == b"\x00\x00\x00\x01"
    ciphertext, tag = octets[24:-18], octets[-18:-2]
    assert ciphertext.hex() == (  # test case 16's C: the ciphertext does not depend on the AAD
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
    assert AESGCM(SESSION).decrypt(iv, ciphertext + tag, octets[:24]) == plain  # AAD = headers
    assert octets[5] == 0b11_000011  # segment header: unsegmented, MAP 3
    board = uplink(endpoint())
    board.farms[1].v_r = 7
    assert board.receive(octets) == FarmEvent.AD_ACCEPTED
    assert board.farms[1].take().data == plain


def test_authentication_only_is_gmac_over_headers_and_data() -> None:
    iv = bytes(range(12))
    ground = endpoint(random_bytes=lambda n: iv)
    octets = ground.apply(TcFrame(SCID, 2, 0, b"plain command"), spi=2)
    header_end = 5 + 2 + 12 + 4
    assert octets[header_end:-18] == b"plain command"
    assert AESGCM(SESSION).encrypt(iv, b"", octets[:-18]) == octets[-18:-2]


def test_encryption_only_and_clear_services_round_trip() -> None:
    ground, board = endpoint(), endpoint()
    for sdls in (ground, board):
        sdls.add(SaParameters(20, ServiceType.ENCRYPTION, SCID, 5, KEY_ID, mac_length=0))
        sdls.add(SaParameters(21, ServiceType.CLEAR, SCID, 6, KEY_ID, iv_length=0, mac_length=0))
        sdls.start(20)
        sdls.start(21)
    for spi, vcid in ((20, 5), (21, 6)):
        octets = ground.apply(TcFrame(SCID, vcid, 0, b"secret"), spi)
        assert (b"secret" in octets) == (spi == 21)
        frame = TcFrame.unpack(octets)
        assert board.process(frame, octets).frame.data == b"secret"


# ---------------------------------------------------------------- security associations


def test_sa_parameter_checks() -> None:
    with pytest.raises(FieldValueError):
        SaParameters(0, AE, SCID, 1)
    with pytest.raises(FieldValueError):
        SaParameters(1, AE, SCID, 1, iv_length=16)
    with pytest.raises(FieldValueError):
        SaParameters(1, AE, SCID, 1, mac_length=8)
    with pytest.raises(FieldValueError):
        SaParameters(1, ServiceType.CLEAR, SCID, 1)
    with pytest.raises(FieldValueError):
        SaParameters(1, AE, SCID, 1, sequence_number_length=9)
    assert SaParameters(1, AE, SCID, 1).overhead_octets == 2 + 12 + 4 + 16


def test_sender_refuses_inactive_sa_exhausted_sequence_and_wrong_channel() -> None:
    ground = endpoint()
    with pytest.raises(UnknownSpiError):
        ground.apply(TcFrame(SCID, 2, 0, b"x"), spi=1)
    ground.stop(1)
    with pytest.raises(InactiveSaError):
        ground.apply(TcFrame(SCID, 1, 0, b"x"), spi=1)
    ground.add(SaParameters(9, AE, SCID, 9, KEY_ID, sequence_number_length=1))
    ground.start(9)
    for _ in range(255):
        ground.apply(TcFrame(SCID, 9, 0, b"x"), spi=9)
    with pytest.raises(KeyExhaustedError):
        ground.apply(TcFrame(SCID, 9, 0, b"x"), spi=9)


def test_random_ivs_differ_and_sequence_numbers_count() -> None:
    ground = endpoint()
    frames = [ground.apply(TcFrame(SCID, 1, i, b"same"), spi=1) for i in range(200)]
    ivs = {f[7:19] for f in frames}  # no segment header: SPI 5:7, IV 7:19, ARSN 19:23
    assert len(ivs) == 200
    assert [int.from_bytes(f[19:23], "big") for f in frames] == list(range(1, 201))


def test_anti_replay_window_accepts_late_frames_once() -> None:
    ground, board = endpoint(), endpoint()
    frames = [ground.apply(TcFrame(SCID, 2, 0, b"x", bypass=True), spi=2) for _ in range(100)]

    def deliver(octets: bytes):
        verified = board.process(TcFrame.unpack(octets), octets)
        board.commit(verified)
        return verified.sequence_number

    assert deliver(frames[10]) == 11
    assert deliver(frames[3]) == 4  # late, inside the 64-frame window: accepted once
    with pytest.raises(ReplayError):
        deliver(frames[3])
    assert deliver(frames[99]) == 100
    with pytest.raises(ReplayError) as info:
        deliver(frames[20])  # 80 behind: outside the window
    assert (info.value.sequence_number, info.value.highest) == (21, 100)
    assert deliver(frames[50]) == 51
    assert board.rejections == {RejectReason.REPLAY: 2}


def test_uncommitted_sequence_numbers_pass_again() -> None:
    """A frame FARM-1 discarded comes back verbatim from FOP-1 and must verify again."""
    ground, board = endpoint(), endpoint()
    octets = ground.apply(TcFrame(SCID, 2, 0, b"x"), spi=2)
    frame = TcFrame.unpack(octets)
    board.process(frame, octets)
    verified = board.process(frame, octets)
    board.commit(verified)
    with pytest.raises(ReplayError):
        board.process(frame, octets)


def test_frame_security_report() -> None:
    ground, board = endpoint(), endpoint()
    good = ground.apply(TcFrame(SCID, 2, 0, b"x"), spi=2)
    board.commit(board.process(TcFrame.unpack(good), good))
    word = board.fsr()
    assert word >> 28 == 0b1100 and (word >> 24) & 0xF == 0  # type 1, version 100, no flags
    assert (word >> 8) & 0xFFFF == 2 and word & 0xFF == 1
    forged = bytearray(good)
    forged[-5] ^= 1
    with pytest.raises(BadMacError):
        frame = TcFrame(SCID, 2, 0, bytes(forged[5:-2]))
        board.process(frame, frame.pack())
    with pytest.raises(ReplayError):
        board.process(TcFrame.unpack(good), good)
    word = board.fsr()
    assert (word >> 24) & 0xF == 0b1110  # alarm, bad SN, bad MAC, SA fine
    assert (board.fsr() >> 24) & 0xF == 0  # flags cover the time since the last report


# ---------------------------------------------------------------- keys


def test_key_lifecycle_and_persistence_across_power_loss() -> None:
    backend = SimBackend()
    keys = key_store(storage=StorageBlobs(Storage(backend)))
    keys.load_wrapped(11, wrap_key(MASTER, bytes(32)), MASTER_ID)
    assert keys.states() == {MASTER_ID: KeyState.ACTIVE, KEY_ID: KeyState.ACTIVE,
                             11: KeyState.PRE_ACTIVE}
    keys.deactivate(KEY_ID)
    keys.destroy(11)
    backend.power_loss(random.Random(1))
    reloaded = KeyStore(StorageBlobs(Storage(backend)))
    assert reloaded.states() == {MASTER_ID: KeyState.ACTIVE, KEY_ID: KeyState.DEACTIVATED,
                                 11: KeyState.DESTROYED}
    assert bytes(32) not in backend.read("sdls-key-00011")
    assert reloaded.cipher(KEY_ID) is None
    with pytest.raises(KeyManagementError):
        reloaded.activate(KEY_ID)  # a deactivated key never comes back
    with pytest.raises(KeyManagementError):
        reloaded.destroy(11)


def test_a_damaged_key_record_costs_that_key_only() -> None:
    backend = SimBackend()
    keys = key_store(storage=StorageBlobs(Storage(backend)))
    keys.load_wrapped(11, wrap_key(MASTER, bytes(32)), MASTER_ID)
    backend.write("sdls-key-00011", b"garbage that fails the storage CRC")
    Storage(backend).save("sdls-key-00001", b"\x07\x02\x01short")
    reloaded = KeyStore(StorageBlobs(Storage(backend)))
    assert reloaded.states() == {KEY_ID: KeyState.ACTIVE}
    assert reloaded.unreadable == ["sdls-key-00001", "sdls-key-00011"]


def test_key_commands_refuse_what_they_must() -> None:
    keys = key_store()
    with pytest.raises(KeyManagementError):
        keys.load_wrapped(KEY_ID, wrap_key(MASTER, bytes(32)), MASTER_ID)  # ID in use
    with pytest.raises(KeyManagementError):
        keys.load_wrapped(12, wrap_key(bytes(32), bytes(32)), MASTER_ID)  # wrong master
    with pytest.raises(KeyManagementError):
        keys.load_wrapped(12, wrap_key(MASTER, bytes(32)), KEY_ID)  # not a master
    with pytest.raises(KeyManagementError):
        keys.load_wrapped(12, b"short", MASTER_ID)
    with pytest.raises(KeyManagementError):
        keys.activate(KEY_ID)  # already active
    with pytest.raises(KeyManagementError):
        keys.activate(MASTER_ID)  # masters are not session keys
    assert keys.state(12) is None


def test_keys_never_appear_in_reprs_or_errors() -> None:
    keys = key_store()
    sdls = endpoint()
    texts = [repr(keys), repr(sdls), repr(sdls.association(1)), str(keys.states()),
             repr(keys._keys[KEY_ID].material)]
    try:
        keys.load_wrapped(12, wrap_key(bytes(32), SESSION), MASTER_ID)
    except KeyManagementError as error:
        texts.append(str(error))
    for secret in (SESSION, MASTER):
        for form in (secret.hex(), repr(secret), secret.hex().upper()):
            assert all(form not in text for text in texts)


def test_inactive_key_rejects_frames() -> None:
    ground, board = endpoint(), endpoint()
    octets = ground.apply(TcFrame(SCID, 1, 0, b"x", map_id=0), spi=1)
    board.keys.deactivate(KEY_ID)
    link = uplink(board)
    outcome = link.receive(octets)
    assert isinstance(outcome, Rejected) and outcome.reason == RejectReason.INACTIVE_SA


# ---------------------------------------------------------------- the uplink under attack


def flip(octets: bytes, bit: int) -> bytes:
    damaged = bytearray(octets)
    damaged[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(damaged)


def _crc(body: bytes) -> bytes:
    return crc16(body).to_bytes(2, "big")


def refecf(octets: bytes) -> bytes:
    """What an attacker does after tampering: the FECF is a checksum, not a seal."""
    return octets[:-2] + _crc(octets[:-2])


def test_ten_thousand_hostile_telecommands_none_accepted_each_counted() -> None:
    rng = random.Random(5)
    ground, board = endpoint(), endpoint()
    intruder = endpoint(session=bytes(rng.randbytes(32)))
    link = uplink(board)
    expected: Counter[RejectReason] = Counter()
    legit: list[bytes] = []
    delivered: list[bytes] = []

    def legit_frame(vcid: int) -> bytes:
        n = len(legit)
        spi = 1 if vcid == 1 else 2
        frame = TcFrame(SCID, vcid, link.farms[vcid].v_r, command(n),
                        map_id=0 if vcid == 1 else None)
        return ground.apply(frame, spi)

    def hostile(octets: bytes, reason: RejectReason) -> None:
        outcome = link.receive(octets)
        assert isinstance(outcome, Rejected) and outcome.reason == reason, (outcome, reason)
        expected[reason] += 1

    for round_number in range(700):
        vcid = 1 + round_number % 2
        octets = legit_frame(vcid)
        header_end = 5 + (vcid == 1) + 2 + 12 + 4
        for _ in range(3):  # tampered anywhere past the SPI, FECF fixed up: the MAC catches it
            bit = rng.randrange((5 + (vcid == 1) + 2) * 8, (len(octets) - 2) * 8)
            hostile(refecf(flip(octets, bit)), RejectReason.BAD_MAC)
        # tampered in the authenticated primary header (bypass flag, sequence number)
        hostile(refecf(flip(octets, 2)), RejectReason.BAD_MAC)
        hostile(refecf(flip(octets, 39)), RejectReason.BAD_MAC)
        # forged: a plausible frame with a random security header, data and MAC
        body = rng.randbytes(len(octets) - 2 - header_end + 16)
        forged = octets[: header_end - 16] + body
        hostile(forged + _crc(forged), RejectReason.BAD_MAC)
        # the same command under a key the intruder made up
        hostile(_wrong_key(intruder, link, vcid, len(legit)), RejectReason.BAD_MAC)
        # damaged in transit, FECF left alone (anywhere but the length field: bits 22-31)
        bit = rng.choice([rng.randrange(0, 22), rng.randrange(32, (len(octets) - 2) * 8)])
        hostile(flip(octets, bit), RejectReason.BAD_FECF)
        hostile(flip(octets, rng.randrange(22, 32)), RejectReason.MALFORMED)
        # addressed elsewhere, unknown SPI, malformed
        other = TcFrame(SCID ^ 1, vcid, 0, octets[5:-2]).pack()
        hostile(other, RejectReason.WRONG_SCID)
        hostile(TcFrame(SCID, 9, 0, octets[5:-2]).pack(), RejectReason.WRONG_VCID)
        spi_at = 5 + (vcid == 1)
        unknown = (octets[:spi_at] + (0x700 + round_number).to_bytes(2, "big")
                   + octets[spi_at + 2 :])
        hostile(unknown[:-2] + _crc(unknown[:-2]), RejectReason.UNKNOWN_SPI)
        hostile(TcFrame(SCID, vcid, 0, octets[5:25]).pack(), RejectReason.MALFORMED)
        hostile(octets[:-3], RejectReason.MALFORMED)
        # the real one, once: accepted; every replay of it: rejected
        assert link.receive(octets) == FarmEvent.AD_ACCEPTED
        legit.append(octets)
        delivered += [packet.pack() for _, packet in link.take_packets()]
        for old in rng.sample(legit, min(3, len(legit))):
            hostile(old, RejectReason.REPLAY)
    assert sum(expected.values()) >= 10_000
    assert link.rejections == expected
    assert delivered == [command(n) for n in range(700)]
    farm_frames = sum(sum(farm.counts.values()) for farm in link.farms.values())
    assert farm_frames == 700  # nothing hostile ever reached FARM-1


def _wrong_key(intruder: Sdls, link: TcUplink, vcid: int, n: int) -> bytes:
    frame = TcFrame(SCID, vcid, link.farms[vcid].v_r, command(n),
                    map_id=0 if vcid == 1 else None)
    return intruder.apply(frame, 1 if vcid == 1 else 2)


def test_random_frames_never_crash_the_uplink() -> None:
    rng = random.Random(6)
    link = uplink(endpoint())
    for _ in range(3000):
        outcome = link.receive(rng.randbytes(rng.randrange(0, 1100)))
        assert isinstance(outcome, Rejected)
    assert link.take_packets() == []


def test_cop1_with_sdls_over_a_lossy_link_delivers_exactly_once_in_order() -> None:
    rng = random.Random(7)
    clock = SimClock()
    ground, board = endpoint(), endpoint()
    link = TcUplink(SCID, [UplinkChannel(1, farm_window=20)], sdls=board)
    fop = Fop1(SCID, 1, clock, window_width=10, t1_initial_s=0.5, transmission_limit=50,
               map_id=0, encoder=lambda frame: ground.apply(frame, spi=1))
    fop.initiate_ad()
    for n in range(300):
        fop.transmit_ad(command(n), tag=n)
    delivered = []
    for _ in range(20_000):
        for octets in fop.take_frames():
            if rng.random() >= 0.1:
                outcome = link.receive(octets)
                assert not isinstance(outcome, Rejected) or outcome.reason == RejectReason.REPLAY
        delivered += [packet.pack() for _, packet in link.take_packets()]
        if rng.random() >= 0.1:
            fop.on_clcw(link.clcw(1))
        clock.advance(0.1)
        fop.poll()
        assert fop.take_alerts() == []
        if len(delivered) == 300 and fop.status().sent_queue == 0:
            break
    assert delivered == [command(n) for n in range(300)]
    assert link.farms[1].counts[FarmEvent.AD_POSITIVE_WINDOW] > 0


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_frames_with_fixed_fecf_never_crash_or_pass(data: st.DataObject) -> None:
    ground, board = endpoint(), endpoint()
    link = uplink(board)
    vcid = data.draw(st.sampled_from([1, 2]))
    frame = TcFrame(SCID, vcid, 0, command(1), map_id=0 if vcid == 1 else None)
    octets = bytearray(ground.apply(frame, 1 if vcid == 1 else 2))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(octets) - 3))
        octets[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, 3))
    tampered = bytes(octets[: len(octets) - 2 - cut])
    outcome = link.receive(tampered + _crc(tampered))
    assert isinstance(outcome, Rejected) or link.farms[vcid].v_r == 1
    if not isinstance(outcome, Rejected):  # only an untouched frame gets through
        assert tampered == bytes(octets[:-2]) and link.take_packets()[0][1].pack() == command(1)


def test_security_header_too_short_is_malformed() -> None:
    board = endpoint()
    frame = TcFrame(SCID, 2, 0, b"\x00\x02" + bytes(20))
    with pytest.raises(SecurityHeaderError):
        board.process(frame, frame.pack())
    frame = TcFrame(SCID, 2, 0, b"\x00")
    with pytest.raises(SecurityHeaderError):
        board.process(frame, frame.pack())

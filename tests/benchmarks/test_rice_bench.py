"""CCSDS 121 Rice coding of a 2048x2048 16-bit image against libaec (imagecodecs.aec_*).

Issue 2: rice_compress and rice_decompress each at least 0.8x libaec's speed with the same
parameters, and output no more than 1% larger. Both sides get the same big-endian samples and
the same parameters (J = 16, RSI = 128 blocks, preprocessing on, AEC_DATA_MSB).
"""

from __future__ import annotations

import imagecodecs
import numpy as np
import pytest

from flight.codec import rice_compress, rice_decompress

SIDE = 2048
PARAMETERS = {"bits": 16, "block_size": 16, "rsi": 128, "preprocess": True, "signed": False,
              "msb_first": True}
AEC_DATA_MSB, AEC_DATA_PREPROCESS = 4, 8
LIBAEC = {"bitspersample": 16, "flags": AEC_DATA_PREPROCESS | AEC_DATA_MSB, "blocksize": 16,
          "rsi": 128}


def observation_image(seed: int = 121) -> np.ndarray:
    """Smooth gradients and bright/dark blobs plus Gaussian noise (sigma 12: ~5.6 bits)."""
    rng = np.random.default_rng(seed)
    axis = np.arange(SIDE, dtype=np.float64)
    image = (
        9000.0
        + 3000.0 * np.sin(axis / 310.0)[None, :]
        + 2000.0 * np.cos(axis / 470.0)[:, None]
        + 0.8 * (axis[:, None] + axis[None, :])
    )
    for _ in range(60):
        cx, cy = rng.uniform(0, SIDE, 2)
        width = rng.uniform(15, 220)
        amplitude = rng.uniform(-4000, 12000)
        image += amplitude * np.outer(
            np.exp(-((axis - cy) ** 2) / (2 * width**2)),
            np.exp(-((axis - cx) ** 2) / (2 * width**2)),
        )
    image += rng.normal(0.0, 12.0, image.shape)
    return np.clip(np.rint(image), 0, 65535).astype(">u2")


@pytest.fixture(scope="module")
def image_samples() -> bytes:
    return observation_image().tobytes()


@pytest.fixture(scope="module")
def streams(image_samples: bytes) -> tuple[bytes, bytes]:
    return rice_compress(image_samples, **PARAMETERS), imagecodecs.aec_encode(
        image_samples, **LIBAEC
    )


def test_rice_compress_2048x2048_vs_libaec(
    compare, image_samples: bytes, streams: tuple[bytes, bytes]
) -> None:
    ours, theirs = streams
    assert len(ours) <= 1.01 * len(theirs), f"{len(ours)} octets vs libaec's {len(theirs)}"
    compare(
        lambda: rice_compress(image_samples, **PARAMETERS),
        lambda: imagecodecs.aec_encode(image_samples, **LIBAEC),
        peer_name="libaec (imagecodecs.aec_encode)",
        min_ratio=0.8,
    )


def test_rice_decompress_2048x2048_vs_libaec(
    compare, image_samples: bytes, streams: tuple[bytes, bytes]
) -> None:
    ours, theirs = streams
    count = SIDE * SIDE
    assert rice_decompress(ours, count=count, **PARAMETERS) == image_samples
    compare(
        lambda: rice_decompress(ours, count=count, **PARAMETERS),
        lambda: imagecodecs.aec_decode(theirs, out=2 * count, **LIBAEC),
        peer_name="libaec (imagecodecs.aec_decode)",
        min_ratio=0.8,
    )

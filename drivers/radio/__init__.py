"""Serial radio driver: KISS/AX.25 for TNCs, the CCSDS channel stream through SiK-class modems.

See `docs/radio.md`. The runtime component wraps `KissRadio` or `TransparentRadio` and calls
`poll()` from a rate group.
"""

from drivers.radio.ax25 import Address, UiFrame
from drivers.radio.driver import (
    KissConfig,
    KissRadio,
    LinkConfig,
    RadioDriver,
    TransparentConfig,
    TransparentRadio,
)
from drivers.radio.kiss import KissCommand, KissDeframer, KissFrame, KissTncParams, kiss_encode
from drivers.radio.link import LinkState, LinkStats, LinkTransition, RssiReport
from drivers.radio.sik import AtResult, AtTiming, SikParam, SikSettings
from drivers.radio.txqueue import Priority, TxQueue

__all__ = [
    "Address",
    "AtResult",
    "AtTiming",
    "KissCommand",
    "KissConfig",
    "KissDeframer",
    "KissFrame",
    "KissRadio",
    "KissTncParams",
    "LinkConfig",
    "LinkState",
    "LinkStats",
    "LinkTransition",
    "Priority",
    "RadioDriver",
    "RssiReport",
    "SikParam",
    "SikSettings",
    "TransparentConfig",
    "TransparentRadio",
    "TxQueue",
    "UiFrame",
    "kiss_encode",
]

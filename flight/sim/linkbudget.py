"""A radio link budget: range to Eb/N0 to bit error rate.

    EIRP  = 10 log10(P_tx) + G_tx - L_tx                                   dBW
    FSPL  = 20 log10(4 pi d f / c)                                         dB
    C/N0  = EIRP - FSPL - L_path + G/T - k,     k = -228.6 dBW/K/Hz        dB-Hz
    Eb/N0 = C/N0 - 10 log10(R_b) - L_impl                                  dB

`L_path` gathers what a CubeSat UHF link loses besides distance (defaults: polarization
mismatch of a linear antenna to a circular one 3 dB, atmosphere and ionosphere 1 dB, pointing
2 dB); `L_impl` is the demodulator's shortfall from theory. Bit error rate for
    BPSK (coherent)          Pb = 1/2 erfc(sqrt(Eb/N0))
    GMSK (coherent, BT 0.25) Pb = 1/2 erfc(sqrt(alpha Eb/N0)), alpha = 0.68 (Murota and Hirade;
                             Rappaport, Wireless Communications, eq. 6.100; conservative for the
                             BT = 0.3 and 0.5 that CubeSat transceivers use)
    FSK (non-coherent, binary) Pb = 1/2 exp(-Eb / (2 N0))

The default downlink (`UHF_DOWNLINK`: 1 W into a 0 dBi antenna at 437 MHz, 9600 bit/s GMSK,
received by a modest Yagi station with G/T = -20 dB/K) gives Eb/N0 of about 6 dB and a bit error
rate near 1e-2 at the 2600 km horizon range of a 530 km orbit, 1e-3 at a 5 deg elevation and below
1e-8 above 30 deg: frames near the horizon arrive damaged, which is what Reed-Solomon is for. The
default uplink (`UHF_UPLINK`: 20 W into a 14 dBi Yagi, satellite G/T = -30 dB/K) has some 16 dB
more margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from flight.sim.errors import SimError
from flight.sim.frames import SPEED_OF_LIGHT_M_S

BOLTZMANN_DBW_K_HZ: Final = -228.6
GMSK_ALPHA: Final = 0.68


class Modulation(StrEnum):
    BPSK = "bpsk"
    GMSK = "gmsk"
    FSK = "fsk"


def db(x: float) -> float:
    return 10.0 * math.log10(x)


@dataclass(frozen=True)
class LinkBudget:
    frequency_hz: float = 437.0e6
    tx_power_w: float = 1.0
    tx_antenna_gain_dbi: float = 0.0
    tx_losses_db: float = 1.0
    rx_g_over_t_db_k: float = -20.0
    path_losses_db: float = 6.0
    implementation_loss_db: float = 2.0
    bit_rate_bps: float = 9600.0
    modulation: Modulation = Modulation.GMSK

    def __post_init__(self) -> None:
        for name in ("frequency_hz", "tx_power_w", "bit_rate_bps"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
                raise SimError(f"link budget: {name} = {value!r} must be a positive number")
        try:
            object.__setattr__(self, "modulation", Modulation(self.modulation))
        except ValueError:
            raise SimError(f"link budget: modulation {self.modulation!r} is not one of "
                           f"{', '.join(m.value for m in Modulation)}") from None

    @property
    def eirp_dbw(self) -> float:
        return db(self.tx_power_w) + self.tx_antenna_gain_dbi - self.tx_losses_db

    def free_space_loss_db(self, range_m: float) -> float:
        return 20.0 * math.log10(4.0 * math.pi * range_m * self.frequency_hz / SPEED_OF_LIGHT_M_S)

    def cn0_dbhz(self, range_m: float) -> float:
        return (self.eirp_dbw - self.free_space_loss_db(range_m) - self.path_losses_db
                + self.rx_g_over_t_db_k - BOLTZMANN_DBW_K_HZ)

    def ebn0_db(self, range_m: float) -> float:
        return self.cn0_dbhz(range_m) - db(self.bit_rate_bps) - self.implementation_loss_db

    def ber(self, range_m: float) -> float:
        return bit_error_rate(self.modulation, self.ebn0_db(range_m))


def bit_error_rate(modulation: Modulation, ebn0_db: float) -> float:
    """Probability of a bit error at `ebn0_db` (at most 1/2)."""
    ebn0 = 10.0 ** (ebn0_db / 10.0)
    if modulation is Modulation.BPSK:
        return 0.5 * math.erfc(math.sqrt(ebn0))
    if modulation is Modulation.GMSK:
        return 0.5 * math.erfc(math.sqrt(GMSK_ALPHA * ebn0))
    return 0.5 * math.exp(-0.5 * ebn0)


UHF_DOWNLINK: Final = LinkBudget()
UHF_UPLINK: Final = LinkBudget(tx_power_w=20.0, tx_antenna_gain_dbi=14.0, tx_losses_db=2.0,
                               rx_g_over_t_db_k=-30.0)

"""Every ioctl number, structure size and structure image the Linux backends use, checked against
the C compiler's view of the installed kernel headers (no hardware needed)."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest

from hal import watchdog
from hal.bus import linux as bus_linux
from hal.bus.spi import SpiSegment, SpiSettings
from hal.gpio import Bias, EdgeDetect, LineConfig
from hal.gpio import linux as gpio_linux

PROGRAM = r"""
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <linux/gpio.h>
#include <linux/i2c.h>
#include <linux/i2c-dev.h>
#include <linux/spi/spidev.h>
#include <linux/watchdog.h>

#define SHOW(x) printf("%s %llu\n", #x, (unsigned long long)(x))

static void dump(const char *name, const void *p, size_t n) {
    const unsigned char *b = p;
    printf("%s ", name);
    for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

int main(void) {
    SHOW(sizeof(struct gpiochip_info));
    SHOW(sizeof(struct gpio_v2_line_request));
    SHOW(sizeof(struct gpio_v2_line_config));
    SHOW(sizeof(struct gpio_v2_line_values));
    SHOW(sizeof(struct gpio_v2_line_event));
    SHOW(sizeof(struct gpio_v2_line_info));
    SHOW(offsetof(struct gpio_v2_line_request, fd));
    SHOW(GPIO_GET_CHIPINFO_IOCTL);
    SHOW(GPIO_V2_GET_LINEINFO_IOCTL);
    SHOW(GPIO_V2_GET_LINE_IOCTL);
    SHOW(GPIO_V2_LINE_GET_VALUES_IOCTL);
    SHOW(GPIO_V2_LINE_SET_VALUES_IOCTL);
    SHOW(GPIO_V2_LINE_FLAG_INPUT);
    SHOW(GPIO_V2_LINE_FLAG_OUTPUT);
    SHOW(GPIO_V2_LINE_FLAG_ACTIVE_LOW);
    SHOW(GPIO_V2_LINE_FLAG_EDGE_RISING);
    SHOW(GPIO_V2_LINE_FLAG_EDGE_FALLING);
    SHOW(GPIO_V2_LINE_FLAG_OPEN_DRAIN);
    SHOW(GPIO_V2_LINE_FLAG_OPEN_SOURCE);
    SHOW(GPIO_V2_LINE_FLAG_BIAS_PULL_UP);
    SHOW(GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN);
    SHOW(GPIO_V2_LINE_FLAG_BIAS_DISABLED);
    SHOW(GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES);
    SHOW(GPIO_V2_LINE_ATTR_ID_DEBOUNCE);
    SHOW(GPIO_V2_LINE_EVENT_RISING_EDGE);
    SHOW(GPIO_V2_LINE_EVENT_FALLING_EDGE);

    struct gpio_v2_line_request in;
    memset(&in, 0, sizeof in);
    in.offsets[0] = 17;
    strcpy(in.consumer, "pps");
    in.config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING
        | GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN;
    in.config.num_attrs = 1;
    in.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
    in.config.attrs[0].attr.debounce_period_us = 250;
    in.config.attrs[0].mask = 1;
    in.num_lines = 1;
    in.fd = -1;
    dump("request_input", &in, sizeof in);

    struct gpio_v2_line_request out;
    memset(&out, 0, sizeof out);
    out.offsets[0] = 5;
    strcpy(out.consumer, "radio-enable");
    out.config.flags = GPIO_V2_LINE_FLAG_OUTPUT | GPIO_V2_LINE_FLAG_ACTIVE_LOW
        | GPIO_V2_LINE_FLAG_OPEN_DRAIN;
    out.config.num_attrs = 1;
    out.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
    out.config.attrs[0].attr.values = 1;
    out.config.attrs[0].mask = 1;
    out.num_lines = 1;
    out.fd = -1;
    dump("request_output", &out, sizeof out);

    SHOW(I2C_RDWR);
    SHOW(I2C_M_RD);
    SHOW(I2C_RDWR_IOCTL_MAX_MSGS);
    SHOW(sizeof(struct i2c_msg));
    SHOW(offsetof(struct i2c_msg, buf));
    SHOW(sizeof(struct i2c_rdwr_ioctl_data));
    SHOW(offsetof(struct i2c_rdwr_ioctl_data, nmsgs));

    SHOW(sizeof(struct spi_ioc_transfer));
    SHOW(SPI_IOC_MESSAGE(1));
    SHOW(SPI_IOC_MESSAGE(3));
    SHOW(SPI_IOC_WR_MODE);
    SHOW(SPI_IOC_WR_LSB_FIRST);
    SHOW(SPI_IOC_WR_BITS_PER_WORD);
    SHOW(SPI_IOC_WR_MAX_SPEED_HZ);
    struct spi_ioc_transfer t;
    memset(&t, 0, sizeof t);
    t.tx_buf = 0x1122334455667788ULL;
    t.rx_buf = 0x99aabbccddeeff00ULL;
    t.len = 7;
    t.speed_hz = 2000000;
    t.delay_usecs = 10;
    t.bits_per_word = 8;
    t.cs_change = 1;
    dump("spi_transfer", &t, sizeof t);

    SHOW(sizeof(struct watchdog_info));
    SHOW(WDIOC_GETSUPPORT);
    SHOW(WDIOC_GETBOOTSTATUS);
    SHOW(WDIOC_SETTIMEOUT);
    SHOW(WDIOF_CARDRESET);
    SHOW(WDIOF_MAGICCLOSE);
    return 0;
}
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not Path("/usr/include/linux/gpio.h").exists():
        pytest.skip("needs a C compiler and the Linux kernel headers")
    work = tmp_path_factory.mktemp("abi")
    (work / "abi.c").write_text(PROGRAM)
    subprocess.run(
        [compiler, "-std=c99", "-o", str(work / "abi"), str(work / "abi.c")],
        check=True,
        capture_output=True,
    )
    output = subprocess.run([str(work / "abi")], check=True, capture_output=True, text=True).stdout
    return dict(line.rsplit(" ", 1) for line in output.splitlines())


def number(kernel: dict[str, str], name: str) -> int:
    return int(kernel[name])


def test_gpio_structures_and_requests(kernel: dict[str, str]) -> None:
    g = gpio_linux
    assert number(kernel, "sizeof(struct gpiochip_info)") == g.CHIP_INFO.size
    assert number(kernel, "sizeof(struct gpio_v2_line_request)") == g.LINE_REQUEST_SIZE
    assert number(kernel, "sizeof(struct gpio_v2_line_config)") == g.LINE_CONFIG_SIZE
    assert number(kernel, "sizeof(struct gpio_v2_line_values)") == g.LINE_VALUES.size
    assert number(kernel, "sizeof(struct gpio_v2_line_event)") == g.LINE_EVENT.size
    assert number(kernel, "sizeof(struct gpio_v2_line_info)") == g.LINE_INFO.size
    assert number(kernel, "offsetof(struct gpio_v2_line_request, fd)") == g.LINE_REQUEST_SIZE - 4
    for name in (
        "GPIO_GET_CHIPINFO_IOCTL",
        "GPIO_V2_GET_LINEINFO_IOCTL",
        "GPIO_V2_GET_LINE_IOCTL",
        "GPIO_V2_LINE_GET_VALUES_IOCTL",
        "GPIO_V2_LINE_SET_VALUES_IOCTL",
    ):
        assert number(kernel, name) == getattr(g, name), name
    for flag in (
        "INPUT",
        "OUTPUT",
        "ACTIVE_LOW",
        "EDGE_RISING",
        "EDGE_FALLING",
        "OPEN_DRAIN",
        "OPEN_SOURCE",
        "BIAS_PULL_UP",
        "BIAS_PULL_DOWN",
        "BIAS_DISABLED",
    ):
        assert number(kernel, f"GPIO_V2_LINE_FLAG_{flag}") == getattr(g.LineFlag, flag), flag
    assert number(kernel, "GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES") == g.ATTR_ID_OUTPUT_VALUES
    assert number(kernel, "GPIO_V2_LINE_ATTR_ID_DEBOUNCE") == g.ATTR_ID_DEBOUNCE
    assert number(kernel, "GPIO_V2_LINE_EVENT_RISING_EDGE") == 1
    assert number(kernel, "GPIO_V2_LINE_EVENT_FALLING_EDGE") == 2


def test_gpio_request_images_match_the_c_structures(kernel: dict[str, str]) -> None:
    pps = LineConfig(False, EdgeDetect.RISING, Bias.PULL_DOWN, debounce_s=250e-6, consumer="pps")
    assert gpio_linux.pack_line_request(17, pps).hex() == kernel["request_input"]
    enable = LineConfig(
        True,
        active_low=True,
        drive=gpio_linux.Drive.OPEN_DRAIN,
        initial=True,
        consumer="radio-enable",
    )
    assert gpio_linux.pack_line_request(5, enable).hex() == kernel["request_output"]


def test_i2c_structures(kernel: dict[str, str]) -> None:
    assert number(kernel, "I2C_RDWR") == bus_linux.I2C_RDWR
    assert number(kernel, "I2C_M_RD") == bus_linux.I2C_M_RD
    assert number(kernel, "I2C_RDWR_IOCTL_MAX_MSGS") == 42
    assert number(kernel, "sizeof(struct i2c_msg)") == ctypes.sizeof(bus_linux.I2cMsg)
    assert number(kernel, "offsetof(struct i2c_msg, buf)") == bus_linux.I2cMsg.buf.offset
    assert number(kernel, "sizeof(struct i2c_rdwr_ioctl_data)") == ctypes.sizeof(
        bus_linux.I2cRdwrIoctlData
    )
    assert number(kernel, "offsetof(struct i2c_rdwr_ioctl_data, nmsgs)") == (
        bus_linux.I2cRdwrIoctlData.nmsgs.offset
    )


def test_spi_structures(kernel: dict[str, str]) -> None:
    assert number(kernel, "sizeof(struct spi_ioc_transfer)") == bus_linux.SPI_IOC_TRANSFER.size
    assert number(kernel, "SPI_IOC_MESSAGE(1)") == bus_linux.spi_ioc_message(1)
    assert number(kernel, "SPI_IOC_MESSAGE(3)") == bus_linux.spi_ioc_message(3)
    for name in (
        "SPI_IOC_WR_MODE",
        "SPI_IOC_WR_LSB_FIRST",
        "SPI_IOC_WR_BITS_PER_WORD",
        "SPI_IOC_WR_MAX_SPEED_HZ",
    ):
        assert number(kernel, name) == getattr(bus_linux, name), name
    image = bus_linux.pack_spi_transfer(
        0x1122334455667788,
        0x99AABBCCDDEEFF00,
        7,
        SpiSegment(bytes(7), speed_hz=2_000_000, delay_us=10, cs_change=True),
        SpiSettings(),
    )
    assert image.hex() == kernel["spi_transfer"]


def test_watchdog_requests(kernel: dict[str, str]) -> None:
    assert number(kernel, "sizeof(struct watchdog_info)") == watchdog.WATCHDOG_INFO.size
    for name in (
        "WDIOC_GETSUPPORT",
        "WDIOC_GETBOOTSTATUS",
        "WDIOC_SETTIMEOUT",
        "WDIOF_CARDRESET",
        "WDIOF_MAGICCLOSE",
    ):
        assert number(kernel, name) == getattr(watchdog, name), name

"""Linux ioctl request numbers, computed as the kernel's `asm-generic/ioctl.h` macros do.

`_IOC(dir, type, nr, size)` packs direction (2 bits), argument size (14 bits), type (8 bits) and
number (8 bits). This is the generic layout used by x86, arm and arm64, the targets we fly; the
tests compare every number we use with the C preprocessor's value from the installed headers.
"""

from __future__ import annotations

from typing import Final

_IOC_NRBITS: Final[int] = 8
_IOC_TYPEBITS: Final[int] = 8
_IOC_SIZEBITS: Final[int] = 14
_IOC_NRSHIFT: Final[int] = 0
_IOC_TYPESHIFT: Final[int] = _IOC_NRSHIFT + _IOC_NRBITS
_IOC_SIZESHIFT: Final[int] = _IOC_TYPESHIFT + _IOC_TYPEBITS
_IOC_DIRSHIFT: Final[int] = _IOC_SIZESHIFT + _IOC_SIZEBITS

IOC_WRITE: Final[int] = 1
IOC_READ: Final[int] = 2


def ioc(direction: int, type_: int, nr: int, size: int) -> int:
    if not 0 <= size < 1 << _IOC_SIZEBITS:
        raise ValueError(f"ioctl argument size {size} does not fit {_IOC_SIZEBITS} bits")
    return (
        (direction << _IOC_DIRSHIFT)
        | (size << _IOC_SIZESHIFT)
        | (type_ << _IOC_TYPESHIFT)
        | (nr << _IOC_NRSHIFT)
    )


def ior(type_: int, nr: int, size: int) -> int:
    return ioc(IOC_READ, type_, nr, size)


def iow(type_: int, nr: int, size: int) -> int:
    return ioc(IOC_WRITE, type_, nr, size)


def iowr(type_: int, nr: int, size: int) -> int:
    return ioc(IOC_READ | IOC_WRITE, type_, nr, size)

"""Build hook: setuptools needs setup() for `cffi_modules`; everything else is in pyproject.toml."""

from setuptools import setup

setup(
    cffi_modules=[
        "flight/codec/_build.py:link_ffi",
        "flight/codec/_build.py:rice_ffi",
    ],
)

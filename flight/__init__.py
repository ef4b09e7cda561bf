"""Autonomous Sky flight software: the onboard runtime, the space link and the C payload engine."""

__version__ = "0.1.0"

"""The hardware-in-the-loop rig and its test suite (docs/hil.md): `pytest hil` against an
emulated board, `pytest hil --board serial ...` against a real one."""

"""Desktop emulation of a satellite pass (`flight emulate`) and the rig the HIL suite reuses.

- `clock`: `ScaledClock`, the time base the flight process and the rig share;
- `board`: `EmulatedBoard`, the flight software in its own process on pseudo-terminals;
- `rig`: the GNSS feeder, the radio channel bridge and the ground station on the rig side;
- `scenario`, `emulate`: scenario files and the `flight emulate` command.

Guide: docs/emulation.md.
"""

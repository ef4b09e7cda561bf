"""Scenario files shipped with `flight emulate` (`default.toml` is what `make demo` plays)."""

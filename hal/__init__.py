"""The hardware abstraction layer: one interface per kind of hardware, Linux and simulated ones."""

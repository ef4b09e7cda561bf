"""Tests of the onboard services (flight/svc) and the simulated payload."""

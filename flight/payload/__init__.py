"""Simulated payloads for the reference satellite."""

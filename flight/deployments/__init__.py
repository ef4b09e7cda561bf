"""Deployments shipped with the package; `flight run refsat` finds them by name."""

from __future__ import annotations

import os
from importlib import resources


def resolve(name_or_path: str) -> str:
    """A deployment file path: an existing path as given, else a shipped deployment by name."""
    if os.path.exists(name_or_path) or name_or_path.endswith(".toml"):
        return name_or_path
    shipped = resources.files(__name__).joinpath(f"{name_or_path}.toml")
    if shipped.is_file():
        return str(shipped)
    return name_or_path


def shipped() -> list[str]:
    """Names of the deployments shipped with the package."""
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files(__name__).iterdir()
        if p.name.endswith(".toml")
    )

"""Suite-wide options: soak and fuzz runs only on request, and which engine is under test."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-soak", action="store_true", help="also run long soak and fuzz tests")


def pytest_report_header(config: pytest.Config) -> str:
    import flight.codec

    return f"flight.codec: backend {flight.codec.BACKEND}, from {flight.codec.__file__}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak/fuzz run: pass --run-soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)

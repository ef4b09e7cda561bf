"""The HIL suite's options and fixtures come from `hil.plugin` (also usable as `pytest -p
hil.plugin` by a mission's own suite). They are imported here rather than listed in
`pytest_plugins`, which pytest refuses in a conftest that is not the rootdir's when it is
collected late (`pytest .`); imported hooks work either way."""

from hil.plugin import (  # noqa: F401 (pytest finds hooks and fixtures by name)
    bench,
    board,
    dictionary,
    gnss_feeder,
    ground,
    hil_options,
    pytest_addoption,
    pytest_configure,
    pytest_report_header,
    rig,
)

"""Deployment files in these tests name test components by import path
(``tests.drivers_components.helpers:GroundRadio``): make the repository root importable however
pytest was started."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

"""Deployment files in these tests name test components by import path
(``tests.runtime.helpers:Counter``), as users name theirs: make the repository root importable
however pytest was started (``python -m pytest`` adds it, the ``pytest`` script does not)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

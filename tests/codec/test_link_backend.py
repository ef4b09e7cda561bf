"""Without the compiled engine, `flight.codec._link` falls back to the reference, and says so."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_fallback_to_the_reference_when_the_engine_is_not_compiled() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["flight.codec._link_c"] = None  # what an uncompiled tree looks like
        import flight.codec._link as link
        from flight.codec.reference import link as reference
        assert link.BACKEND == "python", link.BACKEND
        assert link.rs_encode is reference.rs_encode and link.CaduSync is reference.CaduSync
        assert link.crc16(b"123456789") == 0x29B1
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

"""The committed Cloud Control type table is what its pinned inputs and overrides generate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]


def test_the_committed_table_is_what_scripts_sweep_types_writes():
    pytest.importorskip("arnmatch", reason="scripts/setup installs scripts/lib/sweep-types-requirements.txt")
    out = subprocess.run(
        [sys.executable, str(TOP / "scripts" / "lib" / "sweep_types.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr

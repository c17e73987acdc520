"""scripts/lifecycle/generate on a hand-written fixture (endoflife.date's own files are not in
this repository): the same inputs give the committed expected file byte for byte; each product's
columns land where kirikae reads them; a wrong checkout is refused. And the committed table carries
a date and a source on every row, and the overlay's rows exactly as reviewed.

Run: .venv/bin/python -m pytest scripts/lifecycle/tests
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIFECYCLE = HERE.parent
REPO = LIFECYCLE.parents[1]
TABLE = REPO / "crates" / "kirikae-audit" / "data" / "lifecycle.json"


def generate(tmp_path: Path, checkout: Path) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "lifecycle.json"
    p = subprocess.run([sys.executable, str(LIFECYCLE / "generate"), str(checkout), "--overlay",
                        str(HERE / "overlay.toml"), "--date", "2026-01-02", "--commit", "0123456789abcdef",
                        "--out", str(out)], capture_output=True, text=True)
    return p, out


def test_the_fixture_gives_the_expected_table_byte_for_byte(tmp_path):
    p, out = generate(tmp_path, HERE / "fixture")
    assert p.returncode == 0, p.stderr
    assert out.read_text(encoding="utf-8") == (HERE / "expected.json").read_text(encoding="utf-8")
    # Twice: nothing depends on the clock.
    p, again = generate(tmp_path, HERE / "fixture")
    assert again.read_text(encoding="utf-8") == (HERE / "expected.json").read_text(encoding="utf-8")


def test_columns_are_resolved_per_product():
    rows = {(r["product"], r["cycle"]): r for r in json.loads((HERE / "expected.json").read_text())["rows"]}
    # Lambda: eoas is the deprecation, eol the block of function updates; true is "ended".
    assert rows[("lambda", "python3.8")]["end_standard"] == "2024-10-14"
    assert rows[("lambda", "python3.8")]["end_extended"] == "2027-03-03"
    assert rows[("lambda", "dotnet7")]["end_extended"] == "ended"
    # RDS: eol is the end of standard support, eoes of Extended Support; minor cycles dropped.
    assert rows[("rds-postgres", "13")]["end_standard"] == "2026-02-28"
    assert ("rds-mysql", "8.0.46") not in rows
    # false (not announced) leaves the date out.
    assert "end_standard" not in rows[("elasticache-redis", "7")]
    # The overlay replaces an upstream row and adds a product.
    assert rows[("rds-mysql", "5.7")]["source"] == "https://example.test/overlay/mysql"
    assert rows[("rds-mysql", "5.7")]["end_extended"] == "2027-02-28"
    assert rows[("aurora-mysql", "2")]["label"] == "Aurora MySQL 2"


def test_a_checkout_without_the_products_is_refused(tmp_path):
    (tmp_path / "products").mkdir()
    p, out = generate(tmp_path, tmp_path)
    assert p.returncode == 2
    assert "aws-lambda.md is missing" in p.stderr and "endoflife-date/endoflife.date" in p.stderr
    assert not out.exists()


def test_the_committed_table_has_a_date_and_source_on_every_row_and_the_overlay_as_reviewed():
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert table["schema"] == 1 and table["date"]
    eol = table["sources"][0]
    assert eol["name"] == "endoflife.date" and len(eol["commit"]) == 40
    for r in table["rows"]:
        assert r["source"].startswith("https://"), r
        assert any(k in r for k in ("released", "end_standard", "end_extended")), r
    rows = {(r["product"], r["cycle"]): r for r in table["rows"]}
    overlay = tomllib.loads((LIFECYCLE / "overlay.toml").read_text(encoding="utf-8"))
    for o in overlay["row"]:
        row = rows[(o["product"], o["cycle"])]
        for key in ("label", "released", "end_standard", "end_extended", "source"):
            assert row.get(key) == o.get(key), (o, row)
    assert table["extended_support_rates"] == overlay["rate"]

"""The generator of the story's production data (story_data.py): deterministic, sized by
--members, and holding what a masking run must find (names and readings, emails, mobile numbers,
addresses, Luhn-valid card numbers in JSON, contact details inside free text), with every
foreign key pointing at a row that exists. No database needed."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kirikae_emulator import story_data

EMULATOR = Path(__file__).resolve().parents[1]
KATAKANA = re.compile(r"^[\u30a0-\u30ff]+ [\u30a0-\u30ff]+$")
MOBILE = re.compile(r"^0[789]0-\d{4}-\d{4}$")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kirikae_emulator.story_data", *args], capture_output=True,
                          env=dict(os.environ, PYTHONPATH=str(EMULATOR)), timeout=120)


def test_same_seed_and_size_give_the_same_bytes_in_another_process():
    first, second = run_cli("--members", "300"), run_cli("--members", "300")
    assert first.returncode == 0, first.stderr
    assert hashlib.sha256(first.stdout).digest() == hashlib.sha256(second.stdout).digest()
    assert first.stdout.decode("utf-8") == story_data.script(members=300)
    other_seed = run_cli("--members", "300", "--seed", "7")
    assert other_seed.stdout != first.stdout


def test_members_sets_the_size_of_every_table():
    small, large = story_data.generate(members=100), story_data.generate(members=5000)
    assert small.counts() == {"members": 100, "companies": 3, "owners": 7, "parking_lots": small.counts()["parking_lots"],
                              "reservations": 400}
    assert large.counts()["members"] == 5000 and large.counts()["reservations"] == 20000
    assert large.counts()["companies"] == 25 and large.counts()["owners"] == 25 + 200
    assert large.counts()["parking_lots"] > 200 + 4 * 25
    assert run_cli("--members", "0").returncode == 2


def test_members_look_like_production_data():
    data = story_data.generate()
    members = data.rows["members"]
    emails = [m[3] for m in members]
    assert len(set(emails)) == len(emails)  # the column has a unique index
    domains = {e.split("@")[1] for e in emails}
    assert domains == set(story_data.MAIL_DOMAINS)
    for mid, name, kana, email, phone, postal, pref, city, street, birth, created in members:
        family, given = name.split(" ")
        assert re.match(r"^[^\x00-\x7f]+$", family + given), name
        assert KATAKANA.match(kana), kana
        assert MOBILE.match(phone), phone
        assert re.match(r"^\d{3}-\d{4}$", postal), postal
        assert (pref, city) in {(p[0], p[1]) for p in story_data.PLACES}
        assert "丁目" in street
        assert birth is None or "1950-01-01" <= birth < "2005-01-01"
        assert "2019-04-01" <= created <= "2026-03-31 23:59:00"
    assert {p[:3] for p in (m[4] for m in members)} == {"090", "080", "070"}
    assert 0.1 < sum(m[9] is None for m in members) / len(members) < 0.3


def test_foreign_keys_point_at_rows_that_exist():
    data = story_data.generate()
    members = {m[0] for m in data.rows["members"]}
    companies = {c[0] for c in data.rows["companies"]}
    owners = {}
    for oid, member_id, company_id, _, _ in data.rows["owners"]:
        assert (member_id is None) != (company_id is None), "an owner is a member or a company"
        assert member_id in members or company_id in companies
        owners[oid] = member_id
    assert len({o for o in owners.values() if o}) == sum(1 for o in owners.values() if o)
    lots = {lot[0]: lot[1] for lot in data.rows["parking_lots"]}
    assert set(lots.values()) == set(owners)  # every owner lists at least one lot
    for r in data.rows["reservations"]:
        assert r[1] in members and r[2] in lots
        assert r[3] < r[4], "starts before it ends"
        assert r[9] <= r[3], "booked before it starts"
        assert r[6] in {"reserved", "completed", "cancelled", "no_show"}


def test_payment_json_holds_test_card_numbers_and_notes_hold_contact_details():
    data = story_data.generate()
    emails = {m[3] for m in data.rows["members"]}
    methods, brands, nested_emails, notes_with = set(), set(), 0, {"email": 0, "phone": 0}
    for r in data.rows["reservations"]:
        payment = json.loads(r[7])
        methods.add(payment["method"])
        assert payment["billing"]["name"] and "@" in payment["billing"]["email"]
        nested_emails += payment["billing"]["email"] in emails
        if payment["method"] == "card":
            card = payment["card"]
            brands.add(card["brand"])
            prefix = {b: p for b, p, _ in story_data.CARDS}[card["brand"]]
            assert card["number"].startswith(prefix) and story_data.luhn_valid(card["number"]), card
            assert re.match(r"^[A-Z]+ [A-Z]+$", card["holder"]), card
            assert re.match(r"^(0[1-9]|1[0-2])/\d\d$", card["expiry"]), card
        else:
            assert MOBILE.match(payment["wallet"]["phone"])
        note = r[8] or ""
        notes_with["email"] += "@" in note
        notes_with["phone"] += bool(re.search(r"0[789]0-?\d{4}-?\d{4}", note))
    assert methods == {"card", "wallet"}
    assert brands == {"VISA", "MASTERCARD", "JCB", "AMEX"}
    assert nested_emails > 0.8 * len(data.rows["reservations"])
    assert notes_with["email"] > 100 and notes_with["phone"] > 100
    descriptions = [lot[9] or "" for lot in data.rows["parking_lots"]]
    assert any(re.search(r"（0[789]0-\d{4}-\d{4}）", d) for d in descriptions), "an owner's phone in a description"


def test_corporate_numbers_carry_their_check_digit():
    assert story_data.corporate_number("700110005901") == "8700110005901"
    for company in story_data.generate(members=5000).rows["companies"]:
        number = company[2]
        assert len(number) == 13 and story_data.corporate_number(number[1:]) == number


def test_luhn():
    assert story_data.luhn_complete("411111111111111") == "4111111111111111"
    assert story_data.luhn_valid("378282246310005")
    assert not story_data.luhn_valid("4111111111111112")


@pytest.mark.parametrize("dialect", story_data.DIALECTS)
def test_script_creates_the_schema_then_inserts_every_row(dialect):
    sql = story_data.script(members=50, dialect=dialect)
    counts = story_data.generate(members=50).counts()
    assert sql.startswith("-- kirikae story data v")
    for table in story_data.TABLES:
        assert f"CREATE TABLE {table} (" in sql
        inserted = sum(stmt.count("\n(") for stmt in re.findall(rf"INSERT INTO {table} \(.*?;\n", sql, flags=re.S))
        assert inserted == counts[table], table
    assert "CREATE VIEW member_spending AS" in sql
    assert ("payment JSON NOT NULL" in sql) == (dialect == "mysql")
    assert ("payment jsonb NOT NULL" in sql) == (dialect == "postgresql")
    assert "\\" not in sql

"""The story's production data: the database of a parking-space sharing service, generated.

`python -m kirikae_emulator.story_data [--members N] [--seed S] [--dialect mysql|postgresql]`
prints a SQL script that (re)creates the tables and fills them. The same seed, size and dialect
always give the same bytes (no clock, no hash order, no locale), so a test can name a row.

Tables (foreign keys between them):

  members       people using the service: kanji name and katakana reading, email, mobile phone
                (090/080/070), postal code and address, birth date (NULL when not given), sign-up
  companies     corporate lot owners: name, corporate number, contact person, email and phone
  owners        who lists lots: a member or a company (exactly one of the two), payout share
  parking_lots  a lot: owner, name, postal code, address, latitude/longitude, capacity, hourly
                price, and a description that sometimes gives the owner's phone number
  reservations  member, lot, start/end, amount, status, payment details as JSON (card brand, a
                Luhn-valid number from the card networks' test ranges, holder in romaji, expiry,
                billing name and email; or a wallet with a phone number) and a note that sometimes
                holds an email address or a phone number
  member_spending (view) completed reservations and amount spent per member

Every name, town and company word comes from the small lists below, written for this project;
no outside dataset is used. Emails use common mail domains and phone numbers real mobile prefixes,
as production data would: that is what masking has to find.

Sizes: `--members N` (default 2000) sets the rest: companies N/200 (at least 3), member owners
N/25, reservations 4N. The default loads in about a second; larger sizes are for benchmarks.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
from dataclasses import dataclass, field

GENERATOR_VERSION = 1
DEFAULT_SEED = 20240401
DEFAULT_MEMBERS = 2000
INSERT_BATCH = 500
DIALECTS = ("mysql", "postgresql")
TABLES = ["members", "companies", "owners", "parking_lots", "reservations"]
VIEWS = ["member_spending"]

# (kanji, katakana, romaji): common family names.
FAMILY_NAMES = [
    ("佐藤", "サトウ", "SATO"), ("鈴木", "スズキ", "SUZUKI"), ("高橋", "タカハシ", "TAKAHASHI"),
    ("田中", "タナカ", "TANAKA"), ("伊藤", "イトウ", "ITO"), ("渡辺", "ワタナベ", "WATANABE"),
    ("山本", "ヤマモト", "YAMAMOTO"), ("中村", "ナカムラ", "NAKAMURA"), ("小林", "コバヤシ", "KOBAYASHI"),
    ("加藤", "カトウ", "KATO"), ("吉田", "ヨシダ", "YOSHIDA"), ("山田", "ヤマダ", "YAMADA"),
    ("佐々木", "ササキ", "SASAKI"), ("山口", "ヤマグチ", "YAMAGUCHI"), ("松本", "マツモト", "MATSUMOTO"),
    ("井上", "イノウエ", "INOUE"), ("木村", "キムラ", "KIMURA"), ("林", "ハヤシ", "HAYASHI"),
    ("斎藤", "サイトウ", "SAITO"), ("清水", "シミズ", "SHIMIZU"), ("山崎", "ヤマザキ", "YAMAZAKI"),
    ("森", "モリ", "MORI"), ("池田", "イケダ", "IKEDA"), ("橋本", "ハシモト", "HASHIMOTO"),
    ("阿部", "アベ", "ABE"), ("石川", "イシカワ", "ISHIKAWA"), ("山下", "ヤマシタ", "YAMASHITA"),
    ("中島", "ナカジマ", "NAKAJIMA"), ("石井", "イシイ", "ISHII"), ("小川", "オガワ", "OGAWA"),
    ("前田", "マエダ", "MAEDA"), ("岡田", "オカダ", "OKADA"), ("長谷川", "ハセガワ", "HASEGAWA"),
    ("藤田", "フジタ", "FUJITA"), ("後藤", "ゴトウ", "GOTO"), ("近藤", "コンドウ", "KONDO"),
    ("村上", "ムラカミ", "MURAKAMI"), ("遠藤", "エンドウ", "ENDO"), ("青木", "アオキ", "AOKI"),
    ("坂本", "サカモト", "SAKAMOTO"), ("福田", "フクダ", "FUKUDA"), ("太田", "オオタ", "OTA"),
    ("西村", "ニシムラ", "NISHIMURA"), ("藤井", "フジイ", "FUJII"), ("金子", "カネコ", "KANEKO"),
    ("岡本", "オカモト", "OKAMOTO"), ("藤原", "フジワラ", "FUJIWARA"), ("中川", "ナカガワ", "NAKAGAWA"),
    ("三浦", "ミウラ", "MIURA"), ("原田", "ハラダ", "HARADA"), ("松田", "マツダ", "MATSUDA"),
    ("竹内", "タケウチ", "TAKEUCHI"), ("小野", "オノ", "ONO"), ("田村", "タムラ", "TAMURA"),
    ("中山", "ナカヤマ", "NAKAYAMA"), ("和田", "ワダ", "WADA"), ("石田", "イシダ", "ISHIDA"),
    ("上田", "ウエダ", "UEDA"), ("森田", "モリタ", "MORITA"), ("柴田", "シバタ", "SHIBATA"),
]

# (kanji, katakana, romaji): given names.
GIVEN_NAMES = [
    ("太郎", "タロウ", "TARO"), ("一郎", "イチロウ", "ICHIRO"), ("健太", "ケンタ", "KENTA"),
    ("翔太", "ショウタ", "SHOTA"), ("大輔", "ダイスケ", "DAISUKE"), ("拓也", "タクヤ", "TAKUYA"),
    ("直樹", "ナオキ", "NAOKI"), ("和也", "カズヤ", "KAZUYA"), ("蓮", "レン", "REN"),
    ("悠真", "ユウマ", "YUMA"), ("陽翔", "ハルト", "HARUTO"), ("湊", "ミナト", "MINATO"),
    ("大翔", "ヒロト", "HIROTO"), ("誠", "マコト", "MAKOTO"), ("浩", "ヒロシ", "HIROSHI"),
    ("修", "オサム", "OSAMU"), ("隆", "タカシ", "TAKASHI"), ("亮", "リョウ", "RYO"),
    ("優斗", "ユウト", "YUTO"), ("颯太", "ソウタ", "SOTA"), ("花子", "ハナコ", "HANAKO"),
    ("陽子", "ヨウコ", "YOKO"), ("美咲", "ミサキ", "MISAKI"), ("愛", "アイ", "AI"),
    ("結衣", "ユイ", "YUI"), ("葵", "アオイ", "AOI"), ("陽菜", "ヒナ", "HINA"),
    ("さくら", "サクラ", "SAKURA"), ("由美", "ユミ", "YUMI"), ("恵", "メグミ", "MEGUMI"),
    ("真由美", "マユミ", "MAYUMI"), ("智子", "トモコ", "TOMOKO"), ("裕子", "ユウコ", "YUKO"),
    ("明美", "アケミ", "AKEMI"), ("彩", "アヤ", "AYA"), ("凛", "リン", "RIN"),
    ("芽依", "メイ", "MEI"), ("美穂", "ミホ", "MIHO"), ("千尋", "チヒロ", "CHIHIRO"),
    ("奈々", "ナナ", "NANA"),
]

# (prefecture, city, first 3 digits of its postal codes, latitude, longitude of its centre).
PLACES = [
    ("東京都", "渋谷区", "150", 35.6640, 139.6982), ("東京都", "新宿区", "160", 35.6938, 139.7034),
    ("東京都", "港区", "105", 35.6581, 139.7516), ("東京都", "世田谷区", "154", 35.6464, 139.6533),
    ("東京都", "品川区", "140", 35.6092, 139.7302), ("東京都", "目黒区", "152", 35.6415, 139.6982),
    ("東京都", "杉並区", "166", 35.6995, 139.6364), ("東京都", "練馬区", "176", 35.7356, 139.6517),
    ("東京都", "大田区", "144", 35.5613, 139.7160), ("東京都", "武蔵野市", "180", 35.7178, 139.5661),
    ("神奈川県", "横浜市中区", "231", 35.4444, 139.6380), ("神奈川県", "横浜市港北区", "222", 35.5190, 139.6333),
    ("神奈川県", "川崎市中原区", "211", 35.5763, 139.6595), ("神奈川県", "藤沢市", "251", 35.3392, 139.4900),
    ("埼玉県", "さいたま市大宮区", "330", 35.9064, 139.6240), ("埼玉県", "川口市", "332", 35.8078, 139.7241),
    ("千葉県", "千葉市中央区", "260", 35.6073, 140.1063), ("千葉県", "船橋市", "273", 35.6947, 139.9826),
    ("大阪府", "大阪市北区", "530", 34.7055, 135.4983), ("大阪府", "大阪市中央区", "541", 34.6813, 135.5097),
    ("大阪府", "豊中市", "560", 34.7812, 135.4699), ("大阪府", "堺市堺区", "590", 34.5733, 135.4830),
    ("京都府", "京都市中京区", "604", 35.0116, 135.7681), ("兵庫県", "神戸市中央区", "650", 34.6913, 135.1830),
    ("愛知県", "名古屋市中区", "460", 35.1681, 136.9066), ("愛知県", "名古屋市千種区", "464", 35.1663, 136.9471),
    ("福岡県", "福岡市博多区", "812", 33.5902, 130.4207), ("福岡県", "福岡市中央区", "810", 33.5891, 130.3926),
    ("北海道", "札幌市中央区", "060", 43.0618, 141.3545), ("宮城県", "仙台市青葉区", "980", 38.2682, 140.8694),
    ("広島県", "広島市中区", "730", 34.3853, 132.4553), ("静岡県", "静岡市葵区", "420", 34.9756, 138.3827),
    ("沖縄県", "那覇市", "900", 26.2124, 127.6809),
]

TOWNS = ["本町", "中央", "栄町", "緑町", "旭町", "桜木町", "東町", "西町", "南町", "北町", "新町", "元町",
         "寿町", "幸町", "宮前", "松が丘", "若葉", "富士見", "日の出町", "青葉台", "港南", "柳町"]
BUILDINGS = ["コーポ", "ハイツ", "メゾン", "レジデンス", "グランドール", "パークサイド"]
BUILDING_NAMES = ["さくら", "みどり", "ひかり", "あおい", "朝日", "白鷺", "花水木", "若竹"]
MAIL_DOMAINS = ["gmail.com", "yahoo.co.jp", "icloud.com", "docomo.ne.jp", "ezweb.ne.jp", "softbank.ne.jp",
                "outlook.jp"]
MOBILE_PREFIXES = ["090", "080", "070"]
COMPANY_WORDS = [("さくら", "sakura"), ("みどり", "midori"), ("あおぞら", "aozora"), ("ひかり", "hikari"),
                 ("つばさ", "tsubasa"), ("大和", "yamato"), ("東洋", "toyo"), ("日の出", "hinode"),
                 ("富士", "fuji"), ("北斗", "hokuto"), ("港", "minato"), ("丸の内", "marunouchi")]
COMPANY_KINDS = [("パーキング", "parking"), ("不動産", "fudosan"), ("地所", "jisho"), ("開発", "kaihatsu"),
                 ("商事", "shoji"), ("モータース", "motors")]
# (brand, prefix from the networks' published test ranges, length)
CARDS = [("VISA", "411111", 16), ("MASTERCARD", "555555", 16), ("JCB", "353011", 16), ("AMEX", "378282", 15)]
WALLETS = ["PayPay", "楽天ペイ", "d払い"]
STATUSES = [("completed", 75), ("cancelled", 12), ("reserved", 8), ("no_show", 5)]

START = dt.datetime(2019, 4, 1)  # the service opened
END = dt.datetime(2026, 3, 31, 23, 59)  # the last day of the data


@dataclass
class Dataset:
    """The generated rows, in insert order, as tuples of Python values (None is NULL)."""

    seed: int
    members_n: int
    rows: dict[str, list[tuple]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {t: len(self.rows[t]) for t in TABLES}


def luhn_complete(body: str) -> str:
    """`body` with the check digit that makes it Luhn-valid appended."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled: these positions are odd-numbered once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def corporate_number(base: str) -> str:
    """A 13-digit Japanese corporate number: the 12-digit `base` behind its check digit
    (9 - the sum of the digits, every second one from the right doubled, modulo 9)."""
    total = sum(int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(base)))
    return str(9 - total % 9) + base


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_complete(number[:-1]) == number


class _Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.emails: set[str] = set()

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def when(self, start: dt.datetime, end: dt.datetime) -> dt.datetime:
        end = min(end, END)
        if start >= end:
            return end
        span = int((end - start).total_seconds()) // 60
        return start + dt.timedelta(minutes=self.r.randrange(span + 1))

    def person(self) -> tuple[tuple, tuple]:
        return self.pick(FAMILY_NAMES), self.pick(GIVEN_NAMES)

    def mobile(self) -> str:
        return f"{self.pick(MOBILE_PREFIXES)}-{self.r.randrange(10000):04d}-{self.r.randrange(10000):04d}"

    def landline(self, postal: str) -> str:
        # Tokyo 03, Osaka 06, elsewhere a 3-digit area code: close enough to production's shapes
        area = {"1": "03", "5": "06"}.get(postal[0])
        if area:
            return f"{area}-{self.r.randrange(1000, 10000)}-{self.r.randrange(10000):04d}"
        return f"0{self.r.randrange(11, 100)}-{self.r.randrange(100, 1000)}-{self.r.randrange(10000):04d}"

    def email(self, family: str, given: str, birth_year: int | None) -> str:
        f, g = family.lower(), given.lower()
        shape = self.r.randrange(4)
        if shape == 0:
            local = f"{g}.{f}"
        elif shape == 1:
            local = f"{f}{g[0]}{(birth_year or self.r.randrange(1960, 2005)) % 100:02d}"
        elif shape == 2:
            local = f"{g}_{self.r.randrange(1, 1000)}"
        else:
            local = f"{g[0]}.{f}.{self.r.randrange(10, 100)}"
        domain = self.pick(MAIL_DOMAINS)
        address = f"{local}@{domain}"
        n = 2
        while address in self.emails:
            address = f"{local}{n}@{domain}"
            n += 1
        self.emails.add(address)
        return address

    def place(self) -> tuple[str, str, str, str, float, float]:
        pref, city, postal3, lat, lon = self.pick(PLACES)
        postal = f"{postal3}-{self.r.randrange(10000):04d}"
        street = f"{self.pick(TOWNS)}{self.r.randrange(1, 8)}丁目{self.r.randrange(1, 30)}番{self.r.randrange(1, 20)}号"
        return pref, city, postal, street, lat, lon

    def card(self, holder: str, issued: dt.datetime) -> dict:
        brand, prefix, length = self.pick(CARDS)
        body = prefix + "".join(str(self.r.randrange(10)) for _ in range(length - len(prefix) - 1))
        expiry = issued + dt.timedelta(days=365 * self.r.randrange(3, 6))
        return {"brand": brand, "number": luhn_complete(body), "holder": holder,
                "expiry": f"{expiry.month:02d}/{expiry.year % 100:02d}"}


def _ts(t: dt.datetime) -> str:
    return t.isoformat(sep=" ")


def generate(members: int = DEFAULT_MEMBERS, seed: int = DEFAULT_SEED) -> Dataset:
    if members < 1:
        raise ValueError("members must be at least 1")
    g = _Gen(seed)
    data = Dataset(seed, members)

    member_rows, people = [], []
    for mid in range(1, members + 1):
        (fk, fkana, fr), (gk, gkana, gr) = g.person()
        birth = None
        if g.r.randrange(10) < 8:  # the birth date is optional at sign-up
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=g.r.randrange(365 * 55))
        pref, city, postal, street, _, _ = g.place()
        if g.r.randrange(3) == 0:
            street += f" {g.pick(BUILDINGS)}{g.pick(BUILDING_NAMES)} {g.r.randrange(1, 9)}0{g.r.randrange(1, 9)}号室"
        phone = g.mobile()
        email = g.email(fr, gr, birth.year if birth else None)
        created = g.when(START, END - dt.timedelta(days=30))
        member_rows.append((mid, f"{fk} {gk}", f"{fkana} {gkana}", email, phone, postal, pref, city, street,
                            birth.isoformat() if birth else None, _ts(created)))
        people.append({"name": f"{fk} {gk}", "romaji": f"{gr} {fr}", "email": email, "phone": phone,
                       "created": created, "card": g.card(f"{gr} {fr}", created)})
    data.rows["members"] = member_rows

    company_rows, companies = [], []
    used_names: set[str] = set()
    for cid in range(1, max(3, members // 200) + 1):
        (word, wslug), (kind, kslug) = g.pick(COMPANY_WORDS), g.pick(COMPANY_KINDS)
        name = f"株式会社{word}{kind}"
        slug = f"{wslug}-{kslug}"
        if name in used_names:
            name, slug = f"{name}{cid}", f"{slug}{cid}"
        used_names.add(name)
        (fk, _, fr), (gk, _, gr) = g.person()
        pref, city, postal, _, _, _ = g.place()
        contact_email = f"{fr.lower()}.{gr[0].lower()}@{slug}.co.jp"
        company_rows.append((cid, name, corporate_number("".join(str(g.r.randrange(10)) for _ in range(12))),
                             f"{fk} {gk}",
                             contact_email, g.landline(postal), _ts(g.when(START, START + dt.timedelta(days=400)))))
        companies.append({"email": contact_email, "name": name})
    data.rows["companies"] = company_rows

    owner_rows, owners = [], []
    owner_members = sorted(g.r.sample(range(1, members + 1), max(1, members // 25)))
    for cid in range(1, len(companies) + 1):
        owner_rows.append((len(owner_rows) + 1, None, cid, g.pick([80, 85, 90]),
                           company_rows[cid - 1][6]))
        owners.append(("company", cid))
    for mid in owner_members:
        created = people[mid - 1]["created"]
        owner_rows.append((len(owner_rows) + 1, mid, None, 70,
                           _ts(g.when(created, created + dt.timedelta(days=120)))))
        owners.append(("member", mid))
    data.rows["owners"] = owner_rows

    lot_rows, lots = [], []
    for oid, (kind, ref) in enumerate(owners, start=1):
        for _ in range(g.r.randrange(4, 12) if kind == "company" else 1):
            pref, city, postal, street, lat, lon = g.place()
            town = street.split("丁目")[0]
            if kind == "company":
                name = f"{companies[ref - 1]['name'].removeprefix('株式会社')} {town}丁目第{g.r.randrange(1, 10)}駐車場"
                capacity, price = g.r.randrange(5, 61), 200 + 50 * g.r.randrange(13)
            else:
                name = f"{town}丁目 住宅前スペース"
                capacity, price = g.r.randrange(1, 4), 100 + 10 * g.r.randrange(31)
            description = g.pick(["入口は大通り側です。", "高さ制限2.1m。", "24時間出し入れ可能です。",
                                  "夜間は照明があります。", None, None])
            if kind == "member" and g.r.randrange(3) == 0:
                description = f"満車や不明点はオーナー（{people[ref - 1]['phone']}）までご連絡ください。"
            elif kind == "company" and g.r.randrange(4) == 0:
                description = f"お問い合わせ: {companies[ref - 1]['email']}"
            created = dt.datetime.fromisoformat(owner_rows[oid - 1][4])
            lot_rows.append((len(lot_rows) + 1, oid, name, postal, f"{pref}{city}{street}",
                             f"{lat + g.r.uniform(-0.02, 0.02):.6f}", f"{lon + g.r.uniform(-0.02, 0.02):.6f}",
                             capacity, price, description,
                             _ts(g.when(created, created + dt.timedelta(days=60)))))
            lots.append({"price": price, "created": dt.datetime.fromisoformat(lot_rows[-1][10])})
    data.rows["parking_lots"] = lot_rows

    reservation_rows = []
    statuses, weights = zip(*STATUSES)
    for rid in range(1, 4 * members + 1):
        mid = g.r.randrange(1, members + 1)
        lid = g.r.randrange(1, len(lots) + 1)
        person, lot = people[mid - 1], lots[lid - 1]
        first = max(person["created"], lot["created"]) + dt.timedelta(days=1)
        booked = g.when(first, END)
        starts = (booked + dt.timedelta(hours=g.r.randrange(1, 24 * 14))).replace(minute=0, second=0)
        hours = g.pick([1, 1, 2, 2, 3, 4, 8, 12, 24])
        ends = starts + dt.timedelta(hours=hours)
        status = "reserved" if starts > END else g.r.choices(statuses, weights)[0]
        amount = lot["price"] * hours if status != "cancelled" else 0
        billing_email = person["email"]
        if g.r.randrange(10) == 0:
            billing_email = g.pick(companies)["email"]  # a company pays for the trip
        if g.r.randrange(7) == 0:
            payment = {"method": "wallet", "wallet": {"provider": g.pick(WALLETS), "phone": person["phone"]},
                       "billing": {"name": person["name"], "email": billing_email}, "amount": amount}
        else:
            payment = {"method": "card", "card": dict(person["card"]),
                       "billing": {"name": person["name"], "email": billing_email}, "amount": amount,
                       "installments": 1, "charge_id": f"ch_{g.r.getrandbits(64):016x}"}
        note = None
        roll = g.r.randrange(20)
        if roll < 3:
            note = g.pick(["ゲート横のスペースに停めます。", "軽自動車です。", "ワンボックスカーで伺います。",
                           "車高が高いので入れるか心配です。", "到着が30分ほど遅れるかもしれません。"])
        elif roll == 3:
            note = f"到着が遅れる場合は {person['phone']} までご連絡ください。"
        elif roll == 4:
            note = f"領収書は {billing_email} 宛にお願いします。"
        elif roll == 5:
            note = f"連絡先 {person['phone'].replace('-', '')} / {person['email']}"
        reservation_rows.append((rid, mid, lid, _ts(starts), _ts(ends), amount, status,
                                 json.dumps(payment, ensure_ascii=False, sort_keys=True), note,
                                 _ts(booked)))
    data.rows["reservations"] = reservation_rows
    return data


# --- SQL -----------------------------------------------------------------------------------------
COLUMNS = {
    "members": ["id", "name", "name_kana", "email", "phone", "postal_code", "prefecture", "city", "street",
                "birth_date", "created_at"],
    "companies": ["id", "name", "corporate_number", "contact_name", "contact_email", "phone", "created_at"],
    "owners": ["id", "member_id", "company_id", "payout_percent", "registered_at"],
    "parking_lots": ["id", "owner_id", "name", "postal_code", "address", "latitude", "longitude", "capacity",
                     "hourly_price", "description", "created_at"],
    "reservations": ["id", "member_id", "lot_id", "starts_at", "ends_at", "amount", "status", "payment", "note",
                     "created_at"],
}


def schema_sql(dialect: str) -> str:
    """DROP and CREATE of the tables and the view (no rows)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}: one of {', '.join(DIALECTS)}")
    my = dialect == "mysql"
    ts = "DATETIME" if my else "timestamp"
    json_t = "JSON" if my else "jsonb"
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" if my else ""
    status = ("ENUM('reserved','completed','cancelled','no_show') NOT NULL" if my else
              "varchar(16) NOT NULL CHECK (status IN ('reserved','completed','cancelled','no_show'))")
    small = "TINYINT" if my else "smallint"
    return f"""DROP VIEW IF EXISTS member_spending;
DROP TABLE IF EXISTS reservations;
DROP TABLE IF EXISTS parking_lots;
DROP TABLE IF EXISTS owners;
DROP TABLE IF EXISTS companies;
DROP TABLE IF EXISTS members;
CREATE TABLE members (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(64) NOT NULL,
  name_kana VARCHAR(64) NOT NULL,
  email VARCHAR(255) NOT NULL,
  phone VARCHAR(24) NOT NULL,
  postal_code VARCHAR(10) NOT NULL,
  prefecture VARCHAR(16) NOT NULL,
  city VARCHAR(64) NOT NULL,
  street VARCHAR(128) NOT NULL,
  birth_date DATE NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT uq_members_email UNIQUE (email)
){tail};
CREATE TABLE companies (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  corporate_number CHAR(13) NOT NULL,
  contact_name VARCHAR(64) NOT NULL,
  contact_email VARCHAR(255) NOT NULL,
  phone VARCHAR(24) NOT NULL,
  created_at {ts} NOT NULL
){tail};
CREATE TABLE owners (
  id INT NOT NULL PRIMARY KEY,
  member_id INT NULL,
  company_id INT NULL,
  payout_percent {small} NOT NULL,
  registered_at {ts} NOT NULL,
  CONSTRAINT uq_owners_member UNIQUE (member_id),
  CONSTRAINT uq_owners_company UNIQUE (company_id),
  CONSTRAINT fk_owners_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_owners_company FOREIGN KEY (company_id) REFERENCES companies (id)
){tail};
CREATE TABLE parking_lots (
  id INT NOT NULL PRIMARY KEY,
  owner_id INT NOT NULL,
  name VARCHAR(128) NOT NULL,
  postal_code VARCHAR(10) NOT NULL,
  address VARCHAR(255) NOT NULL,
  latitude DECIMAL(9,6) NOT NULL,
  longitude DECIMAL(9,6) NOT NULL,
  capacity {small} NOT NULL,
  hourly_price INT NOT NULL,
  description TEXT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT fk_lots_owner FOREIGN KEY (owner_id) REFERENCES owners (id)
){tail};
CREATE TABLE reservations (
  id INT NOT NULL PRIMARY KEY,
  member_id INT NOT NULL,
  lot_id INT NOT NULL,
  starts_at {ts} NOT NULL,
  ends_at {ts} NOT NULL,
  amount INT NOT NULL,
  status {status},
  payment {json_t} NOT NULL,
  note TEXT NULL,
  created_at {ts} NOT NULL,
  CONSTRAINT fk_reservations_member FOREIGN KEY (member_id) REFERENCES members (id),
  CONSTRAINT fk_reservations_lot FOREIGN KEY (lot_id) REFERENCES parking_lots (id)
){tail};
CREATE INDEX ix_reservations_lot_start ON reservations (lot_id, starts_at);
CREATE VIEW member_spending AS
  SELECT m.id AS member_id, COUNT(r.id) AS completed, SUM(r.amount) AS spent
  FROM members m JOIN reservations r ON r.member_id = m.id
  WHERE r.status = 'completed'
  GROUP BY m.id;
"""


_UNSAFE = re.compile(r"[\\\x00-\x1f]")


def _literal(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    # Every generated text is free of backslashes and control characters, so doubling quotes is
    # the one escape both MySQL and PostgreSQL read alike.
    if _UNSAFE.search(s):
        raise ValueError(f"generated text needs escaping: {s!r}")
    return "'" + s.replace("'", "''") + "'"


def data_sql(data: Dataset) -> str:
    out: list[str] = []
    for table in TABLES:
        rows = data.rows[table]
        cols = ", ".join(COLUMNS[table])
        for i in range(0, len(rows), INSERT_BATCH):
            batch = rows[i:i + INSERT_BATCH]
            values = ",\n".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in batch)
            out.append(f"INSERT INTO {table} ({cols}) VALUES\n{values};\n")
    return "".join(out)


def script(members: int = DEFAULT_MEMBERS, seed: int = DEFAULT_SEED, dialect: str = "mysql") -> str:
    """The whole SQL script: header, schema, rows. Run it in the target database."""
    data = generate(members, seed)
    head = (f"-- kirikae story data v{GENERATOR_VERSION}: a parking-space sharing service's production database\n"
            f"-- members={members} seed={seed} dialect={dialect}; "
            f"rows: {', '.join(f'{t} {n}' for t, n in data.counts().items())}\n")
    if dialect == "mysql":
        head += "SET NAMES utf8mb4;\n"
    else:
        head += "SET client_encoding = 'UTF8';\n"
    return head + schema_sql(dialect) + data_sql(data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kirikae_emulator.story_data",
                                description="Print the story's production database as a SQL script.")
    p.add_argument("--members", type=int, default=DEFAULT_MEMBERS,
                   help=f"members (default {DEFAULT_MEMBERS}); the other tables scale with it")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--dialect", choices=DIALECTS, default="mysql")
    args = p.parse_args(argv)
    if args.members < 1:
        p.error("--members must be at least 1")
    sys.stdout.buffer.write(script(args.members, args.seed, args.dialect).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes detect_labelled.tsv: values labelled with the kind of personal data they are, for the
detection test (tests/detect.rs). Each line is `kind<TAB>value`; kind `none` marks a hard
negative (order numbers, ISBNs, timestamps, Luhn-valid ids that are not cards, product codes,
company and product names, sentences without personal data).

`python3 crates/kirikae-mask/tests/data/detect_labelled.py > crates/kirikae-mask/tests/data/detect_labelled.tsv`

The same bytes on every run (fixed seed). Names and places are lists written here, not the
masking dictionaries, so recall shows what the dictionaries miss.
"""

import random

R = random.Random(18)

FAMILY = [("佐藤", "サトウ", "Sato"), ("鈴木", "スズキ", "Suzuki"), ("高橋", "タカハシ", "Takahashi"),
          ("田中", "タナカ", "Tanaka"), ("伊藤", "イトウ", "Ito"), ("渡辺", "ワタナベ", "Watanabe"),
          ("山本", "ヤマモト", "Yamamoto"), ("中村", "ナカムラ", "Nakamura"), ("小林", "コバヤシ", "Kobayashi"),
          ("加藤", "カトウ", "Kato"), ("吉田", "ヨシダ", "Yoshida"), ("山田", "ヤマダ", "Yamada"),
          ("佐々木", "ササキ", "Sasaki"), ("松本", "マツモト", "Matsumoto"), ("井上", "イノウエ", "Inoue"),
          ("木村", "キムラ", "Kimura"), ("林", "ハヤシ", "Hayashi"), ("清水", "シミズ", "Shimizu"),
          ("森", "モリ", "Mori"), ("池田", "イケダ", "Ikeda"), ("橋本", "ハシモト", "Hashimoto"),
          ("石川", "イシカワ", "Ishikawa"), ("前田", "マエダ", "Maeda"), ("藤田", "フジタ", "Fujita"),
          ("岡田", "オカダ", "Okada"), ("後藤", "ゴトウ", "Goto"), ("長谷川", "ハセガワ", "Hasegawa"),
          ("村上", "ムラカミ", "Murakami"), ("近藤", "コンドウ", "Kondo"), ("坂本", "サカモト", "Sakamoto"),
          ("勅使河原", "テシガワラ", "Teshigawara"), ("五十嵐", "イガラシ", "Igarashi")]
GIVEN = [("花子", "ハナコ", "Hanako"), ("太郎", "タロウ", "Taro"), ("一郎", "イチロウ", "Ichiro"),
         ("翔太", "ショウタ", "Shota"), ("美咲", "ミサキ", "Misaki"), ("健太", "ケンタ", "Kenta"),
         ("陽菜", "ヒナ", "Hina"), ("大輔", "ダイスケ", "Daisuke"), ("直樹", "ナオキ", "Naoki"),
         ("さくら", "サクラ", "Sakura"), ("結衣", "ユイ", "Yui"), ("蓮", "レン", "Ren"),
         ("真由美", "マユミ", "Mayumi"), ("浩", "ヒロシ", "Hiroshi"), ("恵", "メグミ", "Megumi"),
         ("拓也", "タクヤ", "Takuya"), ("彩", "アヤ", "Aya"), ("翼", "ツバサ", "Tsubasa"),
         ("千尋", "チヒロ", "Chihiro"), ("悠真", "ユウマ", "Yuma")]
EN_GIVEN = ["John", "Mary", "James", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
            "Emily", "Daniel", "Sarah", "Kevin", "Laura"]
EN_FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
             "Wilson", "Taylor", "Clark", "Lewis", "Walker", "Young"]
PLACES = [("東京都", "新宿区", "160"), ("東京都", "渋谷区", "150"), ("大阪府", "大阪市北区", "530"),
          ("神奈川県", "横浜市中区", "231"), ("北海道", "札幌市中央区", "060"), ("愛知県", "名古屋市中村区", "450"),
          ("福岡県", "福岡市博多区", "812"), ("京都府", "京都市左京区", "606"), ("宮城県", "仙台市青葉区", "980"),
          ("兵庫県", "神戸市中央区", "650")]
TOWNS = ["西新宿", "神宮前", "梅田", "山下町", "北一条西", "名駅", "博多駅前", "下鴨", "一番町", "三宮町"]
STREETS = ["Main", "Oak", "Maple", "Cedar", "Elm", "Lake", "Hill", "Park"]
SUFFIXES = ["St", "Street", "Ave", "Avenue", "Rd", "Blvd", "Lane", "Dr"]
DOMAINS = ["gmail.com", "yahoo.co.jp", "docomo.ne.jp", "ezweb.ne.jp", "icloud.com", "outlook.jp",
           "corp.co.jp", "nifty.com"]
CARDS = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
         ("3528", 16), ("3589", 16), ("36", 14), ("6011", 16), ("65", 16), ("62", 19)]


def luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def digits(n: int) -> str:
    return "".join(str(R.randrange(10)) for _ in range(n))


def group(number: str, sep: str) -> str:
    if not sep:
        return number
    if len(number) == 15:
        return sep.join([number[:4], number[4:10], number[10:]])
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def cards(n):
    for _ in range(n):
        prefix, length = R.choice(CARDS)
        yield group(luhn_complete(prefix + digits(length - len(prefix) - 1)), R.choice(["", " ", "-"]))


def emails(n):
    for _ in range(n):
        f, g = R.choice(FAMILY)[2].lower(), R.choice(GIVEN)[2].lower()
        local = R.choice([f"{g}.{f}", f"{f}{g[0]}{R.randrange(60, 100)}", f"{g}_{R.randrange(1, 999)}",
                          f"{g[0]}-{f}+shop"])
        yield f"{local}@{R.choice(DOMAINS)}"


def phones(n):
    for i in range(n):
        m = f"{R.choice(['090', '080', '070'])}"
        a, b = digits(4), digits(4)
        shape = i % 7
        if shape == 0:
            yield f"{m}-{a}-{b}"
        elif shape == 1:
            yield f"{m}{a}{b}"
        elif shape == 2:
            yield f"03-{a}-{b}"
        elif shape == 3:
            yield f"0{R.randrange(11, 100)}-{digits(3)}-{b}"
        elif shape == 4:
            yield f"+81-{m[1:]}-{a}-{b}"
        elif shape == 5:
            yield f"+81 3 {a} {b}"
        else:
            yield f"(06) {a}-{b}"


def postal_codes(n):
    for i in range(n):
        p = R.choice(PLACES)[2] + "-" + digits(4)
        yield ["", "〒", "〒 ", "〒"][i % 4] + (p.replace("-", "") if i % 4 == 3 else p)


def addresses(n):
    for i in range(n):
        pref, city, _ = R.choice(PLACES)
        town = R.choice(TOWNS)
        a, b, c = R.randrange(1, 9), R.randrange(1, 30), R.randrange(1, 20)
        shape = i % 5
        if shape == 0:
            yield f"{pref}{city}{town}{a}丁目{b}番{c}号"
        elif shape == 1:
            yield f"{pref}{city}{town}{a}-{b}-{c}"
        elif shape == 2:
            yield f"{city}{town}{a}丁目{b}-{c} グランドハイツ{R.randrange(1, 9)}0{R.randrange(1, 9)}号室"
        elif shape == 3:
            yield f"{R.randrange(1, 9999)} {R.choice(STREETS)} {R.choice(SUFFIXES)}"
        else:
            yield f"{R.randrange(1, 999)} {R.choice(STREETS)} {R.choice(SUFFIXES)}, Springfield, IL 62704"


def names(n):
    for i in range(n):
        (fk, fkana, fr), (gk, gkana, gr) = R.choice(FAMILY), R.choice(GIVEN)
        shape = i % 6
        if shape == 0:
            yield f"{fk} {gk}"
        elif shape == 1:
            yield f"{fk}　{gk}"
        elif shape == 2:
            yield f"{fkana} {gkana}"
        elif shape == 3:
            yield f"{gr} {fr}"
        elif shape == 4:
            yield f"{fr.upper()} {gr.upper()}"
        else:
            yield f"{R.choice(EN_GIVEN)} {R.choice(EN_FAMILY)}"


def negatives():
    for i in range(30):
        yield f"ORD-{2020 + i % 5}-{R.randrange(1000000):06d}"
        yield f"{2020 + i % 5}{R.randrange(1, 13):02d}{R.randrange(1, 29):02d}-{R.randrange(10000):04d}"
    for _ in range(20):
        body = "978" + "4" + digits(8)
        check = (10 - sum(int(d) * (1 if k % 2 == 0 else 3) for k, d in enumerate(body)) % 10) % 10
        isbn = body + str(check)
        yield isbn
        yield f"{isbn[:3]}-{isbn[3]}-{isbn[4:6]}-{isbn[6:12]}-{isbn[12]}"
    for _ in range(20):
        t = f"20{R.randrange(10, 26)}-{R.randrange(1, 13):02d}-{R.randrange(1, 29):02d}"
        yield t
        yield f"{t} {R.randrange(24):02d}:{R.randrange(60):02d}:{R.randrange(60):02d}"
        yield f"{t}T{R.randrange(24):02d}:{R.randrange(60):02d}:00Z"
        yield t.replace("-", "/")
    # Luhn-valid numbers outside every card range: IMEIs (15 digits), loyalty and member ids.
    for _ in range(40):
        first = R.choice("0789")
        yield luhn_complete(first + digits(R.choice([12, 13, 14, 15, 16, 17]) - 1))
        yield luhn_complete("35" + digits(12))  # an IMEI-like 15-digit number
    for _ in range(20):
        yield f"SKU-{R.randrange(100000):05d}-{R.choice(['AB', 'XL', 'JP'])}"
        yield f"{R.choice(['AB', 'XZ', 'KT'])}-{digits(4)}-{digits(4)}"
        yield f"{digits(4)}-{digits(4)}-{digits(4)}"  # a tracking number
        yield digits(7)
        yield f"{R.randrange(1, 100)}.{R.randrange(10)}.{R.randrange(10)}"
        yield f"ch_{R.getrandbits(64):016x}"
        yield f"{R.randrange(1, 10)},{R.randrange(1000):03d}"
        yield f"{R.randrange(1, 13):02d}/{R.randrange(24, 31)}"
    yield from ["株式会社山田商事", "ワイヤレスマウス", "東京駅", "Sales", "PayPay", "VISA", "card",
                "completed", "ゲート横のスペースに停めます。", "軽自動車です。", "Widget Pro",
                "Premium Plan", "Tokyo Tower", "高さ制限2.1m。", "hello world", "N/A", "未設定",
                "山田商店 梅田店", "東京", "大阪府", "新宿区", "Main Street", "Apple Pay",
                "Green Tea", "Sakura Cafe", "日本橋 本店", "営業部", "社長", "会議室A",
                "noreply@example.com", "test@example.invalid", "192.168.0.1",
                "550e8400-e29b-41d4-a716-446655440000", "12:30", "1500", "true"]


def main():
    rows = []
    rows += [("card", v) for v in cards(60)]
    rows += [("email", v) for v in emails(50)]
    rows += [("phone", v) for v in phones(70)]
    rows += [("postal_code", v) for v in postal_codes(40)]
    rows += [("address", v) for v in addresses(50)]
    rows += [("person_name", v) for v in names(90)]
    rows += [("none", v) for v in negatives()]
    for kind, value in rows:
        print(f"{kind}\t{value}")


if __name__ == "__main__":
    main()

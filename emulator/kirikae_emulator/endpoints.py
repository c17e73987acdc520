"""RDS endpoint names as AWS makes them, for the emulator's clusters and instances.

AWS names a cluster `<cluster>.cluster-<id>.<region>.rds.amazonaws.com` (writer),
`<cluster>.cluster-ro-<id>.<region>.rds.amazonaws.com` (readers) and an instance
`<instance>.<id>.<region>.rds.amazonaws.com`, where `<id>` is 12 lowercase letters and digits
fixed per account and region. Here `<id>` is derived from the account and region (a hash), so
the same cluster name in two accounts gets two different names, and scripts/db can put the
names into the private servers' certificate before any emulator runs.

These names never resolve: nothing connects to them directly. A client reaches them through a
tunnel command, the emulator's "bastion" (bastion.py), which asks the emulator where each name
lives (GET /_kirikae/resolve).

Standard library only: scripts/db runs this with the system's python3 (before .venv exists):

    python3 -m kirikae_emulator endpoint-id ACCOUNT REGION   -> the 12-character id
    python3 -m kirikae_emulator endpoint-sans                -> the certificate's DNS names, one a line
"""

from __future__ import annotations

import hashlib

DOMAIN = "rds.amazonaws.com"
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"

# Every (account, region) the repository's tests, seeds and demo use: the private servers'
# certificate carries their names (scripts/db). The story's jump / prod / dev accounts, the other
# accounts of the tests, and moto's default account; the story's region and us-east-1.
KNOWN_ACCOUNTS = (
    "100000000000", "111111111111", "222222222222", "333333333333",
    "444444444444", "555555555555", "666666666666", "123456789012",
)
KNOWN_REGIONS = ("ap-northeast-1", "us-east-1")

# Names the TLS tests already verify against (kept valid): a fixed id `kirikae`.
LEGACY_SANS = (
    f"*.cluster-kirikae.ap-northeast-1.{DOMAIN}",
    f"*.cluster-ro-kirikae.ap-northeast-1.{DOMAIN}",
    f"*.ap-northeast-1.{DOMAIN}",
)


def endpoint_id(account: str, region: str) -> str:
    """The 12-character id of an (account, region), like RDS's: lowercase, starts with a letter."""
    n = int.from_bytes(hashlib.sha256(f"kirikae-rds-endpoint:{account}:{region}".encode()).digest(), "big")
    n, first = divmod(n, 26)
    chars = [ALPHABET[10 + first]]
    for _ in range(11):
        n, r = divmod(n, 36)
        chars.append(ALPHABET[r])
    return "".join(chars)


def cluster_endpoint(cluster_id: str, account: str, region: str) -> str:
    return f"{cluster_id.lower()}.cluster-{endpoint_id(account, region)}.{region}.{DOMAIN}"


def reader_endpoint(cluster_id: str, account: str, region: str) -> str:
    return f"{cluster_id.lower()}.cluster-ro-{endpoint_id(account, region)}.{region}.{DOMAIN}"


def instance_endpoint(instance_id: str, account: str, region: str) -> str:
    return f"{instance_id.lower()}.{endpoint_id(account, region)}.{region}.{DOMAIN}"


def default_port(engine: str | None) -> int | None:
    """The engine's own port (what RDS reports when Port was not given)."""
    if engine in ("aurora", "aurora-mysql", "mysql", "mariadb"):
        return 3306
    if engine in ("aurora-postgresql", "postgres"):
        return 5432
    return None


def sans(accounts=KNOWN_ACCOUNTS, regions=KNOWN_REGIONS) -> list[str]:
    """The wildcard DNS names a server certificate needs for every cluster, reader and instance
    name of these accounts and regions (a wildcard covers one label: the cluster's name)."""
    out = list(LEGACY_SANS)
    for region in regions:
        for account in accounts:
            eid = endpoint_id(account, region)
            out += [f"*.cluster-{eid}.{region}.{DOMAIN}", f"*.cluster-ro-{eid}.{region}.{DOMAIN}",
                    f"*.{eid}.{region}.{DOMAIN}"]
    return out

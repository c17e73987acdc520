"""The story's bill: six closed months and the month to date, seeded into the emulator's Cost
Explorer (cost_explorer.py) so `kirikae audit cost` has something true to say.

The jump account is the payer (management account) of prod and dev. What the bill shows:
- prod: almost everything tagged env=prod (S3 untagged, ~3 %: under the 10 % line, fine);
  Extended Support billed on RDS (`APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7`) in the last two
  closed months and the month to date.
- dev: EC2 jumps in the last closed month (a g5.xlarge experiment left running, untagged): a
  month-over-month jump, and an untagged share far above 10 %.
- cost-allocation tags: `env` active, `owner` inactive.
Months are counted back from today (UTC), so the bill always ends in the current month.
"""

from __future__ import annotations

import calendar
import datetime

import requests

JUMP, PROD, DEV = "100000000000", "111111111111", "222222222222"
CLOSED_MONTHS = 6
RDS = "Amazon Relational Database Service"
EC2 = "Amazon Elastic Compute Cloud - Compute"
EC2_OTHER = "EC2 - Other"
ELB = "Amazon Elastic Load Balancing"
S3 = "Amazon Simple Storage Service"
EXTENDED_SUPPORT = "APN1-ExtendedSupport:Yr1-Yr2:MySQL5.7"
REGION = "ap-northeast-1"


def months(today: datetime.date, closed: int = CLOSED_MONTHS) -> list[str]:
    """`closed` closed months, oldest first, then the current one."""
    out = []
    y, m = today.year, today.month
    for _ in range(closed + 1):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def _line(account, month, service, usage_type, amount, env=None):
    tags = {"env": env} if env else {}
    return {"account": account, "month": month, "service": service, "usage_type": usage_type,
            "region": REGION, "tags": tags, "amount": round(amount, 2)}


def bill(today: datetime.date) -> list[dict]:
    ms = months(today)
    current = ms[-1]
    share = today.day / calendar.monthrange(today.year, today.month)[1]
    lines = []
    for i, month in enumerate(ms):
        k = share if month == current else 1.0
        last_two = i >= len(ms) - 3  # the last two closed months and the current one
        lines += [
            _line(PROD, month, RDS, "APN1-InstanceUsage:db.r6g.large", 820 * k, "prod"),
            _line(PROD, month, RDS, "APN1-Aurora:StorageUsage", (90 + i) * k, "prod"),
            _line(PROD, month, EC2, "APN1-BoxUsage:t3.large", 410 * k, "prod"),
            _line(PROD, month, EC2_OTHER, "APN1-NatGateway-Hours", 130 * k, "prod"),
            _line(PROD, month, ELB, "APN1-LoadBalancerUsage", 60 * k, "prod"),
            _line(PROD, month, S3, "APN1-TimedStorage-ByteHrs", 40 * k),
            _line(DEV, month, EC2, "APN1-BoxUsage:t3.medium", 150 * k, "dev"),
            _line(DEV, month, RDS, "APN1-InstanceUsage:db.t3.medium", 110 * k, "dev"),
            _line(DEV, month, S3, "APN1-TimedStorage-ByteHrs", 35 * k),
        ]
        if last_two:
            lines.append(_line(PROD, month, RDS, EXTENDED_SUPPORT, 146 * k, "prod"))
        if i >= len(ms) - 2:  # the last closed month and the current one
            lines.append(_line(DEV, month, EC2, "APN1-BoxUsage:g5.xlarge", 380 * k))
    return lines


def seed_costs(endpoint: str, today: datetime.date | None = None) -> dict:
    """Seeds the story's bill; returns what the emulator holds."""
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    r = requests.delete(f"{endpoint}/_kirikae/ce", timeout=30)
    r.raise_for_status()
    r = requests.post(f"{endpoint}/_kirikae/ce", timeout=30, json={
        "lines": bill(today),
        "payers": {JUMP: [PROD, DEV]},
        "cost_allocation_tags": {JUMP: [
            {"TagKey": "env", "Status": "Active", "Type": "UserDefined"},
            {"TagKey": "owner", "Status": "Inactive", "Type": "UserDefined"},
        ]},
    })
    r.raise_for_status()
    return r.json()

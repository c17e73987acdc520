"""Availability Zone ids per account, as on AWS (moto 5.2.5 gives every account the same mapping).

On AWS an AZ *name* (`ap-northeast-1a`) is mapped to a physical AZ, named by its *id*
(`apne1-az4`), separately for each account: `ap-northeast-1a` of prod and of dev may be two
different AZs. `kirikae audit az` shows the mapping of every account side by side; with moto's one
mapping for all, that view could not show anything.

What changes:
- DescribeAvailabilityZones: the region's ids are rotated among its names by a fixed amount derived
  from the account id (sha256 of the id, first byte, modulo the number of AZs), so two accounts
  usually differ and each account always answers the same. Filters on `zone-id` and ZoneIds use the
  account's ids.
- A subnet's `AvailabilityZoneId` is its AZ's id in the subnet's account; CreateSubnet with
  `AvailabilityZoneId` takes the account's id.

What still differs from AWS: AWS's mapping is random per account, not derived from its id.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from .settings import EmulatorSettings

_ORIG: dict[str, Any] = {}


def shift(account_id: str, n: int) -> int:
    """How far an account's ids are rotated among the region's names."""
    return hashlib.sha256(account_id.encode()).digest()[0] % n if n else 0


def account_zone_ids(account_id: str, region: str) -> dict[str, str]:
    """{AZ name: AZ id} of `account_id` in `region`."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

    zones = RegionsAndZonesBackend.zones.get(region, [])
    names = [z.name for z in zones]
    ids = [z.zone_id for z in zones]
    k = shift(account_id, len(ids))
    return {name: ids[(i + k) % len(ids)] for i, name in enumerate(names)}


def describe_availability_zones(self, filters=None, zone_names=None, zone_ids=None):
    from moto.utilities.utils import filter_resources

    mapping = account_zone_ids(self.account_id, self.region_name)
    zones = []
    for z in self.zones.get(self.region_name, []):
        mine = copy.copy(z)
        mine.zone_id = mapping.get(z.name, z.zone_id)
        zones.append(mine)
    attr_pairs = (
        ("zone-id", "zone_id"),
        ("zone-type", "zone_type"),
        ("zone-name", "name"),
        ("region-name", "region_name"),
        ("state", "state"),
    )
    result = filter_resources(zones, filters, attr_pairs) if filters else zones
    result = [r for r in result if not zone_ids or r.zone_id in zone_ids]
    return [r for r in result if not zone_names or r.name in zone_names]


def create_subnet(self, vpc_id, cidr_block, ipv6_cidr_block=None, availability_zone=None,
                  availability_zone_id=None, *args, **kwargs):
    if availability_zone_id and not availability_zone:
        by_id = {i: n for n, i in account_zone_ids(self.account_id, self.region_name).items()}
        if availability_zone_id in by_id:
            availability_zone, availability_zone_id = by_id[availability_zone_id], None
    return _ORIG["create_subnet"](self, vpc_id, cidr_block, ipv6_cidr_block, availability_zone,
                                  availability_zone_id, *args, **kwargs)


def _subnet_zone_id(self) -> str:
    zone = self._availability_zone
    return account_zone_ids(self.ec2_backend.account_id, zone.region_name).get(zone.name, zone.zone_id)


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - the extension interface
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.subnets import Subnet

    if _ORIG:
        return
    for name, fn in (("describe_availability_zones", describe_availability_zones), ("create_subnet", create_subnet)):
        _ORIG[name] = getattr(EC2Backend, name)
        setattr(EC2Backend, name, fn)
    Subnet.availability_zone_id = property(_subnet_zone_id)

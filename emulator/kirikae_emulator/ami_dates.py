"""AMI creation dates, as on AWS (moto 5.2.5 stamps every bundled public AMI with the moment the
emulator started, so every Amazon AMI looks brand new and an old AMI can never be seen).

What changes:
- The bundled AMIs that carry no creation date get the build date in their name, as Amazon names
  its images (`amzn2-ami-hvm-2.0.20260930.0-...`, `amzn-ami-hvm-2018.03.0.20231218.0-...`,
  `ubuntu-xenial-16.04-amd64-server-20170721`, `Windows_Server-2016-...-2017.10.13`), at
  00:00:00 UTC. A name without a date keeps moto's.

What still differs from AWS: the time of day; AMIs registered through the API keep the moment they
were made, as on AWS.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .settings import EmulatorSettings

_ORIG: dict[str, Any] = {}
_STAMP = re.compile(r"(?<!\d)(20\d{2})\.?(\d{2})\.?(\d{2})(?!\d)")


def name_date(name: str | None) -> dt.datetime | None:
    """The last YYYYMMDD or YYYY.MM.DD in an AMI name, if it is a real day."""
    for m in reversed(list(_STAMP.finditer(name or ""))):
        try:
            return dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.timezone.utc)
        except ValueError:
            continue
    return None


def _load_amis(self) -> None:
    from moto.core.utils import utcnow

    # moto stamps an AMI without a date with utcnow(): any loaded now or later was undated.
    before = utcnow()
    _ORIG["_load_amis"](self)
    for ami in self.amis.values():
        created = ami.creation_date
        if isinstance(created, dt.datetime) and created.replace(tzinfo=None) >= before.replace(tzinfo=None):
            when = name_date(getattr(ami, "name", None))
            if when is not None:
                ami.creation_date = when


def install(settings: EmulatorSettings) -> None:  # noqa: ARG001 - the extension interface
    if _ORIG:
        return
    from moto.ec2.models.amis import AmiBackend

    _ORIG["_load_amis"] = AmiBackend._load_amis
    AmiBackend._load_amis = _load_amis

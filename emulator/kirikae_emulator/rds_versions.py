"""RDS DescribeDBMajorEngineVersions, as on AWS (moto 5.2.5 has no handler: NotImplementedError).

AWS answers, per engine and major version, the support lifecycles with their dates:
  {"DBMajorEngineVersions": [{"Engine": "mysql", "MajorEngineVersion": "5.7",
     "SupportedEngineLifecycles": [
        {"LifecycleSupportName": "open-source-rds-standard-support",
         "LifecycleSupportStartDate": ..., "LifecycleSupportEndDate": ...},
        {"LifecycleSupportName": "open-source-rds-extended-support", ...}]}]}
filtered by `Engine` and `MajorEngineVersion`, paginated with `MaxRecords` (20-100) and `Marker`.

The dates answered are AWS's release calendars as of 2026-08 (the RDS and Aurora user guides'
"release calendar" tables, the same dates endoflife.date and kirikae's lifecycle table carry);
`POST /_kirikae/rds/major-engine-versions` with {"versions": [...]}, a list of
  {"engine", "major", "standard": [start, end], "extended": [start, end]}   (dates YYYY-MM-DD)
replaces or adds rows (a test makes AWS disagree with kirikae's table this way); GET lists them;
a moto reset restores the defaults.

What still differs from AWS: Aurora MySQL 3 (8.0) is not described (its dates were not in the
pages this table was read from); the same answer in every region; engines other than MySQL, MariaDB,
PostgreSQL and the Aurora ones are not described.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/rds/major-engine-versions"

# (engine, major) -> ((standard start, end), (extended start, end))
DEFAULTS: dict[tuple[str, str], tuple[tuple[str, str], tuple[str, str]]] = {
    ("mysql", "5.7"): (("2016-02-22", "2024-02-29"), ("2024-03-01", "2029-06-30")),
    ("mysql", "8.0"): (("2018-10-23", "2026-07-31"), ("2026-08-01", "2029-07-31")),
    ("mysql", "8.4"): (("2024-11-21", "2029-07-31"), ("2029-08-01", "2032-07-31")),
    ("postgres", "11"): (("2019-03-13", "2024-02-29"), ("2024-03-01", "2027-03-31")),
    ("postgres", "12"): (("2020-03-31", "2025-02-28"), ("2025-03-01", "2028-02-29")),
    ("postgres", "13"): (("2021-02-24", "2026-02-28"), ("2026-03-01", "2029-02-28")),
    ("postgres", "14"): (("2022-02-03", "2027-02-28"), ("2027-03-01", "2030-02-28")),
    ("postgres", "15"): (("2023-02-27", "2028-02-29"), ("2028-03-01", "2031-02-28")),
    ("postgres", "16"): (("2023-11-17", "2029-02-28"), ("2029-03-01", "2032-02-29")),
    ("postgres", "17"): (("2024-11-14", "2030-02-28"), ("2030-03-01", "2033-02-28")),
    ("aurora-mysql", "5.7"): (("2018-02-06", "2024-10-31"), ("2024-11-01", "2028-02-29")),
    ("aurora-postgresql", "12"): (("2019-11-14", "2025-02-28"), ("2025-03-01", "2028-02-29")),
    ("aurora-postgresql", "16"): (("2023-09-14", "2029-02-28"), ("2029-03-01", "2032-02-28")),
}

_lock = threading.Lock()
_rows: dict[tuple[str, str], tuple[tuple[str, str], tuple[str, str]]] = dict(DEFAULTS)
_ORIG: dict = {}


def reset() -> None:
    with _lock:
        _rows.clear()
        _rows.update(DEFAULTS)


def _day(s: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(s), dt.time(), tzinfo=dt.timezone.utc)


def _version(engine: str, major: str, dates) -> dict:
    (s0, s1), (e0, e1) = dates
    return {
        "Engine": engine,
        "MajorEngineVersion": major,
        "SupportedEngineLifecycles": [
            {"LifecycleSupportName": "open-source-rds-standard-support",
             "LifecycleSupportStartDate": _day(s0), "LifecycleSupportEndDate": _day(s1)},
            {"LifecycleSupportName": "open-source-rds-extended-support",
             "LifecycleSupportStartDate": _day(e0), "LifecycleSupportEndDate": _day(e1)},
        ],
    }


def describe(engine: str | None, major: str | None, max_records: int | None, marker: str | None) -> dict:
    from moto.rds.exceptions import InvalidParameterValue

    if max_records is not None and not 20 <= max_records <= 100:
        raise InvalidParameterValue("MaxRecords must be between 20 and 100")
    with _lock:
        rows = sorted(_rows.items())
    found = [_version(e, m, d) for (e, m), d in rows
             if (engine is None or e == engine) and (major is None or m == major)]
    start = int(marker) if marker and marker.isdigit() else 0
    size = max_records or 100
    out: dict = {"DBMajorEngineVersions": found[start:start + size]}
    if start + size < len(found):
        out["Marker"] = str(start + size)
    return out


def _response(self):
    from moto.core.responses import ActionResult

    p = self.params
    max_records = p.get("MaxRecords")
    return ActionResult(describe(p.get("Engine"), p.get("MajorEngineVersion"),
                                 int(max_records) if max_records else None, p.get("Marker")))


def _parse(body: dict) -> dict:
    body = body.get("versions") if set(body) == {"versions"} else None
    if not isinstance(body, list):
        raise ValueError("expected {\"versions\": [{engine, major, standard: [start, end], extended: [start, end]}]}")
    out = {}
    for r in body:
        if not isinstance(r, dict) or set(r) != {"engine", "major", "standard", "extended"}:
            raise ValueError(f"{r!r}: expected exactly engine, major, standard, extended")
        for key in ("standard", "extended"):
            pair = r[key]
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError(f"{key}: [start, end] as YYYY-MM-DD")
            for d in pair:
                dt.date.fromisoformat(d)
        out[(str(r["engine"]), str(r["major"]))] = (tuple(r["standard"]), tuple(r["extended"]))
    return out


def _admin(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        try:
            update = _parse(protocol.read_json(environ))
        except (ValueError, TypeError) as exc:
            return protocol.json_response(start_response, 400, {"error": f"bad major engine versions: {exc}"})
        with _lock:
            _rows.update(update)
    elif method != "GET":
        return protocol.json_response(start_response, 405, {"error": "use GET or POST"})
    with _lock:
        listed = [{"engine": e, "major": m, "standard": list(d[0]), "extended": list(d[1])}
                  for (e, m), d in sorted(_rows.items())]
    return protocol.json_response(start_response, 200, {"versions": copy.deepcopy(listed)})


def wrap(app, settings: EmulatorSettings):  # noqa: ARG001 - the extension interface
    def middleware(environ, start_response):
        if environ.get("PATH_INFO", "") == ADMIN:
            return _admin(environ, start_response)
        return app(environ, start_response)

    return middleware


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(reset)
    if _ORIG:
        return
    from moto.rds import responses as rds_responses

    _ORIG["installed"] = True
    rds_responses.RDSResponse.describe_db_major_engine_versions = _response

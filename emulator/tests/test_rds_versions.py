"""RDS DescribeDBMajorEngineVersions (the rds_versions extension): AWS's shape, filters, paging,
and dates a test can set."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from kirikae_emulator.seed import PROD


def _post(endpoint: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(f"{endpoint}/_kirikae/rds/major-engine-versions", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_answers_each_major_version_with_its_standard_and_extended_support(endpoint, client_factory):
    rds = client_factory("rds", account=PROD)
    got = rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="5.7")["DBMajorEngineVersions"]
    assert len(got) == 1
    v = got[0]
    assert (v["Engine"], v["MajorEngineVersion"]) == ("mysql", "5.7")
    lifecycles = {l["LifecycleSupportName"]: l for l in v["SupportedEngineLifecycles"]}
    assert set(lifecycles) == {"open-source-rds-standard-support", "open-source-rds-extended-support"}
    std = lifecycles["open-source-rds-standard-support"]
    assert std["LifecycleSupportEndDate"].date() == dt.date(2024, 2, 29)
    assert lifecycles["open-source-rds-extended-support"]["LifecycleSupportStartDate"].date() == dt.date(2024, 3, 1)

    postgres = rds.describe_db_major_engine_versions(Engine="postgres")["DBMajorEngineVersions"]
    assert {v["Engine"] for v in postgres} == {"postgres"}
    assert len(postgres) >= 5
    assert rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="4.1")["DBMajorEngineVersions"] == []


def test_pages_with_marker_and_refuses_a_bad_max_records(endpoint, client_factory):
    rds = client_factory("rds", account=PROD)
    everything = rds.describe_db_major_engine_versions()["DBMajorEngineVersions"]
    first = rds.describe_db_major_engine_versions(MaxRecords=20)
    assert len(everything) <= 20 or "Marker" in first
    pages = [v for p in rds.get_paginator("describe_db_major_engine_versions").paginate(PaginationConfig={"PageSize": 20})
             for v in p["DBMajorEngineVersions"]]
    assert [(v["Engine"], v["MajorEngineVersion"]) for v in pages] == \
        [(v["Engine"], v["MajorEngineVersion"]) for v in everything]
    with pytest.raises(ClientError) as e:
        client_factory("rds", account=PROD, validate=False).describe_db_major_engine_versions(MaxRecords=5)
    assert "MaxRecords" in str(e.value)


def test_a_test_can_make_aws_disagree_and_a_reset_restores_the_calendar(endpoint, client_factory):
    status, _ = _post(endpoint, {"versions": [{"engine": "mysql", "major": "8.4",
                                               "standard": ["2024-11-21", "2026-01-31"],
                                               "extended": ["2026-02-01", "2029-01-31"]}]})
    assert status == 200
    rds = client_factory("rds", account=PROD)
    v = rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="8.4")["DBMajorEngineVersions"][0]
    end = {l["LifecycleSupportName"]: l["LifecycleSupportEndDate"].date() for l in v["SupportedEngineLifecycles"]}
    assert end["open-source-rds-standard-support"] == dt.date(2026, 1, 31)

    status, body = _post(endpoint, {"versions": [{"engine": "mysql", "major": "8.4", "standard": ["soon", "later"],
                                                  "extended": ["2026-02-01", "2029-01-31"]}]})
    assert status == 400 and "bad major engine versions" in body["error"]

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_kirikae/reset", method="POST")).read()
    v = rds.describe_db_major_engine_versions(Engine="mysql", MajorEngineVersion="8.4")["DBMajorEngineVersions"][0]
    end = {l["LifecycleSupportName"]: l["LifecycleSupportEndDate"].date() for l in v["SupportedEngineLifecycles"]}
    assert end["open-source-rds-standard-support"] == dt.date(2029, 7, 31)

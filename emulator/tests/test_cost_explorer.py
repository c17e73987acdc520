"""Cost Explorer per account and month (cost_explorer.py), seeded with the story's bill
(cost_seed.py): what a payer and a linked account see, groups by dimension and tag, the open
month's Estimated flag, pages, and the cost-allocation tags."""

from __future__ import annotations

import datetime

import pytest
import requests
from botocore.exceptions import ClientError

from kirikae_emulator import cost_seed
from kirikae_emulator.seed import DEV, JUMP, PROD


def _period(today):
    ms = cost_seed.months(today)
    y, m = today.year, today.month
    end = datetime.date(y + (m == 12), m % 12 + 1, 1)
    return {"Start": ms[0] + "-01", "End": end.isoformat()}, ms


def _all_pages(ce, **kw):
    results, token, pages = [], None, 0
    while True:
        page = ce.get_cost_and_usage(**kw, **({"NextPageToken": token} if token else {}))
        pages += 1
        results += page["ResultsByTime"]
        token = page.get("NextPageToken")
        if not token:
            return results, pages


def _sums(results):
    out = {}
    for r in results:
        for g in r["Groups"]:
            key = (r["TimePeriod"]["Start"][:7], *g["Keys"])
            out[key] = out.get(key, 0.0) + float(g["Metrics"]["UnblendedCost"]["Amount"])
    return out


@pytest.fixture
def story(endpoint):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cost_seed.seed_costs(endpoint, today)
    return today


def test_the_payer_sees_every_linked_account_and_a_member_only_itself(story, client_factory):
    period, ms = _period(story)
    kw = dict(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
              GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "SERVICE"}])
    payer, _ = _all_pages(client_factory("ce", account=JUMP), **kw)
    accounts = {k[1] for k in _sums(payer)}
    assert accounts == {PROD, DEV}
    dev, _ = _all_pages(client_factory("ce", account=DEV), **kw)
    assert {k[1] for k in _sums(dev)} == {DEV}
    # One result per month, only the current one estimated.
    assert sorted({r["TimePeriod"]["Start"][:7] for r in payer if r["Groups"]}) == ms
    estimated = {r["TimePeriod"]["Start"][:7]: r["Estimated"] for r in dev}
    assert estimated == {m: m == ms[-1] for m in ms}
    # The jump: dev's EC2 from 150 to 530 in the last closed month.
    sums = _sums(dev)
    assert sums[(ms[-3], DEV, cost_seed.EC2)] == pytest.approx(150)
    assert sums[(ms[-2], DEV, cost_seed.EC2)] == pytest.approx(530)


def test_tag_groups_show_the_untagged_share_and_filters_narrow(story, client_factory):
    period, ms = _period(story)
    ce = client_factory("ce", account=JUMP)
    results, _ = _all_pages(ce, TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                            GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "TAG", "Key": "env"}])
    sums = _sums(results)
    last = ms[-2]
    assert sums[(last, DEV, "env$")] == pytest.approx(35 + 380)
    assert sums[(last, DEV, "env$dev")] == pytest.approx(260)
    assert sums[(last, PROD, "env$")] == pytest.approx(40)
    absent, _ = _all_pages(ce, TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                           Filter={"Tags": {"Key": "env", "MatchOptions": ["ABSENT"]}},
                           GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
    assert {k[1] for k in _sums(absent)} == {"APN1-TimedStorage-ByteHrs", "APN1-BoxUsage:g5.xlarge"}
    es, _ = _all_pages(ce, TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                       Filter={"Dimensions": {"Key": "SERVICE", "Values": [cost_seed.RDS]}},
                       GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                                {"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
    billed = {k[0] for k, v in _sums(es).items() if "ExtendedSupport" in k[2]}
    assert billed == set(ms[-3:])


def test_groups_come_in_pages_that_add_up_to_the_whole(story, client_factory, endpoint):
    period, _ = _period(story)
    ce = client_factory("ce", account=JUMP)
    kw = dict(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
              GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
    whole, pages = _all_pages(ce, **kw)
    assert pages == 2  # ~70 groups, 50 a page
    requests.post(f"{endpoint}/_kirikae/ce", json={"page_size": 7}, timeout=10).raise_for_status()
    paged, pages = _all_pages(ce, **kw)
    assert pages > 8
    assert _sums(paged) == pytest.approx(_sums(whole))


def test_bad_requests_are_refused_as_aws_does(story, client_factory):
    period, _ = _period(story)
    ce = client_factory("ce", account=JUMP)
    with pytest.raises(ClientError) as e:
        ce.get_cost_and_usage(TimePeriod={"Start": period["End"], "End": period["Start"]},
                              Granularity="MONTHLY", Metrics=["UnblendedCost"])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ce.get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                              GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}] * 3)
    assert "up to two" in e.value.response["Error"]["Message"]


def test_every_request_is_logged_with_its_period(story, client_factory, endpoint):
    period, _ = _period(story)
    requests.delete(f"{endpoint}/_kirikae/ce", timeout=10)  # forgets the log too
    cost_seed.seed_costs(endpoint, story)
    client_factory("ce", account=DEV).get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY",
                                                         Metrics=["UnblendedCost"])
    client_factory("ce", account=JUMP).list_cost_allocation_tags()
    log = requests.get(f"{endpoint}/_kirikae/ce", timeout=10).json()["requests"]
    assert log == [
        {"account": DEV, "operation": "GetCostAndUsage", "start": period["Start"], "end": period["End"]},
        {"account": JUMP, "operation": "ListCostAllocationTags", "start": None, "end": None},
    ]
    requests.delete(f"{endpoint}/_kirikae/ce/requests", timeout=10).raise_for_status()
    state = requests.get(f"{endpoint}/_kirikae/ce", timeout=10).json()
    assert state["requests"] == [] and state["lines"] > 0


def test_cost_allocation_tags_are_the_payers(story, client_factory):
    for account in (JUMP, PROD):
        tags = client_factory("ce", account=account).list_cost_allocation_tags()["CostAllocationTags"]
        assert {t["TagKey"]: t["Status"] for t in tags} == {"env": "Active", "owner": "Inactive"}
    active = client_factory("ce", account=JUMP).list_cost_allocation_tags(Status="Active")["CostAllocationTags"]
    assert [t["TagKey"] for t in active] == ["env"]
    first = client_factory("ce", account=JUMP).list_cost_allocation_tags(MaxResults=1)
    assert len(first["CostAllocationTags"]) == 1 and first["NextToken"]


def test_an_account_without_costs_gets_empty_months(endpoint, client_factory):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    period, ms = _period(today)
    r = client_factory("ce", account=PROD).get_cost_and_usage(
        TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"])
    assert len(r["ResultsByTime"]) == len(ms)
    assert all(float(x["Total"]["UnblendedCost"]["Amount"]) == 0 for x in r["ResultsByTime"])

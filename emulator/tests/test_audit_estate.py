"""`seed audit` (audit_estate.py): the runtimes estate exists as described, in each account."""

from __future__ import annotations

import argparse
import datetime as dt

from kirikae_emulator import audit_estate
from kirikae_emulator.seed import DEV, PROD


def test_the_estate_has_each_finding_and_its_fine_twin(endpoint, client_factory):
    ids = audit_estate.seed_runtimes(endpoint).ids
    fns = {f["FunctionName"]: f["Runtime"] for f in client_factory("lambda", account=PROD).list_functions()["Functions"]}
    assert fns == {"orders-legacy": "python3.8", "orders-api": "python3.13"}
    dev_fns = [f["FunctionName"] for f in client_factory("lambda", account=DEV).list_functions()["Functions"]]
    assert dev_fns == ["orders-legacy-dev"]
    dbs = {i["DBInstanceIdentifier"]: (i["Engine"], i["EngineVersion"], i["MultiAZ"])
           for i in client_factory("rds", account=PROD).describe_db_instances()["DBInstances"]}
    assert dbs == {"reports-legacy": ("mysql", "5.7.44", True), "billing-current": ("mysql", "8.4.5", True)}
    caches = {c["CacheClusterId"]: c["EngineVersion"]
              for c in client_factory("elasticache", account=PROD).describe_cache_clusters()["CacheClusters"]}
    assert caches == {"sessions-legacy": "5.0.6", "sessions-current": "7.1"}
    ec2 = client_factory("ec2", account=PROD)
    image_of = {i["InstanceId"]: i["ImageId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    names = {i["ImageId"]: i["Name"] for i in ec2.describe_images(ImageIds=list(image_of.values()))["Images"]}
    assert names[image_of[ids["batch-al2"]]].startswith("amzn2-ami-hvm-2.0.")
    assert names[image_of[ids["batch-al2023"]]].startswith("al2023-ami-2023.")

    elbv2 = client_factory("elbv2", account=PROD)
    for name, want in [("web-uneven", ["ap-northeast-1a", "ap-northeast-1a"]),
                       ("web-even", ["ap-northeast-1a", "ap-northeast-1c"])]:
        health = elbv2.describe_target_health(TargetGroupArn=ids[f"{name}-tg"])["TargetHealthDescriptions"]
        assert [h["TargetHealth"]["State"] for h in health] == ["healthy", "healthy"]
        placed = ec2.describe_instances(InstanceIds=[h["Target"]["Id"] for h in health])["Reservations"]
        zones = sorted(i["Placement"]["AvailabilityZone"] for r in placed for i in r["Instances"])
        assert zones == want

    eks = client_factory("eks", account=PROD)
    clusters = {n: eks.describe_cluster(name=n)["cluster"] for n in eks.list_clusters()["clusters"]}
    assert {n: (c["version"], c["upgradePolicy"]["supportType"]) for n, c in clusters.items()} == {
        "platform-legacy": ("1.31", "EXTENDED"), "platform-current": ("1.36", "EXTENDED")}
    assert clusters["platform-legacy"]["arn"] == ids["platform-legacy"]
    assert client_factory("eks", account=DEV).list_clusters()["clusters"] == []

    sq = client_factory("service-quotas", account=PROD)
    applied = {q["QuotaCode"]: q["Value"] for q in sq.list_service_quotas(ServiceCode="rds")["Quotas"]}
    assert applied == {"L-952B80B8": 80.0}
    dev_applied = client_factory("service-quotas", account=DEV).list_service_quotas(ServiceCode="rds")["Quotas"]
    assert [q["Value"] for q in dev_applied] == [1.0]
    cw = client_factory("cloudwatch", account=PROD)

    now = dt.datetime.now(dt.timezone.utc)
    points = cw.get_metric_statistics(Namespace="AWS/Usage", MetricName="ResourceCount", Statistics=["Maximum"],
                                      Dimensions=[{"Name": "Service", "Value": "EC2"}, {"Name": "Type", "Value": "Resource"},
                                                  {"Name": "Resource", "Value": "vCPU"},
                                                  {"Name": "Class", "Value": "Standard/OnDemand"}],
                                      # EndTime a minute ahead: the point was stamped moments ago, and
                                      # moto drops EndTime's fraction of a second (a point stamped in
                                      # the same second as `now` would fall outside).
                                      StartTime=now - dt.timedelta(days=1), EndTime=now + dt.timedelta(minutes=1),
                                      Period=3600)["Datapoints"]
    assert [p["Maximum"] for p in points] == [28.0]


def _inventory(client_factory) -> dict:
    """Everything the seed makes, counted, with the usage points of the last day."""
    out = {}
    for account in (PROD, DEV):
        ec2 = client_factory("ec2", account=account)
        elbv2 = client_factory("elbv2", account=account)
        lbs = elbv2.describe_load_balancers()["LoadBalancers"]
        tgs = elbv2.describe_target_groups()["TargetGroups"]
        out[account] = {
            "functions": sorted(f["FunctionName"] for f in client_factory("lambda", account=account).list_functions()["Functions"]),
            "roles": sorted(r["RoleName"] for r in client_factory("iam", account=account).list_roles()["Roles"]),
            "dbs": sorted(i["DBInstanceIdentifier"] for i in client_factory("rds", account=account).describe_db_instances()["DBInstances"]),
            "caches": sorted(c["CacheClusterId"] for c in client_factory("elasticache", account=account).describe_cache_clusters()["CacheClusters"]),
            "instances": sorted(i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]),
            "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
            "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]),
            "lbs": sorted(lb["LoadBalancerArn"] for lb in lbs),
            "listeners": sorted(x["ListenerArn"] for lb in lbs for x in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]),
            "targets": sorted((tg["TargetGroupName"], h["Target"]["Id"]) for tg in tgs
                              for h in elbv2.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]),
            "clusters": sorted(client_factory("eks", account=account).list_clusters()["clusters"]),
            "quotas": sorted((s, q["QuotaCode"], q["Value"]) for s in ("rds", "ec2")
                             for q in client_factory("service-quotas", account=account).list_service_quotas(ServiceCode=s)["Quotas"]),
        }
    now = dt.datetime.now(dt.timezone.utc)
    out["usage"] = client_factory("cloudwatch", account=PROD).get_metric_statistics(
        Namespace="AWS/Usage", MetricName="ResourceCount", Statistics=["SampleCount"],
        Dimensions=audit_estate.VCPU_USAGE, StartTime=now - dt.timedelta(days=1),
        EndTime=now + dt.timedelta(minutes=1), Period=86400)["Datapoints"][0]["SampleCount"]
    return out


def test_a_second_seed_changes_nothing_and_says_so(endpoint, client_factory, capsys):
    first = audit_estate.seed_runtimes(endpoint)
    assert "orders-legacy" in first.created and "platform-legacy" in first.created
    before = _inventory(client_factory)
    assert before["usage"] == 1.0

    code = audit_estate.main(argparse.Namespace(endpoint=endpoint, quiet=False))
    out = capsys.readouterr().out
    assert code == 0
    assert "is already seeded: nothing changed" in out, out
    assert "created " not in out, out
    assert _inventory(client_factory) == before

    second = audit_estate.seed_runtimes(endpoint)
    assert (second.created, second.ids) == ([], first.ids)
    assert _inventory(client_factory) == before


def test_a_seed_makes_what_is_missing_only(endpoint, client_factory):
    first = audit_estate.seed_runtimes(endpoint)
    client_factory("lambda", account=PROD).delete_function(FunctionName="orders-api")
    client_factory("eks", account=PROD).delete_cluster(name="platform-current")
    again = audit_estate.seed_runtimes(endpoint)
    assert sorted(again.created) == ["orders-api", "platform-current"]
    assert again.ids["orders-legacy"] == first.ids["orders-legacy"]

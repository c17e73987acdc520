"""`seed audit` (audit_estate.py): the runtimes estate exists as described, in each account."""

from __future__ import annotations

import datetime as dt

from kirikae_emulator import audit_estate
from kirikae_emulator.seed import DEV, PROD


def test_the_estate_has_each_finding_and_its_fine_twin(endpoint, client_factory):
    ids = audit_estate.seed_runtimes(endpoint)
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

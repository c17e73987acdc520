"""Service Quotas (the service_quotas extension): defaults beyond VPC, applied values per account
that only ListServiceQuotas and GetServiceQuota show, AWS's errors and ARNs."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from kirikae_emulator.seed import DEV, PROD, REGION


def _apply(endpoint, account, service, code, value):
    return requests.post(f"{endpoint}/_kirikae/servicequotas", json={
        "account": account, "region": REGION, "service": service, "code": code, "value": value}, timeout=10)


def test_defaults_cover_rds_lambda_ec2_with_usage_metrics_and_the_callers_region(endpoint, client_factory):
    sq = client_factory("service-quotas", account=PROD)
    rds = {q["QuotaName"]: q for q in sq.list_aws_default_service_quotas(ServiceCode="rds")["Quotas"]}
    assert rds["DB clusters"]["Value"] == 40.0
    assert rds["DB clusters"]["QuotaArn"] == f"arn:aws:servicequotas:{REGION}::rds/{rds['DB clusters']['QuotaCode']}"
    ec2 = sq.list_aws_default_service_quotas(ServiceCode="ec2")["Quotas"]
    vcpu = next(q for q in ec2 if q["QuotaCode"] == "L-1216C47A")
    assert vcpu["UsageMetric"]["MetricNamespace"] == "AWS/Usage"
    assert vcpu["UsageMetric"]["MetricDimensions"]["Resource"] == "vCPU"
    assert sq.list_aws_default_service_quotas(ServiceCode="lambda")["Quotas"]
    vpc = sq.list_aws_default_service_quotas(ServiceCode="vpc")["Quotas"]
    assert all(f":{REGION}:" in q["QuotaArn"] for q in vpc)
    with pytest.raises(ClientError) as e:
        sq.list_aws_default_service_quotas(ServiceCode="nosuch")
    assert e.value.response["Error"]["Code"] == "NoSuchResourceException"


def test_applied_values_are_per_account_and_listed_only_where_changed(endpoint, client_factory):
    assert _apply(endpoint, DEV, "rds", "L-952B80B8", 2).status_code == 200
    dev = client_factory("service-quotas", account=DEV)
    prod = client_factory("service-quotas", account=PROD)
    listed = dev.list_service_quotas(ServiceCode="rds")["Quotas"]
    assert [(q["QuotaName"], q["Value"]) for q in listed] == [("DB clusters", 2.0)]
    assert listed[0]["QuotaArn"] == f"arn:aws:servicequotas:{REGION}:{DEV}:rds/L-952B80B8"
    assert prod.list_service_quotas(ServiceCode="rds")["Quotas"] == []
    assert dev.get_service_quota(ServiceCode="rds", QuotaCode="L-952B80B8")["Quota"]["Value"] == 2.0
    assert prod.get_service_quota(ServiceCode="rds", QuotaCode="L-952B80B8")["Quota"]["Value"] == 40.0

    bad = _apply(endpoint, DEV, "rds", "L-NOPE", 2)
    assert bad.status_code == 400 and "has no quota L-NOPE" in bad.json()["error"]
    requests.post(f"{endpoint}/_kirikae/reset", timeout=60).raise_for_status()
    assert dev.list_service_quotas(ServiceCode="rds")["Quotas"] == []

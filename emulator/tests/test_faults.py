"""Fault injection: the Nth call of an operation fails in the service's own error format, then
the service answers normally again; delays; listing with hit counts; clearing; reset."""

from __future__ import annotations

import time

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError


def set_fault(endpoint, **spec):
    r = requests.post(f"{endpoint}/_kirikae/faults", json=spec, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def faults(endpoint):
    r = requests.get(f"{endpoint}/_kirikae/faults", timeout=10)
    r.raise_for_status()
    return r.json()["faults"]


def test_query_protocol_nth_call_fails_once_then_normal(endpoint, client_factory):
    rds = client_factory("rds", max_attempts=1)
    set_fault(endpoint, service="rds", operation="DescribeDBClusters", nth=2, times=1,
              error="Throttling", status=400, message="Rate exceeded")
    assert rds.describe_db_clusters()["DBClusters"] == []  # call 1
    with pytest.raises(ClientError) as e:  # call 2
        rds.describe_db_clusters()
    resp = e.value.response
    assert resp["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert rds.describe_db_clusters()["DBClusters"] == []  # call 3: back to normal
    # other operations of the same service were never affected
    rds.describe_db_instances()
    listed = faults(endpoint)
    assert [(f["operation"], f["calls"], f["hits"]) for f in listed] == [("DescribeDBClusters", 3, 1)]


def test_raw_xml_error_body(endpoint, client_factory):
    set_fault(endpoint, service="sts", operation="GetCallerIdentity", error="InternalFailure", status=500,
              message="boom")
    r = requests.post(
        endpoint,
        data="Action=GetCallerIdentity&Version=2011-06-15",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sts/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
        timeout=10,
    )
    assert r.status_code == 500
    assert r.text.startswith("<ErrorResponse><Error><Type>Sender</Type><Code>InternalFailure</Code>"
                             "<Message>boom</Message></Error><RequestId>")


def test_json_protocol_fault(endpoint, client_factory):
    # Secrets Manager speaks JSON (X-Amz-Target: secretsmanager.CreateSecret)
    sm = client_factory("secretsmanager", max_attempts=1)
    set_fault(endpoint, service="secretsmanager", operation="CreateSecret", nth=1, times=2,
              error="ThrottlingException", status=400, message="Rate exceeded")
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            sm.create_secret(Name="db-password", SecretString="s3cret")
        assert e.value.response["Error"]["Code"] == "ThrottlingException"
        assert e.value.response["Error"]["Message"] == "Rate exceeded"
    assert sm.create_secret(Name="db-password", SecretString="s3cret")["Name"] == "db-password"
    r = requests.post(
        endpoint,
        data="{}",
        headers={"X-Amz-Target": "secretsmanager.ListSecrets", "Content-Type": "application/x-amz-json-1.1"},
        timeout=10,
    )
    assert r.status_code == 200  # the fault was for CreateSecret only


def test_json_protocol_raw_body(endpoint):
    set_fault(endpoint, operation="ListSecrets", error="ThrottlingException", message="slow down")
    r = requests.post(
        endpoint,
        data="{}",
        headers={
            "X-Amz-Target": "secretsmanager.ListSecrets",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/ap-northeast-1/"
            "secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        },
        timeout=10,
    )
    assert r.status_code == 400
    assert r.json() == {"__type": "ThrottlingException", "message": "slow down"}


def test_sdk_retry_recovers_from_a_single_throttle(endpoint, client_factory):
    rds = client_factory("rds", max_attempts=3)
    set_fault(endpoint, service="rds", operation="DescribeDBClusters", error="Throttling", message="Rate exceeded")
    assert rds.describe_db_clusters()["DBClusters"] == []
    assert faults(endpoint)[0]["hits"] == 1


def test_delay_makes_the_client_time_out(endpoint):
    import boto3

    def sts_client(read_timeout):
        return boto3.client(
            "sts", region_name="ap-northeast-1", endpoint_url=endpoint, aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="x" * 40,
            config=Config(read_timeout=read_timeout, retries={"total_max_attempts": 1}),
        )

    patient = sts_client(30)
    patient.get_caller_identity()  # warm up: moto builds its backends lazily on first use
    set_fault(endpoint, service="sts", operation="GetCallerIdentity", delay_seconds=3)
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        sts_client(1).get_caller_identity()
    assert time.monotonic() - started < 2.5
    time.sleep(2.5)  # let the delayed request finish before the next test resets
    assert patient.get_caller_identity()["Account"] == "123456789012"  # call 2: no delay
    assert faults(endpoint)[0]["hits"] == 1


def test_times_zero_means_every_call_from_nth(endpoint, client_factory):
    iam = client_factory("iam", max_attempts=1)
    set_fault(endpoint, service="iam", operation="ListRoles", nth=2, times=0, error="ServiceUnavailable",
              status=503, message="down")
    iam.list_roles()
    for _ in range(3):
        with pytest.raises(ClientError) as e:
            iam.list_roles()
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    requests.delete(f"{endpoint}/_kirikae/faults", timeout=10).raise_for_status()
    assert faults(endpoint) == []
    iam.list_roles()


def test_bad_fault_is_refused(endpoint):
    r = requests.post(f"{endpoint}/_kirikae/faults", json={"operation": "X", "nth": 0, "error": "E"}, timeout=10)
    assert r.status_code == 400 and "nth" in r.json()["error"]
    r = requests.post(f"{endpoint}/_kirikae/faults", json={"operation": "X", "eror": "typo"}, timeout=10)
    assert r.status_code == 400 and "eror" in r.json()["error"]


def test_reset_clears_moto_state_faults_and_runs_extension_hooks(endpoint, client_factory, emulator_settings):
    ran = []
    emulator_settings.on_reset(lambda: ran.append("hook"))
    try:
        client_factory("iam").create_user(UserName="leftover")
        set_fault(endpoint, operation="ListUsers", error="Throttling")
        r = requests.post(f"{endpoint}/_kirikae/reset", timeout=30)
        assert r.status_code == 200
        assert ran == ["hook"]
        assert faults(endpoint) == []
        assert client_factory("iam").list_users()["Users"] == []
    finally:
        emulator_settings._reset_hooks.pop()

"""eks.py: a cluster keeps the version it was created with, gets AWS's default (in standard
support, not moto's 1.19) without one, and answers its upgrade policy as AWS does."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kirikae_emulator.eks import DEFAULT_VERSION

ROLE = "arn:aws:iam::123456789012:role/eks"
VPC = {"subnetIds": ["subnet-1", "subnet-2"]}


def test_version_kept_default_current_and_support_type(client_factory):
    eks = client_factory("eks")
    old = eks.create_cluster(name="old", version="1.28", roleArn=ROLE, resourcesVpcConfig=VPC)["cluster"]
    assert (old["version"], old["upgradePolicy"]) == ("1.28", {"supportType": "EXTENDED"})
    eks.create_cluster(name="plain", roleArn=ROLE, resourcesVpcConfig=VPC,
                       upgradePolicy={"supportType": "STANDARD"})

    assert sorted(eks.list_clusters()["clusters"]) == ["old", "plain"]
    old = eks.describe_cluster(name="old")["cluster"]
    assert (old["version"], old["upgradePolicy"]["supportType"]) == ("1.28", "EXTENDED")
    plain = eks.describe_cluster(name="plain")["cluster"]
    assert plain["version"] == DEFAULT_VERSION != "1.19"
    assert plain["upgradePolicy"] == {"supportType": "STANDARD"}

    eks.update_cluster_config(name="plain", upgradePolicy={"supportType": "EXTENDED"})
    assert eks.describe_cluster(name="plain")["cluster"]["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_an_unknown_support_type_is_refused(client_factory):
    eks = client_factory("eks", validate=False)
    with pytest.raises(ClientError) as e:
        eks.create_cluster(name="x", roleArn=ROLE, resourcesVpcConfig=VPC, upgradePolicy={"supportType": "FOREVER"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "FOREVER" in e.value.response["Error"]["Message"]
    assert client_factory("eks").list_clusters()["clusters"] == []

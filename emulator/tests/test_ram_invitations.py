"""RAM invitations: a share with an account outside the organization (or in an organization that
has not enabled sharing with RAM) waits for the receiver to accept it; a clone is refused until
then."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from rds_support import (  # noqa: F401 - fixtures
    DEV, OTHER, PROD, _nothing_left_behind, connect, create_cluster, describe, dev, execute, prod, query, rds,
)


def _error(exc_info):
    return exc_info.value.response["Error"]["Code"], exc_info.value.response["Error"]["Message"]


def _clone(client, clone_id, source_arn):
    return client.restore_db_cluster_to_point_in_time(
        DBClusterIdentifier=clone_id, SourceDBClusterIdentifier=source_arn, RestoreType="copy-on-write",
        UseLatestRestorableTime=True)["DBCluster"]


def _ram_world(endpoint, **setting):
    r = requests.post(f"{endpoint}/_kirikae/ram", json=setting, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def source(prod):
    c = create_cluster(prod, "shop-prod")
    execute(connect(describe(prod, "shop-prod")), "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100))",
            "INSERT INTO users VALUES (1, 'a@example.com')")
    return c["DBClusterArn"]


def _share(client_factory, cluster_arn, *accounts):
    ram = client_factory("ram", account=PROD)
    return ram.create_resource_share(name="shop-prod-clone", resourceArns=[cluster_arn],
                                     principals=list(accounts))["resourceShare"]["resourceShareArn"]


def test_by_default_every_share_applies_at_once_without_an_invitation(endpoint, dev, source, client_factory):
    assert requests.get(f"{endpoint}/_kirikae/ram", timeout=10).json() == {
        "organization": None, "sharing_with_organization": True}
    _share(client_factory, source, DEV)
    assert client_factory("ram", account=DEV).get_resource_share_invitations()["resourceShareInvitations"] == []
    assert _clone(dev, "staging-clone", source)["DBClusterIdentifier"] == "staging-clone"


@pytest.mark.parametrize("world", [
    {"organization": [PROD, OTHER]},  # dev is outside the organization
    {"sharing_with_organization": False},  # one organization, RAM sharing not enabled
])
def test_an_invitation_must_be_accepted_before_the_clone(endpoint, dev, source, client_factory, world):
    _ram_world(endpoint, **world)
    share = _share(client_factory, source, DEV)
    dev_ram = client_factory("ram", account=DEV)
    [inv] = dev_ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert (inv["status"], inv["resourceShareArn"], inv["senderAccountId"], inv["receiverAccountId"]) == (
        "PENDING", share, PROD, DEV)
    assert inv["resourceShareName"] == "shop-prod-clone"
    # the sender does not see it as received
    assert client_factory("ram", account=PROD).get_resource_share_invitations()["resourceShareInvitations"] == []
    # pending: the cluster is out of reach, as if not shared
    with pytest.raises(ClientError) as e:
        _clone(dev, "staging-clone", source)
    assert _error(e) == ("DBClusterNotFoundFault",
                         f"The source cluster could not be found or cannot be accessed: {source}")
    assert source not in [c["DBClusterArn"] for c in dev.describe_db_clusters(IncludeShared=True)["DBClusters"]]
    # filtered by the share's ARN (as kirikae looks for it)
    listed = dev_ram.get_resource_share_invitations(resourceShareArns=[share])["resourceShareInvitations"]
    assert [i["resourceShareInvitationArn"] for i in listed] == [inv["resourceShareInvitationArn"]]
    accepted = dev_ram.accept_resource_share_invitation(
        resourceShareInvitationArn=inv["resourceShareInvitationArn"])["resourceShareInvitation"]
    assert accepted["status"] == "ACCEPTED"
    clone = _clone(dev, "staging-clone", source)
    assert query(connect(describe(dev, clone["DBClusterIdentifier"])), "SELECT email FROM users") == [("a@example.com",)]
    with pytest.raises(ClientError) as e:
        dev_ram.accept_resource_share_invitation(resourceShareInvitationArn=inv["resourceShareInvitationArn"])
    assert _error(e)[0] == "ResourceShareInvitationAlreadyAcceptedException"


def test_accounts_inside_the_organization_get_the_share_at_once_others_an_invitation(endpoint, rds, source,
                                                                                     client_factory):
    _ram_world(endpoint, organization=[PROD, OTHER], sharing_with_organization=True)
    _share(client_factory, source, DEV, OTHER)
    assert client_factory("ram", account=OTHER).get_resource_share_invitations()["resourceShareInvitations"] == []
    _clone(rds(OTHER), "audit-copy", source)
    [inv] = client_factory("ram", account=DEV).get_resource_share_invitations()["resourceShareInvitations"]
    assert inv["status"] == "PENDING"


def test_a_rejected_invitation_never_applies_and_another_account_cannot_answer_it(endpoint, dev, source,
                                                                                 client_factory):
    _ram_world(endpoint, sharing_with_organization=False)
    _share(client_factory, source, DEV)
    dev_ram = client_factory("ram", account=DEV)
    [inv] = dev_ram.get_resource_share_invitations()["resourceShareInvitations"]
    arn = inv["resourceShareInvitationArn"]
    with pytest.raises(ClientError) as e:
        client_factory("ram", account=OTHER).accept_resource_share_invitation(resourceShareInvitationArn=arn)
    assert _error(e)[0] == "ResourceShareInvitationArnNotFoundException"
    assert dev_ram.reject_resource_share_invitation(resourceShareInvitationArn=arn)[
        "resourceShareInvitation"]["status"] == "REJECTED"
    with pytest.raises(ClientError) as e:
        dev_ram.accept_resource_share_invitation(resourceShareInvitationArn=arn)
    assert _error(e)[0] == "ResourceShareInvitationAlreadyRejectedException"
    with pytest.raises(ClientError) as e:
        _clone(dev, "staging-clone", source)
    assert _error(e)[0] == "DBClusterNotFoundFault"


def test_an_invitation_expires_after_seven_days(endpoint, dev, source, client_factory):
    _ram_world(endpoint, sharing_with_organization=False)
    _share(client_factory, source, DEV)
    dev_ram = client_factory("ram", account=DEV)
    [inv] = dev_ram.get_resource_share_invitations()["resourceShareInvitations"]
    requests.post(f"{endpoint}/_kirikae/clock", json={"offset_seconds": 7 * 86400 + 60}, timeout=10).raise_for_status()
    assert dev_ram.get_resource_share_invitations()["resourceShareInvitations"][0]["status"] == "EXPIRED"
    with pytest.raises(ClientError) as e:
        dev_ram.accept_resource_share_invitation(resourceShareInvitationArn=inv["resourceShareInvitationArn"])
    assert _error(e)[0] == "ResourceShareInvitationExpiredException"
    with pytest.raises(ClientError):
        _clone(dev, "staging-clone", source)


def test_a_deleted_share_takes_its_invitation_with_it(endpoint, dev, source, client_factory):
    _ram_world(endpoint, sharing_with_organization=False)
    share = _share(client_factory, source, DEV)
    dev_ram = client_factory("ram", account=DEV)
    [inv] = dev_ram.get_resource_share_invitations()["resourceShareInvitations"]
    client_factory("ram", account=PROD).delete_resource_share(resourceShareArn=share)
    with pytest.raises(ClientError) as e:
        dev_ram.accept_resource_share_invitation(resourceShareInvitationArn=inv["resourceShareInvitationArn"])
    assert _error(e)[0] == "ResourceShareInvitationArnNotFoundException"


def test_bad_settings_are_refused_and_reset_restores_the_default(endpoint):
    r = requests.post(f"{endpoint}/_kirikae/ram", json={"organization": ["prod"]}, timeout=10)
    assert r.status_code == 400 and "12-digit" in r.json()["error"]
    r = requests.post(f"{endpoint}/_kirikae/ram", json={"sharing": False}, timeout=10)
    assert r.status_code == 400 and "sharing_with_organization" in r.json()["error"]
    _ram_world(endpoint, organization=[PROD], sharing_with_organization=False)
    requests.post(f"{endpoint}/_kirikae/reset", timeout=60).raise_for_status()
    assert requests.get(f"{endpoint}/_kirikae/ram", timeout=10).json() == {
        "organization": None, "sharing_with_organization": True}

"""AssumeRoleWithWebIdentity as AWS checks it (bar the token's signature): the issuer must be an
IAM OIDC provider of the role's account, the audience one of its client ids, the token unexpired,
and the role must trust the provider with conditions over the token's claims."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

JUMP, DEV = "100000000000", "222222222222"
ISSUER = "https://token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::{JUMP}:oidc-provider/token.actions.githubusercontent.com"
RUNNER = f"arn:aws:iam::{JUMP}:role/kirikae-runner"


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def jwt(sub="repo:example/shop:ref:refs/heads/main", aud="sts.amazonaws.com", iss=ISSUER, seconds=600):
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + seconds}
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"


@pytest.fixture
def world(client_factory):
    iam = client_factory("iam", account=JUMP)
    iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
    iam.create_role(
        RoleName="kirikae-runner",
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:example/shop:*"},
                },
            }],
        }),
    )
    dev = client_factory("iam", account=DEV)
    dev.create_role(
        RoleName="kirikae-unattended",
        AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": RUNNER}, "Action": "sts:AssumeRole"}],
        }),
    )
    return client_factory


def _web_identity(cf, token, role=RUNNER):
    return cf("sts").assume_role_with_web_identity(RoleArn=role, RoleSessionName="gha-nightly", WebIdentityToken=token)


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_a_trusted_token_gets_the_runner_role_which_can_switch_without_mfa(world):
    out = _web_identity(world, jwt())
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::100000000000:assumed-role/kirikae-runner/gha-nightly"
    assert out["SubjectFromWebIdentityToken"] == "repo:example/shop:ref:refs/heads/main"
    c = out["Credentials"]
    runner = dict(access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"], session_token=c["SessionToken"])
    assert world("sts", **runner).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    r = world("sts", **runner).assume_role(
        RoleArn=f"arn:aws:iam::{DEV}:role/kirikae-unattended", RoleSessionName="nightly"
    )["Credentials"]
    dev = world("sts", access_key=r["AccessKeyId"], secret_key=r["SecretAccessKey"], session_token=r["SessionToken"])
    assert dev.get_caller_identity()["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/kirikae-unattended/nightly"
    # The session is checked like any other: without its token it is refused.
    with pytest.raises(ClientError) as exc:
        world("sts", access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"]).get_caller_identity()
    assert _code(exc) == "InvalidClientTokenId"


@pytest.mark.parametrize(
    "token, code",
    [
        (jwt(sub="repo:someone-else/shop:ref:refs/heads/main"), "AccessDenied"),
        (jwt(aud="another-client"), "InvalidIdentityToken"),
        (jwt(iss="https://issuer.example"), "InvalidIdentityToken"),
        (jwt(seconds=-10), "ExpiredTokenException"),
        ("not-a-jwt", "InvalidIdentityToken"),
    ],
)
def test_tokens_the_trust_does_not_cover_are_refused(world, token, code):
    with pytest.raises(ClientError) as exc:
        _web_identity(world, token)
    assert _code(exc) == code


def test_a_role_that_does_not_trust_the_provider_is_refused(world):
    with pytest.raises(ClientError) as exc:
        _web_identity(world, jwt(), role=f"arn:aws:iam::{DEV}:role/kirikae-unattended")
    # The provider lives in the jump account, not in dev: dev has no provider for the issuer.
    assert _code(exc) == "InvalidIdentityToken"
    with pytest.raises(ClientError) as exc:
        _web_identity(world, jwt(), role=f"arn:aws:iam::{JUMP}:role/missing")
    assert _code(exc) == "AccessDenied"

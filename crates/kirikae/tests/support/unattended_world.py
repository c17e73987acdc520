"""The world of the unattended-credentials tests, on top of a bare emulator (boto3 as each
account's root):

  setup URL                 -> jump (100000000000): the IAM OIDC provider of GitHub Actions
                               (client id sts.amazonaws.com) and the role kirikae-runner trusting
                               it for repo:example/shop:*; prod and dev: the role
                               kirikae-unattended trusting kirikae-runner with no MFA condition
  token SUB [SECONDS]       -> a JWT as GitHub Actions issues it (iss, aud, sub, exp now+SECONDS,
                               default 600), signature not meaningful (the emulator cannot check
                               one)
  runner-creds URL TOKEN SESSION -> AssumeRoleWithWebIdentity as kirikae-runner, printed as the
                               ECS container credentials JSON (AccessKeyId, SecretAccessKey,
                               Token, Expiration)
"""

import base64
import json
import sys
import time

import boto3

from kirikae_emulator import seed

JUMP, PROD, DEV = "100000000000", "111111111111", "222222222222"
ISSUER = "https://token.actions.githubusercontent.com"
PROVIDER = f"arn:aws:iam::{JUMP}:oidc-provider/token.actions.githubusercontent.com"
RUNNER = f"arn:aws:iam::{JUMP}:role/kirikae-runner"


def setup(url):
    iam = seed.client("iam", url, JUMP)
    iam.create_open_id_connect_provider(
        Url=ISSUER, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"]
    )
    runner_trust = {
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
    }
    iam.create_role(RoleName="kirikae-runner", AssumeRolePolicyDocument=json.dumps(runner_trust))
    account_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": RUNNER}, "Action": "sts:AssumeRole"}],
    }
    for account in (PROD, DEV):
        a = seed.client("iam", url, account)
        a.create_role(RoleName="kirikae-unattended", AssumeRolePolicyDocument=json.dumps(account_trust))
        a.attach_role_policy(RoleName="kirikae-unattended", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


def _b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def token(sub, seconds=600):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "kirikae-test"}
    claims = {"iss": ISSUER, "aud": "sts.amazonaws.com", "sub": sub, "iat": now, "exp": now + int(seconds)}
    return f"{_b64(header)}.{_b64(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def runner_creds(url, token_text, session):
    sts = boto3.client("sts", region_name="ap-northeast-1", endpoint_url=url,
                       aws_access_key_id="unused", aws_secret_access_key="unused")
    c = sts.assume_role_with_web_identity(RoleArn=RUNNER, RoleSessionName=session,
                                         WebIdentityToken=token_text)["Credentials"]
    return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
            "Expiration": c["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ")}


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "setup":
        setup(*args)
    elif command == "token":
        print(token(*args))
    elif command == "runner-creds":
        print(json.dumps(runner_creds(*args)))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])

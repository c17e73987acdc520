"""STS as a jump-account user sees it: AssumeRole into other accounts with trust policies and MFA,
GetSessionToken with MFA and expiry, role chaining, session credentials checked on every call."""

from __future__ import annotations

import datetime
import json
import time

import pytest
import requests
from botocore.exceptions import ClientError

from kirikae_emulator.totp import totp

JUMP, PROD, DEV = "100000000000", "111111111111", "222222222222"


def trust(principal="arn:aws:iam::100000000000:root", condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


MFA_BOOL = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


class World:
    """jump: user hanako (access key + enabled virtual MFA); prod/dev: roles as a test asks."""

    def __init__(self, client_factory):
        self.cf = client_factory
        iam = client_factory("iam", account=JUMP)
        iam.create_user(UserName="hanako")
        key = iam.create_access_key(UserName="hanako")["AccessKey"]
        self.key = (key["AccessKeyId"], key["SecretAccessKey"])
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName="hanako")["VirtualMFADevice"]
        self.serial = device["SerialNumber"]
        self.seed = device["Base32StringSeed"].decode() if isinstance(device["Base32StringSeed"], bytes) else device["Base32StringSeed"]
        now = time.time()
        iam.enable_mfa_device(
            UserName="hanako",
            SerialNumber=self.serial,
            AuthenticationCode1=totp(self.seed, now - 30),
            AuthenticationCode2=totp(self.seed, now),
        )

    def role(self, account, name="ops", policy=None, max_session=None):
        kwargs = {"MaxSessionDuration": max_session} if max_session else {}
        iam = self.cf("iam", account=account)
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy or trust(), **kwargs)["Role"]["Arn"]

    def hanako(self, service="sts", **kwargs):
        return self.cf(service, access_key=self.key[0], secret_key=self.key[1], **kwargs)

    def code(self):
        return totp(self.seed)

    def client_for(self, creds, service="sts"):
        return self.cf(
            service,
            access_key=creds["AccessKeyId"],
            secret_key=creds["SecretAccessKey"],
            session_token=creds["SessionToken"],
        )


@pytest.fixture
def world(client_factory):
    return World(client_factory)


def error_of(excinfo):
    err = excinfo.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


# --- identities and accounts -------------------------------------------------------------------
def test_user_key_acts_in_its_own_account(world):
    ident = world.hanako().get_caller_identity()
    assert ident["Account"] == JUMP
    assert ident["Arn"] == f"arn:aws:iam::{JUMP}:user/hanako"
    # and resources it creates land in the jump account, not moto's default one
    world.hanako("s3").create_bucket(
        Bucket="hanako-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    assert "hanako-bucket" in [b["Name"] for b in world.cf("s3", account=JUMP).list_buckets()["Buckets"]]
    assert "hanako-bucket" not in [b["Name"] for b in world.cf("s3").list_buckets()["Buckets"]]


def test_assume_role_with_mfa_acts_in_target_account(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    creds = world.hanako().assume_role(
        RoleArn=arn, RoleSessionName="hanako", SerialNumber=world.serial, TokenCode=world.code()
    )["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    sts = world.client_for(creds)
    ident = sts.get_caller_identity()
    assert ident["Account"] == PROD
    assert ident["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/ops/hanako"
    # the session's IAM calls see prod's roles
    names = [r["RoleName"] for r in world.client_for(creds, "iam").list_roles()["Roles"]]
    assert names == ["ops"]


def test_assume_role_without_mfa_is_denied_when_trust_requires_it(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="hanako")
    status, code, message = error_of(e)
    assert (status, code) == (403, "AccessDenied")
    assert message == (
        f"User: arn:aws:iam::{JUMP}:user/hanako is not authorized to perform: sts:AssumeRole on resource: {arn}"
    )


def test_assume_role_with_wrong_code_is_denied(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    right = world.code()
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="hanako", SerialNumber=world.serial, TokenCode=wrong)
    assert error_of(e) == (403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")


def test_code_of_the_previous_step_is_accepted_but_not_an_older_one(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    now = time.time()
    world.hanako().assume_role(
        RoleArn=arn, RoleSessionName="a1", SerialNumber=world.serial, TokenCode=totp(world.seed, now - 30)
    )
    stale = totp(world.seed, now - 120)
    if stale in {totp(world.seed, now + d) for d in (-30, 0, 30, 60)}:
        pytest.skip("rare TOTP collision")
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="a2", SerialNumber=world.serial, TokenCode=stale)
    assert error_of(e)[1] == "AccessDenied"


def test_mfa_device_of_someone_else_is_refused(world, client_factory):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    iam = client_factory("iam", account=JUMP)
    iam.create_user(UserName="taro")
    key = iam.create_access_key(UserName="taro")["AccessKey"]
    taro = client_factory("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        taro.assume_role(RoleArn=arn, RoleSessionName="taro", SerialNumber=world.serial, TokenCode=world.code())
    assert error_of(e) == (403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")


def test_role_that_does_not_exist_in_target_account_is_denied(world):
    world.role(DEV, name="readonly")
    missing = f"arn:aws:iam::{PROD}:role/readonly"
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=missing, RoleSessionName="hanako")
    status, code, message = error_of(e)
    assert (status, code) == (403, "AccessDenied")
    assert message.endswith(f"sts:AssumeRole on resource: {missing}")
    # the same name in dev works
    world.hanako().assume_role(RoleArn=f"arn:aws:iam::{DEV}:role/readonly", RoleSessionName="hanako")


@pytest.mark.parametrize(
    "principal,allowed",
    [
        (JUMP, True),
        (f"arn:aws:iam::{JUMP}:root", True),
        (f"arn:aws:iam::{JUMP}:user/hanako", True),
        ("*", True),
        (f"arn:aws:iam::{JUMP}:user/taro", False),
        ("333333333333", False),
        ("arn:aws:iam::333333333333:root", False),
    ],
)
def test_trust_policy_principals(world, principal, allowed):
    arn = world.role(PROD, policy=trust(principal=principal))
    sts = world.hanako()
    if allowed:
        assert sts.assume_role(RoleArn=arn, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith("/ops/s1")
    else:
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=arn, RoleSessionName="s1")
        assert error_of(e)[:2] == (403, "AccessDenied")


def test_explicit_deny_in_trust_policy_wins(world):
    policy = json.loads(trust(principal="*"))
    policy["Statement"].append(
        {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{JUMP}:user/hanako"}, "Action": "sts:AssumeRole"}
    )
    arn = world.role(PROD, policy=json.dumps(policy))
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1")
    assert error_of(e)[1] == "AccessDenied"


def test_bool_if_exists_lets_long_term_keys_through_but_not_non_mfa_sessions(world):
    # as on AWS: aws:MultiFactorAuthPresent is absent for long-term keys, "false" for sessions
    arn = world.role(PROD, policy=trust(condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}))
    world.hanako().assume_role(RoleArn=arn, RoleSessionName="longterm")
    plain = world.hanako().get_session_token()["Credentials"]
    with pytest.raises(ClientError) as e:
        world.client_for(plain).assume_role(RoleArn=arn, RoleSessionName="plain")
    assert error_of(e)[1] == "AccessDenied"


def test_external_id_condition(world):
    arn = world.role(PROD, policy=trust(condition={"StringEquals": {"sts:ExternalId": "shop-42"}}))
    with pytest.raises(ClientError):
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1")
    world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="shop-42")


# --- GetSessionToken ---------------------------------------------------------------------------
def test_mfa_session_token_acts_as_the_user_and_satisfies_mfa_trust(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    session = world.hanako().get_session_token(
        DurationSeconds=129600, SerialNumber=world.serial, TokenCode=world.code()
    )["Credentials"]
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=129600)
    assert abs((session["Expiration"] - expected).total_seconds()) < 60
    sts = world.client_for(session)
    ident = sts.get_caller_identity()
    assert (ident["Account"], ident["Arn"]) == (JUMP, f"arn:aws:iam::{JUMP}:user/hanako")
    # no code needed any more: the session is MFA-authenticated
    role = sts.assume_role(RoleArn=arn, RoleSessionName="hanako")["Credentials"]
    assert world.client_for(role).get_caller_identity()["Account"] == PROD


def test_session_token_without_mfa_does_not_satisfy_mfa_trust(world):
    arn = world.role(PROD, policy=trust(condition=MFA_BOOL))
    session = world.hanako().get_session_token(DurationSeconds=900)["Credentials"]
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=900)
    assert abs((session["Expiration"] - expected).total_seconds()) < 60
    with pytest.raises(ClientError) as e:
        world.client_for(session).assume_role(RoleArn=arn, RoleSessionName="hanako")
    assert error_of(e)[:2] == (403, "AccessDenied")
    # ... unless the AssumeRole call itself carries the code, as the AWS CLI does
    world.client_for(session).assume_role(
        RoleArn=arn, RoleSessionName="hanako", SerialNumber=world.serial, TokenCode=world.code()
    )


def test_session_token_wrong_code_and_bad_durations(world):
    sts = world.hanako(validate=False)
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=world.serial, TokenCode="000000" if world.code() != "000000" else "111111")
    assert error_of(e) == (403, "AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code.")
    for bad in (899, 129601):
        with pytest.raises(ClientError) as e:
            sts.get_session_token(DurationSeconds=bad)
        status, code, message = error_of(e)
        assert (status, code) == (400, "ValidationError")
        assert "durationSeconds" in message


def test_get_session_token_refuses_session_credentials(world):
    session = world.hanako().get_session_token()["Credentials"]
    with pytest.raises(ClientError) as e:
        world.client_for(session).get_session_token()
    assert error_of(e) == (403, "AccessDenied", "Cannot call GetSessionToken with session credentials")


# --- durations and role chaining ---------------------------------------------------------------
def test_assume_role_duration_honoured_and_capped_by_max_session(world):
    arn = world.role(PROD, max_session=7200)
    creds = world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=7200)["Credentials"]
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=7200)
    assert abs((creds["Expiration"] - expected).total_seconds()) < 60
    with pytest.raises(ClientError) as e:
        world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=7201)
    assert error_of(e) == (
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )


def test_role_chaining_is_capped_at_one_hour(world):
    first = world.role(PROD, policy=trust(condition=MFA_BOOL), max_session=43200)
    second = world.role(DEV, policy=trust(principal=first), max_session=43200)
    creds = world.hanako().assume_role(
        RoleArn=first, RoleSessionName="hop1", SerialNumber=world.serial, TokenCode=world.code(), DurationSeconds=43200
    )["Credentials"]
    hop = world.client_for(creds)
    with pytest.raises(ClientError) as e:
        hop.assume_role(RoleArn=second, RoleSessionName="hop2", DurationSeconds=3601)
    assert error_of(e) == (
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    )
    chained = hop.assume_role(RoleArn=second, RoleSessionName="hop2", DurationSeconds=3600)
    expected = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3600)
    assert abs((chained["Credentials"]["Expiration"] - expected).total_seconds()) < 60
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/ops/hop2"


def test_chained_session_keeps_mfa(world):
    first = world.role(PROD, policy=trust(condition=MFA_BOOL))
    second = world.role(DEV, policy=trust(principal=PROD, condition=MFA_BOOL))
    creds = world.hanako().assume_role(
        RoleArn=first, RoleSessionName="hop1", SerialNumber=world.serial, TokenCode=world.code()
    )["Credentials"]
    ident = world.client_for(world.client_for(creds).assume_role(RoleArn=second, RoleSessionName="hop2")["Credentials"]).get_caller_identity()
    assert ident["Account"] == DEV


# --- session credentials are checked on every call ---------------------------------------------
def test_session_credentials_need_their_token_and_expire(world, endpoint):
    arn = world.role(PROD)
    creds = world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1", DurationSeconds=900)["Credentials"]
    no_token = world.cf("sts", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        no_token.get_caller_identity()
    assert error_of(e) == (403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    ok = world.client_for(creds, "iam")
    ok.list_roles()
    r = requests.post(f"{endpoint}/_kirikae/clock", json={"offset_seconds": 901}, timeout=10)
    assert r.status_code == 200
    with pytest.raises(ClientError) as e:
        ok.list_roles()
    assert error_of(e) == (403, "ExpiredToken", "The security token included in the request is expired")
    # long-term keys do not expire
    world.hanako().get_caller_identity()
    requests.delete(f"{endpoint}/_kirikae/clock", timeout=10)
    ok.list_roles()


def test_inactive_user_key_is_refused(world, client_factory):
    client_factory("iam", account=JUMP).update_access_key(UserName="hanako", AccessKeyId=world.key[0], Status="Inactive")
    with pytest.raises(ClientError) as e:
        world.hanako().get_caller_identity()
    assert error_of(e)[:2] == (403, "InvalidClientTokenId")


def test_reset_forgets_sessions(world, endpoint):
    arn = world.role(PROD)
    creds = world.hanako().assume_role(RoleArn=arn, RoleSessionName="s1")["Credentials"]
    assert world.client_for(creds).get_caller_identity()["Account"] == PROD
    requests.post(f"{endpoint}/_kirikae/reset", timeout=30).raise_for_status()
    # the session is unknown now: refused, as AWS refuses a token it never issued
    with pytest.raises(ClientError) as e:
        world.client_for(creds).get_caller_identity()
    assert error_of(e)[:2] == (403, "InvalidClientTokenId")


def test_temporary_credentials_it_never_issued_are_refused(world, client_factory):
    # e.g. credentials a tool cached from an earlier emulator run: AWS says the token is invalid,
    # instead of the call landing in some default account.
    sts = client_factory("sts", access_key="ASIAXXXXXXXXXXXXXXXX", secret_key="s" * 40, session_token="stale")
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_mfa_age_bounds_are_evaluated_from_when_the_code_was_given():
    """`NumericLessThan aws:MultiFactorAuthAge` (kirikae accounts bootstrap's trust policies):
    the age counts from the MFA code, is absent without MFA (so the Allow does not apply), and
    a bound the session is older than denies."""
    from kirikae_emulator.sts_iam import Caller, _context, now, trust_allows

    def trust(bound: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::100000000000:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                          "NumericLessThan": {"aws:MultiFactorAuthAge": bound}}}]})

    caller = Caller(account="100000000000", arn="arn:aws:iam::100000000000:user/hanako", kind="session",
                    user_name="hanako", user_id="AIDAHANAKO")
    an_hour_and_a_half_ago = now() - datetime.timedelta(seconds=5400)
    ctx = _context(caller, True, None, an_hour_and_a_half_ago)
    assert 5400 <= int(ctx["aws:MultiFactorAuthAge"]) < 5460
    assert trust_allows(trust("43200"), caller, ctx)
    assert not trust_allows(trust("3600"), caller, ctx)
    without_mfa = _context(caller, False, None, None)
    assert "aws:MultiFactorAuthAge" not in without_mfa
    assert not trust_allows(trust("43200"), caller, without_mfa)


def test_a_deleted_principal_shows_as_its_unique_id_and_its_namesake_is_not_trusted(world, client_factory):
    # As IAM: a trust policy keeps a principal by unique id; once the role or user is deleted,
    # GetRole shows the id (AROA... / AIDA...) in place of the ARN, and a principal recreated
    # under the same name is someone else.
    jump_iam = client_factory("iam", account=JUMP)
    runner = jump_iam.create_role(RoleName="runner", AssumeRolePolicyDocument=trust())["Role"]
    tomo = jump_iam.create_user(UserName="tomo")["User"]
    assert tomo["UserId"].startswith("AIDA")
    hanako_arn = f"arn:aws:iam::{JUMP}:user/hanako"
    world.role(PROD, policy=trust([runner["Arn"], tomo["Arn"], hanako_arn]))
    prod_iam = client_factory("iam", account=PROD)

    jump_iam.delete_role(RoleName="runner")
    jump_iam.delete_user(UserName="tomo")
    principals = prod_iam.get_role(RoleName="ops")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert principals == [runner["RoleId"], tomo["UserId"], hanako_arn]
    assert runner["RoleId"].startswith("AROA")

    # A new role named like the deleted one is not trusted; hanako (never deleted) still is.
    jump_iam.create_role(RoleName="runner", AssumeRolePolicyDocument=trust())
    key = jump_iam.create_access_key(UserName="hanako")["AccessKey"]
    hanako = client_factory("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    hanako.assume_role(RoleArn=f"arn:aws:iam::{PROD}:role/ops", RoleSessionName="s1")
    as_new_runner = world.client_for(
        hanako.assume_role(RoleArn=runner["Arn"], RoleSessionName="s2")["Credentials"]
    )
    with pytest.raises(ClientError) as denied:
        as_new_runner.assume_role(RoleArn=f"arn:aws:iam::{PROD}:role/ops", RoleSessionName="s3")
    assert error_of(denied)[1] == "AccessDenied"
    again = prod_iam.get_role(RoleName="ops")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
    assert again[0] == runner["RoleId"]

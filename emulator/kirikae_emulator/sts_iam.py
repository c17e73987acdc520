"""STS as AWS does it for a jump account + switch-role estate, on top of moto's STS/IAM.

moto 5.2.5 maps a request to an account by its access key (moto/core/responses.py
get_current_account -> moto/iam/models.py get_account_id_from: the IAM backend whose
`access_keys` holds the key; otherwise the `x-moto-account-id` header, otherwise 123456789012).
It lets anyone assume any role (even one that does not exist), ignores MFA, returns one fixed
example key from GetSessionToken (so those credentials act in the default account), and never
expires anything. This module replaces moto's GetSessionToken, AssumeRole and GetCallerIdentity
handlers and adds a WSGI check of session credentials:

* GetSessionToken creates a real temporary key in the caller's account, bound to the caller
  (an IAM user, or the account root for keys moto does not know); DurationSeconds 900..129600
  (root: at most 3600) sets Expiration; SerialNumber + TokenCode are checked against the
  caller's enabled virtual MFA device (TOTP, +-1 step); calling it with session credentials is
  refused.
* AssumeRole needs the role to exist in the target account and its trust policy to allow the
  caller (Principal "*", the account id, arn:aws:iam::ACCOUNT:root, the user or role ARN, the
  assumed-role session ARN; Condition Bool/BoolIfExists/String*/Arn*/Null on
  aws:MultiFactorAuthPresent, Numeric* on aws:MultiFactorAuthAge (seconds since the MFA code
  was given), aws:PrincipalAccount, aws:PrincipalArn, aws:PrincipalType,
  aws:username, sts:ExternalId, aws:userid; Deny wins). MFA is present when the caller's
  session was MFA-authenticated or the call carries a valid SerialNumber + TokenCode. As on AWS,
  the aws:MultiFactorAuthPresent key is *absent* for long-term keys without MFA, so `Bool`
  denies them and `BoolIfExists` lets them through. DurationSeconds must be 900..the role's
  MaxSessionDuration; role chaining (credentials from AssumeRole) is capped at one hour.
* AssumeRoleWithWebIdentity (moto's accepts any token for any role, even a missing one) checks
  the token as AWS does, except its signature (no identity provider's keys can be fetched
  here): a JWT whose `iss` is an IAM OIDC provider of the role's account
  (CreateOpenIDConnectProvider), whose `aud` is one of that provider's client ids and whose `exp`
  has not passed; the role must exist and trust the provider as `Principal: {"Federated":
  <provider ARN>}` for `sts:AssumeRoleWithWebIdentity`, with conditions over the token's claims
  as `<issuer host/path>:aud`, `:sub` (and `aws:FederatedProvider`). The session it issues is
  checked like AssumeRole's (token, expiry) and may assume further roles (no MFA).
* GetCallerIdentity answers for those sessions (the user for GetSessionToken credentials,
  arn:aws:sts::P:assumed-role/ROLE/SESSION for AssumeRole credentials).
* Every request signed with a session's key must carry its session token (else 403
  InvalidClientTokenId) and the session must not have expired (else 403 ExpiredToken). For
  tests of refresh-before-expiry, `POST /_kirikae/clock {"offset_seconds": N}` moves the
  emulator's notion of "now" for expiry checks forward (GET shows it; a reset clears it).
* An IAM user's access key that is Inactive is refused (403 InvalidClientTokenId), and so are
  temporary credentials (a key with a session token) that this emulator never issued.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException

from . import protocol
from .settings import EmulatorSettings
from .totp import verify as totp_verify

PARTITION = "aws"
ROLE_CHAIN_LIMIT = 3600
SESSION_TOKEN_MIN, SESSION_TOKEN_MAX, SESSION_TOKEN_DEFAULT, SESSION_TOKEN_ROOT_MAX = 900, 129600, 43200, 3600
ASSUME_MIN, ASSUME_MAX, ASSUME_DEFAULT = 900, 43200, 3600

MSG_BAD_OTP = "MultiFactorAuthentication failed with invalid MFA one time pass code."
MSG_OTP_PAIR = "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."
MSG_CHAIN = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MSG_MAX_SESSION = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
MSG_TOKEN_INVALID = "The security token included in the request is invalid."
MSG_TOKEN_EXPIRED = "The security token included in the request is expired"

_lock = threading.RLock()


@dataclass
class Session:
    """Temporary credentials this module issued."""

    access_key_id: str
    session_token: str
    account: str
    kind: str  # "session" (GetSessionToken) or "assumed-role"
    arn: str  # what GetCallerIdentity says
    user_id: str
    user_name: str | None  # the IAM user behind a GetSessionToken session
    role_arn: str | None  # the role behind an assumed-role session
    mfa: bool
    expiration: datetime.datetime
    mfa_at: datetime.datetime | None = None  # when the MFA code was given (aws:MultiFactorAuthAge)


@dataclass
class Caller:
    account: str
    arn: str  # the principal's ARN as trust policies and error messages see it
    kind: str  # "root", "user", "session", "assumed-role"
    user_name: str | None = None
    user_id: str | None = None
    role_arn: str | None = None
    session_arn: str | None = None
    mfa: bool | None = None  # None: long-term credentials (the MFA condition key is absent)
    federated: str | None = None  # the OIDC provider ARN of an AssumeRoleWithWebIdentity caller
    mfa_at: datetime.datetime | None = None  # when the session's MFA code was given

    @property
    def temporary(self) -> bool:
        return self.kind in ("session", "assumed-role")


_sessions: dict[str, Session] = {}
_clock_offset = 0.0


def now() -> datetime.datetime:
    """The emulator's clock for expiry checks (real time + the /_kirikae/clock offset)."""
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=_clock_offset)


def _utcnow_naive() -> datetime.datetime:
    # moto serializes naive UTC datetimes
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def reset() -> None:
    global _clock_offset
    with _lock:
        _sessions.clear()
        _clock_offset = 0.0


# --- errors in STS's XML format ----------------------------------------------------------------
class StsError(HTTPException):
    def __init__(self, status: int, code: str, message: str):
        super().__init__()
        self.code = status
        self.error_code = code
        self.message = message
        self.description = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>Sender</Type><Code>{protocol._xml(code)}</Code>"
            f"<Message>{protocol._xml(message)}</Message></Error>"
            "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        )

    def get_headers(self, *args, **kwargs):
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", self.error_code)]


def access_denied(message: str) -> StsError:
    return StsError(403, "AccessDenied", message)


def validation_error(message: str) -> StsError:
    return StsError(400, "ValidationError", message)


def _range_error(name: str, value: int, low: int, high: int) -> StsError | None:
    if value < low:
        return validation_error(
            f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        return validation_error(
            f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    return None


# --- who is calling ----------------------------------------------------------------------------
def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def _find_long_term_key(access_key: str):
    """(account, AccessKey) for a key in some account's IAM backend, else None."""
    from moto.iam.models import iam_backends

    for account_id, by_partition in list(iam_backends.items()):
        if PARTITION not in by_partition:
            continue
        key = by_partition[PARTITION].access_keys.get(access_key)
        if key is not None:
            return account_id, key
    return None


def resolve_caller(access_key: str | None, current_account: str) -> Caller:
    with _lock:
        session = _sessions.get(access_key or "")
    if session is not None:
        if session.kind == "session":
            return Caller(
                account=session.account,
                arn=session.arn,
                kind="session",
                user_name=session.user_name,
                user_id=session.user_id,
                mfa=session.mfa,
                mfa_at=session.mfa_at,
            )
        return Caller(
            account=session.account,
            arn=session.arn,
            kind="assumed-role",
            user_id=session.user_id,
            role_arn=session.role_arn,
            session_arn=session.arn,
            mfa=session.mfa,
            mfa_at=session.mfa_at,
        )
    found = _find_long_term_key(access_key) if access_key else None
    if found is not None:
        account, key = found
        if key.user_name:
            user = _iam(account).users.get(key.user_name)
            if user is not None:
                return Caller(account=account, arn=user.arn, kind="user", user_name=user.name, user_id=user.id)
        if key.role_arn:  # moto's own role sessions (e.g. AssumeRoleWithWebIdentity)
            from moto.sts.models import sts_backends

            role = sts_backends[account][PARTITION].get_assumed_role_from_access_key(access_key)
            if role is not None:
                return Caller(
                    account=account,
                    arn=role.arn,
                    kind="assumed-role",
                    role_arn=role.role_arn,
                    session_arn=role.arn,
                    user_id=role.user_id,
                    mfa=False,
                )
    # A key moto does not know: the root user of the account moto acts in (x-moto-account-id
    # header, or moto's default account). This is how bootstrap scripts act as an account.
    return Caller(account=current_account, arn=f"arn:aws:iam::{current_account}:root", kind="root")


# --- MFA ---------------------------------------------------------------------------------------
def check_mfa(caller: Caller, serial: str | None, code: str | None) -> None:
    """Raises AccessDenied unless `serial` is the caller's enabled virtual MFA device and `code`
    is its current TOTP (+-1 step of 30 s)."""
    if not serial or not code:
        raise access_denied(MSG_OTP_PAIR)
    device = _iam(caller.account).virtual_mfa_devices.get(serial)
    if device is None or device.enable_date is None or device.user is None and caller.kind != "root":
        raise access_denied(MSG_BAD_OTP)
    if caller.kind in ("user", "session"):
        if device.user is None or device.user.name != caller.user_name:
            raise access_denied(MSG_BAD_OTP)
    elif caller.kind == "assumed-role":
        raise access_denied(MSG_BAD_OTP)
    if not totp_verify(device.base32_string_seed, str(code).strip()):
        raise access_denied(MSG_BAD_OTP)


# --- trust policies ----------------------------------------------------------------------------
def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _load_policy(document) -> dict:
    if isinstance(document, dict):
        return document
    text = document or ""
    for candidate in (text, unquote(text)):
        try:
            value = json.loads(candidate)
            if isinstance(value, dict):
                return value
        except ValueError:
            continue
    return {}


def _principal_matches(principal, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if caller.kind == "web-identity":
        # A token's bearer is only ever the federated provider, never an AWS principal.
        return caller.federated is not None and caller.federated in _as_list(principal.get("Federated"))
    for value in _as_list(principal.get("AWS")):
        if value == "*":
            return True
        if value in (caller.account, f"arn:aws:iam::{caller.account}:root"):
            return True
        if value == caller.arn:
            return True
        if caller.kind == "assumed-role" and value in (caller.role_arn, caller.session_arn):
            return True
    return False


def _action_matches(actions, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in _as_list(actions))


class _Unsupported(Exception):
    pass


_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericNotEquals": lambda a, b: a != b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    """AND over operators and keys, OR over a key's values. Raises _Unsupported for an operator
    this emulator does not evaluate."""
    ctx = {k.lower(): v for k, v in context.items()}
    for operator, entries in (condition or {}).items():
        op = operator
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        for key, wanted in (entries or {}).items():
            values = [str(v) for v in _as_list(wanted)]
            actual = ctx.get(key.lower())
            if op == "Null":
                want_null = values[0].lower() == "true" if values else True
                if (actual is None) != want_null:
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if op == "Bool":
                ok = any(actual.lower() == v.lower() for v in values)
            elif op in ("StringEquals", "ArnEquals"):
                ok = actual in values
            elif op == "StringEqualsIgnoreCase":
                ok = any(actual.lower() == v.lower() for v in values)
            elif op in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif op in ("StringNotEquals", "ArnNotEquals"):
                ok = actual not in values
            elif op in ("StringNotLike", "ArnNotLike"):
                ok = not any(fnmatch.fnmatchcase(actual, v) for v in values)
            elif op in _NUMERIC:
                try:
                    ok = any(_NUMERIC[op](float(actual), float(v)) for v in values)
                except ValueError:
                    ok = False
            else:
                raise _Unsupported(operator)
            if not ok:
                return False
    return True


def trust_allows(document, caller: Caller, context: dict[str, str], action: str = "sts:AssumeRole") -> bool:
    policy = _load_policy(document)
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict):
            continue
        effect = statement.get("Effect")
        if "Action" in statement:
            if not _action_matches(statement["Action"], action):
                continue
        elif "NotAction" in statement:
            if _action_matches(statement["NotAction"], action):
                continue
        else:
            continue
        if "Principal" in statement:
            if not _principal_matches(statement["Principal"], caller):
                continue
        elif "NotPrincipal" in statement:
            if _principal_matches(statement["NotPrincipal"], caller):
                continue
        else:
            continue
        try:
            holds = _condition_holds(statement.get("Condition") or {}, context)
        except _Unsupported as exc:
            # Fail closed: an Allow with a condition we cannot evaluate does not allow; a Deny does deny.
            print(f"kirikae emulator: trust policy condition operator {exc} is not supported", file=sys.stderr)
            holds = effect == "Deny"
        if not holds:
            continue
        if effect == "Deny":
            return False
        if effect == "Allow":
            allowed = True
    return allowed


def _context(caller: Caller, mfa: bool | None, external_id: str | None,
             mfa_at: datetime.datetime | None = None) -> dict[str, str]:
    ctx = {
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalArn": caller.role_arn if caller.kind == "assumed-role" and caller.role_arn else caller.arn,
        "aws:PrincipalType": {"root": "Account", "user": "User", "session": "User", "assumed-role": "AssumedRole"}[
            caller.kind
        ],
    }
    if caller.user_name:
        ctx["aws:username"] = caller.user_name
    if caller.user_id:
        ctx["aws:userid"] = caller.user_id
    if mfa is not None:
        ctx["aws:MultiFactorAuthPresent"] = "true" if mfa else "false"
    if mfa and mfa_at is not None:
        # Seconds since the MFA code was given; absent without MFA, as on AWS.
        ctx["aws:MultiFactorAuthAge"] = str(max(0, int((now() - mfa_at).total_seconds())))
    if external_id is not None:
        ctx["sts:ExternalId"] = external_id
    return ctx


# --- the replaced handlers ---------------------------------------------------------------------
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


def _int_param(response, name: str, default: int) -> int:
    raw = response._get_param(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise validation_error(f"1 validation error detected: Value '{raw}' at '{name[0].lower() + name[1:]}' failed to satisfy constraint: Member must be a number") from None


def _expiration(seconds: int) -> datetime.datetime:
    return _utcnow_naive() + datetime.timedelta(seconds=seconds)


def get_session_token(self):
    from moto.core.responses import ActionResult
    from moto.sts.utils import random_session_token

    caller = resolve_caller(self.get_access_key(), self.current_account)
    if caller.temporary:
        raise access_denied("Cannot call GetSessionToken with session credentials")
    duration = _int_param(self, "DurationSeconds", SESSION_TOKEN_DEFAULT)
    err = _range_error("durationSeconds", duration, SESSION_TOKEN_MIN, SESSION_TOKEN_MAX)
    if err:
        raise err
    if caller.kind == "root":
        duration = min(duration, SESSION_TOKEN_ROOT_MAX)
    serial, code = self._get_param("SerialNumber"), self._get_param("TokenCode")
    mfa = False
    if serial or code:
        check_mfa(caller, serial, code)
        mfa = True
    mfa_at = now() if mfa else None
    key = _iam(caller.account).create_temp_access_key()
    token = random_session_token()
    expiration = _expiration(duration)
    session = Session(
        access_key_id=key.access_key_id,
        session_token=token,
        account=caller.account,
        kind="session",
        arn=caller.arn,
        user_id=caller.user_id or caller.account,
        user_name=caller.user_name,
        role_arn=None,
        mfa=mfa,
        expiration=expiration.replace(tzinfo=datetime.timezone.utc),
        mfa_at=mfa_at,
    )
    with _lock:
        _sessions[key.access_key_id] = session
    return ActionResult(
        {
            "Credentials": {
                "AccessKeyId": key.access_key_id,
                "SecretAccessKey": key.secret_access_key,
                "SessionToken": token,
                "Expiration": expiration,
            }
        }
    )


def _issue_role_session(self, role, target_account: str, session_name: str, duration: int, *,
                        external_id: str | None, mfa: bool, mfa_at: datetime.datetime | None):
    """The tail AssumeRole and AssumeRoleWithWebIdentity share once the trust allowed the caller:
    the role's MaxSessionDuration bounds the session (AWS refuses, not shortens), then the session
    is issued and recorded so later calls made with it are resolved to the role."""
    from moto.sts.models import sts_backends

    try:
        max_duration = int(role.max_session_duration or ASSUME_DEFAULT)
    except (TypeError, ValueError):
        max_duration = ASSUME_DEFAULT
    if duration > max_duration:
        raise validation_error(MSG_MAX_SESSION)

    assumed = sts_backends[target_account][PARTITION].assume_role(
        region_name=self.region,
        role_session_name=session_name,
        role_arn=role.arn,
        policy=self._get_param("Policy"),
        duration=duration,
        external_id=external_id,
    )
    # moto's AssumedRole names the session by the last path element of the role ARN; AWS too.
    with _lock:
        _sessions[assumed.access_key_id] = Session(
            access_key_id=assumed.access_key_id,
            session_token=assumed.session_token,
            account=target_account,
            kind="assumed-role",
            arn=assumed.arn,
            user_id=assumed.user_id,
            user_name=None,
            role_arn=role.arn,
            mfa=mfa,
            expiration=assumed.expiration.replace(tzinfo=datetime.timezone.utc),
            mfa_at=mfa_at if mfa else None,
        )
    return assumed


def assume_role(self):
    from moto.core.responses import ActionResult

    caller = resolve_caller(self.get_access_key(), self.current_account)
    role_arn = self._get_param("RoleArn") or ""
    session_name = self._get_param("RoleSessionName") or ""
    if not _SESSION_NAME.match(session_name):
        raise validation_error(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        )
    requested = self._get_param("DurationSeconds")
    duration = _int_param(self, "DurationSeconds", ASSUME_DEFAULT)
    err = _range_error("durationSeconds", duration, ASSUME_MIN, ASSUME_MAX)
    if err:
        raise err
    m = _ROLE_ARN.match(role_arn)
    if not m:
        raise validation_error(f"{role_arn} is invalid")
    target_account = m.group(1)

    serial, code = self._get_param("SerialNumber"), self._get_param("TokenCode")
    mfa = caller.mfa
    mfa_at = caller.mfa_at
    if serial or code:
        check_mfa(caller, serial, code)
        mfa = True
        mfa_at = now()
    elif caller.temporary:
        mfa = bool(caller.mfa)

    denied = access_denied(f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    role = next((r for r in _iam(target_account).roles.values() if r.arn == role_arn), None)
    if role is None:
        raise denied
    external_id = self._get_param("ExternalId")
    if not trust_allows(role.assume_role_policy_document, caller, _context(caller, mfa, external_id, mfa_at)):
        raise denied

    if caller.kind == "assumed-role":
        if requested not in (None, "") and duration > ROLE_CHAIN_LIMIT:
            raise validation_error(MSG_CHAIN)
        duration = min(duration, ROLE_CHAIN_LIMIT)
    assumed = _issue_role_session(
        self, role, target_account, session_name, duration, external_id=external_id, mfa=bool(mfa), mfa_at=mfa_at
    )
    return ActionResult(
        {
            "Credentials": assumed,
            "AssumedRoleUser": {"AssumedRoleId": assumed.user_id, "Arn": assumed.arn},
            "PackedPolicySize": 6,
        }
    )


MSG_WEB_IDENTITY_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def invalid_identity_token(message: str) -> StsError:
    return StsError(400, "InvalidIdentityToken", message)


def _jwt_claims(token: str) -> dict:
    """The claims of a JWT (header.payload.signature, base64url). The signature is not checked:
    the emulator cannot fetch an identity provider's keys."""
    import base64

    parts = (token or "").split(".")
    if len(parts) != 3:
        raise invalid_identity_token("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (ValueError, TypeError):
        raise invalid_identity_token("The ID Token provided is not a valid JWT.") from None
    if not isinstance(claims, dict):
        raise invalid_identity_token("The ID Token provided is not a valid JWT.")
    return claims


def assume_role_with_web_identity(self):
    from moto.core.responses import ActionResult

    role_arn = self._get_param("RoleArn") or ""
    session_name = self._get_param("RoleSessionName") or ""
    if not _SESSION_NAME.match(session_name):
        raise validation_error(
            f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        )
    duration = _int_param(self, "DurationSeconds", ASSUME_DEFAULT)
    err = _range_error("durationSeconds", duration, ASSUME_MIN, ASSUME_MAX)
    if err:
        raise err
    m = _ROLE_ARN.match(role_arn)
    if not m:
        raise validation_error(f"{role_arn} is invalid")
    target_account = m.group(1)

    claims = _jwt_claims(self._get_param("WebIdentityToken") or "")
    issuer = str(claims.get("iss") or "")
    issuer_id = issuer.split("://", 1)[-1].rstrip("/")
    provider = next(
        (p for p in _iam(target_account).open_id_providers.values() if p.url.rstrip("/") == issuer_id),
        None,
    )
    if provider is None:
        raise invalid_identity_token(f"No OpenIDConnect provider found in your account for {issuer}")
    audiences = [str(a) for a in _as_list(claims.get("aud"))]
    if not any(a in provider.client_id_list for a in audiences):
        raise invalid_identity_token("Incorrect token audience")
    expires = claims.get("exp")
    current = int(now().timestamp())
    if not isinstance(expires, (int, float)) or current >= expires:
        raise StsError(
            400,
            "ExpiredTokenException",
            f"Token expired: current date/time {current} must be before the expiration date/time{expires}",
        )

    caller = Caller(account=target_account, arn=provider.arn, kind="web-identity", federated=provider.arn)
    context = {"aws:FederatedProvider": provider.arn}
    for claim in ("aud", "sub", "amr"):
        if claim in claims:
            values = _as_list(claims[claim])
            context[f"{issuer_id}:{claim}"] = str(values[0]) if values else ""
    role = next((r for r in _iam(target_account).roles.values() if r.arn == role_arn), None)
    if role is None or not trust_allows(
        role.assume_role_policy_document, caller, context, action="sts:AssumeRoleWithWebIdentity"
    ):
        raise access_denied(MSG_WEB_IDENTITY_DENIED)
    assumed = _issue_role_session(self, role, target_account, session_name, duration, external_id=None, mfa=False, mfa_at=None)
    return ActionResult(
        {
            "Credentials": assumed,
            "SubjectFromWebIdentityToken": str(claims.get("sub") or ""),
            "AssumedRoleUser": {"AssumedRoleId": assumed.user_id, "Arn": assumed.arn},
            "PackedPolicySize": 6,
            "Provider": provider.arn,
            "Audience": audiences[0],
        }
    )


def _make_get_caller_identity(original):
    def get_caller_identity(self):
        from moto.core.responses import ActionResult

        with _lock:
            session = _sessions.get(self.get_access_key() or "")
        if session is None:
            return original(self)
        return ActionResult({"UserId": session.user_id, "Account": session.account, "Arn": session.arn})

    return get_caller_identity


# --- install + WSGI check of session credentials -----------------------------------------------
_MANAGED_POLICY_DATA: dict | None = None


def _load_aws_managed_policies() -> None:
    """AWS managed policies (AdministratorAccess, ReadOnlyAccess, ...) exist in every account, as
    on AWS. moto loads them only with MOTO_IAM_LOAD_MANAGED_POLICIES=true, and then in each of
    the six partitions of every account it meets (0.4 s per account, again after each reset):
    here the JSON is parsed once and only the `aws` partition gets them."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy, IAMBackend

    def init_aws_policies(self):
        global _MANAGED_POLICY_DATA
        if self.partition != PARTITION:
            return []
        if _MANAGED_POLICY_DATA is None:
            _MANAGED_POLICY_DATA = json.loads(aws_managed_policies_data)
        return [
            AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data)
            for name, data in _MANAGED_POLICY_DATA.items()
        ]

    IAMBackend._init_aws_policies = init_aws_policies


# --- a deleted principal in a trust policy -----------------------------------------------------
# IAM stores a trust policy's principals by unique id. When a role or user a trust policy names is
# deleted, GetRole shows that id (AROA... for a role, AIDA... for a user) where the ARN was, and a
# principal created later under the same name is not trusted. moto keeps the ARN text, so a
# recreated principal would be trusted again: these patches make deletion do what IAM does.

def _user_id(account: str) -> str:
    from moto.iam.utils import generate_access_key_id_from_account_id

    return generate_access_key_id_from_account_id(account_id=account, prefix="AIDA", total_length=21)


def _replace_principal(document, arn: str, unique_id: str):
    """`document` (a trust policy as stored: JSON text or a dict) with every principal equal to
    `arn` replaced by `unique_id`; None when it does not name `arn`."""
    try:
        policy = _load_policy(document)
    except (ValueError, TypeError):
        return None
    changed = False
    statements = policy.get("Statement")
    for st in statements if isinstance(statements, list) else [statements]:
        if not isinstance(st, dict) or not isinstance(st.get("Principal"), dict):
            continue
        principal = st["Principal"]
        value = principal.get("AWS")
        if value == arn:
            principal["AWS"] = unique_id
            changed = True
        elif isinstance(value, list) and arn in value:
            principal["AWS"] = [unique_id if v == arn else v for v in value]
            changed = True
    return json.dumps(policy) if changed else None


def _forget_principal(arn: str, unique_id: str) -> None:
    """Every role's trust policy, in every account, that names `arn` now names `unique_id`."""
    from moto.iam.models import iam_backends

    for _, by_partition in list(iam_backends.items()):
        if PARTITION not in by_partition:
            continue
        for role in list(by_partition[PARTITION].roles.values()):
            replaced = _replace_principal(role.assume_role_policy_document, arn, unique_id)
            if replaced is not None:
                role.assume_role_policy_document = replaced


def _install_deleted_principals() -> None:
    from moto.iam.models import IAMBackend

    original_create_user = IAMBackend.create_user
    original_delete_role = IAMBackend.delete_role
    original_delete_user = IAMBackend.delete_user

    def create_user(self, *args, **kwargs):
        result = original_create_user(self, *args, **kwargs)
        user = result[0] if isinstance(result, tuple) else result
        # IAM's user ids are AIDA...; moto's are random lower-case text.
        if not str(getattr(user, "id", "")).startswith("AIDA"):
            user.id = _user_id(self.account_id)
        return result

    def delete_role(self, role_name: str) -> None:
        role = self.get_role(role_name)
        original_delete_role(self, role_name)
        _forget_principal(role.arn, role.id)

    def delete_user(self, user_name: str) -> None:
        user = self.get_user(user_name)
        original_delete_user(self, user_name)
        _forget_principal(user.arn, user.id)

    IAMBackend.create_user = create_user
    IAMBackend.delete_role = delete_role
    IAMBackend.delete_user = delete_user


def install(settings: EmulatorSettings) -> None:
    _load_aws_managed_policies()
    _install_deleted_principals()
    from moto.sts.responses import TokenResponse

    TokenResponse.get_session_token = get_session_token
    TokenResponse.assume_role = assume_role
    TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity
    TokenResponse.get_caller_identity = _make_get_caller_identity(TokenResponse.get_caller_identity)
    settings.on_reset(reset)


def _credential_error(access_key: str, token: str | None) -> tuple[str, str] | None:
    with _lock:
        session = _sessions.get(access_key)
    if session is not None:
        if token != session.session_token:
            return "InvalidClientTokenId", MSG_TOKEN_INVALID
        if now() >= session.expiration:
            return "ExpiredToken", MSG_TOKEN_EXPIRED
        return None
    found = _find_long_term_key(access_key)
    if found is not None and found[1].user_name and getattr(found[1], "status", "Active") != "Active":
        return "InvalidClientTokenId", MSG_TOKEN_INVALID
    if found is None and token:
        # Temporary credentials this emulator never issued (e.g. cached from an earlier emulator
        # run): AWS refuses them; acting as some default account would hide the mistake.
        return "InvalidClientTokenId", MSG_TOKEN_INVALID
    return None


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        global _clock_offset
        path = environ.get("PATH_INFO", "")
        if path == "/_kirikae/clock":
            method = environ.get("REQUEST_METHOD")
            if method == "POST":
                try:
                    body = protocol.read_json(environ)
                    offset = float(body.get("offset_seconds", 0))
                except (ValueError, TypeError) as exc:
                    return protocol.json_response(start_response, 400, {"error": f"bad request: {exc}"})
                with _lock:
                    _clock_offset = offset
            elif method == "DELETE":
                with _lock:
                    _clock_offset = 0.0
            elif method != "GET":
                return protocol.json_response(start_response, 405, {"error": "use GET, POST or DELETE"})
            return protocol.json_response(
                start_response, 200, {"offset_seconds": _clock_offset, "now": now().isoformat(), "real_time": time.time()}
            )
        if not path.startswith("/_kirikae/") and not path.startswith("/moto-api"):
            req = protocol.parse_request(environ, read_body=False)
            if req.access_key:
                problem = _credential_error(req.access_key, req.session_token)
                if problem is not None:
                    return protocol.error_response(start_response, req, 403, *problem)
        return app(environ, start_response)

    return middleware

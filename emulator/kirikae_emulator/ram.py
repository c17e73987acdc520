"""AWS RAM resource share invitations (moto 5.2.5 applies every share at once and has none).

On AWS a share reaches an account at once only when the owner and that account are in one
organization that has enabled sharing with RAM (`ram enable-sharing-with-aws-organization` in the
management account). Any other account - outside the organization, or in an organization without
that switch - receives an invitation, and the shared resource stays out of its reach (a clone of a
shared cluster: DBClusterNotFoundFault) until it accepts. Invitations expire after 7 days.

The world's switch (reset restores the default, which is today's behaviour: one organization of
every account, sharing enabled, so every share applies at once):

    GET  /_kirikae/ram -> {"organization": [account ids] | null, "sharing_with_organization": bool}
    POST /_kirikae/ram {"organization": ["111111111111", ...] | null, "sharing_with_organization": false}
        organization: the accounts of the one organization (null: every account is in it);
        sharing_with_organization: whether it enabled sharing with RAM. Either may be left out.

The RAM operations added (REST-JSON as on AWS, as the receiving account):

    GetResourceShareInvitations {resourceShareInvitationArns?, resourceShareArns?}
        -> the caller's invitations in the region (PENDING, ACCEPTED, REJECTED, EXPIRED)
    AcceptResourceShareInvitation {resourceShareInvitationArn} -> ACCEPTED: the share applies
    RejectResourceShareInvitation {resourceShareInvitationArn} -> REJECTED: it never applies
        Errors: ResourceShareInvitationArnNotFoundException (unknown, another account's, or its
        share deleted), ...AlreadyAcceptedException, ...AlreadyRejectedException,
        ...ExpiredException (7 days after it was sent, on the emulator's clock: /_kirikae/clock).

rds.py asks `principal_accounts(share)` which accounts a share applies to now.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
import uuid
from dataclasses import dataclass

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/ram"
EXPIRY = datetime.timedelta(days=7)
_ACCOUNT = re.compile(r"^(\d{12})$|^arn:aws[a-z-]*:iam::(\d{12}):root$")

_lock = threading.Lock()
_DEFAULT_WORLD = {"organization": None, "sharing_with_organization": True}
_world: dict = dict(_DEFAULT_WORLD)
_invitations: list["Invitation"] = []


@dataclass
class Invitation:
    arn: str
    share_arn: str
    share_name: str
    sender: str
    receiver: str
    region: str
    sent: datetime.datetime
    answer: str = "PENDING"  # PENDING | ACCEPTED | REJECTED

    @property
    def status(self) -> str:
        if self.answer == "PENDING" and _now() - self.sent > EXPIRY:
            return "EXPIRED"
        return self.answer

    def describe(self) -> dict:
        return {
            "resourceShareInvitationArn": self.arn,
            "resourceShareName": self.share_name,
            "resourceShareArn": self.share_arn,
            "senderAccountId": self.sender,
            "receiverAccountId": self.receiver,
            "invitationTimestamp": unix_time(self.sent.replace(tzinfo=None)),
            "status": self.status,
        }


def _now() -> datetime.datetime:
    from .sts_iam import now  # the emulator's clock (real time + the /_kirikae/clock offset)

    return now()


def reset() -> None:
    with _lock:
        _world.clear()
        _world.update(_DEFAULT_WORLD)
        _invitations.clear()


def applies_at_once(owner: str, receiver: str) -> bool:
    """Whether a share from `owner` reaches `receiver` without an invitation."""
    with _lock:
        org = _world["organization"]
        in_one_org = org is None or (owner in org and receiver in org)
        return in_one_org and bool(_world["sharing_with_organization"])


def _account_of(principal: str) -> str | None:
    m = _ACCOUNT.match(principal)
    return (m.group(1) or m.group(2)) if m else None


def principal_accounts(share) -> set[str]:
    """The accounts `share` applies to now: its account principals, less those whose invitation
    is not accepted (pending, rejected or expired)."""
    accounts = {a for a in (_account_of(p) for p in share.principals) if a}
    with _lock:
        waiting = {i.receiver for i in _invitations if i.share_arn == share.arn and i.status != "ACCEPTED"}
    return accounts - waiting


# --------------------------------------------------------------------------- moto patches

_ORIG: dict = {}


class RamError(JsonRESTError):
    code = 400

    def __init__(self, error: str, message: str):
        super().__init__(error, message)


def create_resource_share(self, **kwargs):
    result = _ORIG["create_resource_share"](self, **kwargs)
    share = next(s for s in self.resource_shares if s.arn == result["resourceShare"]["resourceShareArn"])
    for principal in kwargs.get("principals", []):
        receiver = _account_of(principal)
        if receiver is None or receiver == self.account_id or applies_at_once(self.account_id, receiver):
            continue
        invitation = Invitation(
            arn=f"arn:aws:ram:{self.region_name}:{self.account_id}:resource-share-invitation/{uuid.uuid4()}",
            share_arn=share.arn, share_name=share.name, sender=self.account_id, receiver=receiver,
            region=self.region_name, sent=_now())
        with _lock:
            _invitations.append(invitation)
    return result


def _find(arn: str | None, account: str, region: str) -> Invitation:
    from moto.ram.models import ram_backends

    with _lock:
        inv = next((i for i in _invitations if i.arn == arn and i.receiver == account and i.region == region), None)
    if inv is not None:
        owner = ram_backends[inv.sender][inv.region]
        share = next((s for s in owner.resource_shares if s.arn == inv.share_arn), None)
        if share is not None and share.status == "ACTIVE":
            return inv
    raise RamError("ResourceShareInvitationArnNotFoundException",
                   f"ResourceShareInvitation {arn} could not be found.")


def _answer(arn: str | None, account: str, region: str, answer: str) -> dict:
    inv = _find(arn, account, region)
    with _lock:
        status = inv.status
        if status == "ACCEPTED":
            raise RamError("ResourceShareInvitationAlreadyAcceptedException",
                           f"ResourceShareInvitation {arn} has already been accepted.")
        if status == "REJECTED":
            raise RamError("ResourceShareInvitationAlreadyRejectedException",
                           f"ResourceShareInvitation {arn} has already been rejected.")
        if status == "EXPIRED":
            raise RamError("ResourceShareInvitationExpiredException",
                           f"ResourceShareInvitation {arn} has expired.")
        inv.answer = answer
    return {"resourceShareInvitation": inv.describe()}


def _response_get_invitations(self) -> str:
    params = self.request_params
    arns = params.get("resourceShareInvitationArns") or []
    shares = params.get("resourceShareArns") or []
    with _lock:
        found = [i.describe() for i in _invitations
                 if i.receiver == self.current_account and i.region == self.region
                 and (not arns or i.arn in arns) and (not shares or i.share_arn in shares)]
    return json.dumps({"resourceShareInvitations": found})


def _response_accept(self) -> str:
    arn = self.request_params.get("resourceShareInvitationArn")
    return json.dumps(_answer(arn, self.current_account, self.region, "ACCEPTED"))


def _response_reject(self) -> str:
    arn = self.request_params.get("resourceShareInvitationArn")
    return json.dumps(_answer(arn, self.current_account, self.region, "REJECTED"))


# --------------------------------------------------------------------------- the world's switch


def _admin(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        try:
            body = protocol.read_json(environ)
            update = {}
            if "organization" in body:
                org = body["organization"]
                if org is not None and not (isinstance(org, list) and all(
                        isinstance(a, str) and re.fullmatch(r"\d{12}", a) for a in org)):
                    raise ValueError("organization: a list of 12-digit account ids, or null (every account)")
                update["organization"] = None if org is None else sorted(set(org))
            if "sharing_with_organization" in body:
                if not isinstance(body["sharing_with_organization"], bool):
                    raise ValueError("sharing_with_organization: true or false")
                update["sharing_with_organization"] = body["sharing_with_organization"]
            unknown = set(body) - {"organization", "sharing_with_organization"}
            if unknown:
                raise ValueError(f"unknown field(s) {', '.join(sorted(unknown))}: "
                                 "expected organization, sharing_with_organization")
        except ValueError as exc:
            return protocol.json_response(start_response, 400, {"error": f"bad RAM setting: {exc}"})
        with _lock:
            _world.update(update)
    elif method != "GET":
        return protocol.json_response(start_response, 405, {"error": "use GET or POST"})
    with _lock:
        return protocol.json_response(start_response, 200, dict(_world))


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(reset)
    if _ORIG:
        return
    from moto.ram import urls
    from moto.ram.models import ResourceAccessManagerBackend
    from moto.ram.responses import ResourceAccessManagerResponse

    _ORIG["create_resource_share"] = ResourceAccessManagerBackend.create_resource_share
    ResourceAccessManagerBackend.create_resource_share = create_resource_share
    ResourceAccessManagerResponse.get_resource_share_invitations = _response_get_invitations
    ResourceAccessManagerResponse.accept_resource_share_invitation = _response_accept
    ResourceAccessManagerResponse.reject_resource_share_invitation = _response_reject
    for op in ("getresourceshareinvitations", "acceptresourceshareinvitation", "rejectresourceshareinvitation"):
        urls.url_paths["{0}/" + op + "$"] = ResourceAccessManagerResponse.dispatch


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        if environ.get("PATH_INFO", "") == ADMIN:
            return _admin(environ, start_response)
        return app(environ, start_response)

    return middleware

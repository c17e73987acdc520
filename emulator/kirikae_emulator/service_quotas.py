"""Service Quotas beyond VPC, with applied values per account, as on AWS (moto 5.2.5 knows only
25 VPC defaults, has no ListServiceQuotas, no usage metrics, and puts eu-west-1 in every ARN).

What changes:
- ListAWSDefaultServiceQuotas answers for `vpc` (moto's), `rds`, `lambda` and `ec2` (the quotas
  below, with `UsageMetric` where AWS publishes one in `AWS/Usage`), with the caller's region in
  every ARN; an unknown service code is `NoSuchResourceException`, as on AWS.
- ListServiceQuotas answers only the quotas whose value was changed in that account and region
  (applied values), as AWS does: a tool must merge it with the defaults.
- GetServiceQuota answers the applied value if there is one, else the default.
- `POST /_kirikae/servicequotas` {"account", "region", "service", "code", "value"} sets an applied
  value (what an approved increase request does on AWS); GET lists them. A moto reset clears them.

What still differs from AWS: only these quotas; the quota codes of RDS are the ones AWS shows in
the console as far as they were known when this was written (kirikae matches quotas by name);
AWS/Usage data points are not published by the emulator (seed them with PutMetricData).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/servicequotas"
_ORIG: dict[str, Any] = {}
_lock = threading.Lock()
# (account, region, service, code) -> value
_applied: dict[tuple[str, str, str, str], float] = {}


def _usage(service: str, resource: str, klass: str = "None", stat: str = "Maximum") -> dict:
    return {"MetricNamespace": "AWS/Usage", "MetricName": "ResourceCount",
            "MetricDimensions": {"Service": service, "Type": "Resource", "Resource": resource, "Class": klass},
            "MetricStatisticRecommendation": stat}


# service code -> (service name, [(code, name, default, adjustable, usage metric or None)])
SERVICES: dict[str, tuple[str, list[tuple[str, str, float, bool, dict | None]]]] = {
    "rds": ("Amazon Relational Database Service (Amazon RDS)", [
        ("L-952B80B8", "DB clusters", 40.0, True, None),
        ("L-7B6409FD", "DB instances", 40.0, True, None),
        ("L-9B510759", "Manual DB cluster snapshots", 100.0, True, None),
        ("L-272F1212", "Manual DB instance snapshots", 100.0, True, None),
        ("L-DE55804A", "Parameter groups", 50.0, True, None),
    ]),
    "lambda": ("AWS Lambda", [
        ("L-B99A9384", "Concurrent executions", 1000.0, True, None),
        ("L-2ACBD22F", "Function and layer storage", 80.0 * 1024 ** 3, True, None),
    ]),
    "ec2": ("Amazon Elastic Compute Cloud (Amazon EC2)", [
        ("L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 5.0, True,
         _usage("EC2", "vCPU", "Standard/OnDemand")),
        ("L-0263D0A3", "EC2-VPC Elastic IPs", 5.0, True, None),
    ]),
}


def reset() -> None:
    with _lock:
        _applied.clear()


def _quota(service: str, region: str, account: str | None, q: tuple, value: float | None = None) -> dict:
    code, name, default, adjustable, usage = q
    out = {
        "ServiceCode": service, "ServiceName": SERVICES[service][0],
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account or ''}:{service}/{code}",
        "QuotaCode": code, "QuotaName": name, "Value": default if value is None else value,
        "Unit": "Bytes" if "storage" in name else "None", "Adjustable": adjustable, "GlobalQuota": False,
    }
    if usage:
        out["UsageMetric"] = copy.deepcopy(usage)
    return out


def _vpc_defaults(region: str) -> list[dict]:
    from moto.servicequotas.resources.default_quotas.vpc import VPC_DEFAULT_QUOTAS

    out = []
    for q in VPC_DEFAULT_QUOTAS:
        q = dict(q)
        q["QuotaArn"] = f"arn:aws:servicequotas:{region}::vpc/{q['QuotaCode']}"
        out.append(q)
    return out


def defaults(service: str, region: str) -> list[dict]:
    from moto.servicequotas.exceptions import NoSuchResource

    if service == "vpc":
        return _vpc_defaults(region)
    if service not in SERVICES:
        raise NoSuchResource
    return [_quota(service, region, None, q) for q in SERVICES[service][1]]


def applied(account: str, region: str, service: str) -> list[dict]:
    from moto.servicequotas.exceptions import NoSuchResource

    if service != "vpc" and service not in SERVICES:
        raise NoSuchResource
    with _lock:
        mine = {code: v for (a, r, s, code), v in _applied.items() if (a, r, s) == (account, region, service)}
    out = []
    for q in defaults(service, region):
        if q["QuotaCode"] in mine:
            q = dict(q)
            q["Value"] = mine[q["QuotaCode"]]
            q["QuotaArn"] = f"arn:aws:servicequotas:{region}:{account}:{service}/{q['QuotaCode']}"
            out.append(q)
    return out


def _page(items: list[dict], params: dict) -> dict:
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 100)
    out: dict[str, Any] = {"Quotas": items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def _list_defaults(self) -> str:
    params = json.loads(self.body or "{}")
    return json.dumps(_page(defaults(str(params.get("ServiceCode")), self.region), params))


def _list_applied(self) -> str:
    params = json.loads(self.body or "{}")
    return json.dumps(_page(applied(self.current_account, self.region, str(params.get("ServiceCode"))), params))


def _get(self) -> str:
    from moto.servicequotas.exceptions import NoSuchResource

    params = json.loads(self.body or "{}")
    service, code = str(params.get("ServiceCode")), str(params.get("QuotaCode"))
    for q in applied(self.current_account, self.region, service) + defaults(service, self.region):
        if q["QuotaCode"] == code:
            return json.dumps({"Quota": q})
    raise NoSuchResource


def _admin(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        try:
            body = protocol.read_json(environ)
            if set(body) != {"account", "region", "service", "code", "value"}:
                raise ValueError("expected exactly account, region, service, code, value")
            known = {q["QuotaCode"] for q in defaults(str(body["service"]), str(body["region"]))}
            if body["code"] not in known:
                raise ValueError(f"{body['service']} has no quota {body['code']} (known: {', '.join(sorted(known))})")
            value = float(body["value"])
        except Exception as exc:  # noqa: BLE001 - every bad body is the caller's to fix
            return protocol.json_response(start_response, 400, {"error": f"bad applied quota: {exc}"})
        with _lock:
            _applied[(str(body["account"]), str(body["region"]), str(body["service"]), str(body["code"]))] = value
    elif method != "GET":
        return protocol.json_response(start_response, 405, {"error": "use GET or POST"})
    with _lock:
        listed = [{"account": a, "region": r, "service": s, "code": c, "value": v}
                  for (a, r, s, c), v in sorted(_applied.items())]
    return protocol.json_response(start_response, 200, {"applied": listed})


def wrap(app, settings: EmulatorSettings):  # noqa: ARG001 - the extension interface
    def middleware(environ, start_response):
        if environ.get("PATH_INFO", "") == ADMIN:
            return _admin(environ, start_response)
        return app(environ, start_response)

    return middleware


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(reset)
    if _ORIG:
        return
    from moto.servicequotas.responses import ServiceQuotasResponse

    _ORIG["installed"] = True
    ServiceQuotasResponse.list_aws_default_service_quotas = _list_defaults
    ServiceQuotasResponse.list_service_quotas = _list_applied
    ServiceQuotasResponse.get_service_quota = _get

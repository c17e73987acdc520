"""Cost Explorer per account and per month, as AWS answers it (moto 5.2.5 only replays results queued
through /moto-api/static/ce/..., matched by the exact request body, and has no ListCostAllocationTags).

Costs are seeded as line items (account, month, service, usage type, region, tags, amount):

    POST   /_kirikae/ce   {"lines": [{"account": "111111111111", "month": "2026-11",
                                       "service": "Amazon Relational Database Service",
                                       "usage_type": "APN1-InstanceUsage:db.r6g.large",
                                       "region": "ap-northeast-1", "tags": {"env": "prod"},
                                       "amount": 812.5}, ...],
                           "payers": {"100000000000": ["111111111111", "222222222222"]},
                           "cost_allocation_tags": {"100000000000": [{"TagKey": "env",
                                                    "Status": "Active", "Type": "UserDefined"}]},
                           "page_size": 50}
                          adds the lines; replaces payers / tags / page size when given
    GET    /_kirikae/ce   -> {"lines": N, "payers": {...}, "page_size": n, "requests": [...]}
                          requests: every Cost Explorer request answered, in order:
                          {"account", "operation", "start", "end"} (the period asked, if any)
    DELETE /_kirikae/ce   forgets everything (so does POST /_kirikae/reset)
    DELETE /_kirikae/ce/requests   forgets the request log only

What the API then answers, as on AWS:
- GetCostAndUsage: a caller sees its own account's costs; a payer (management account) sees its
  own and its linked accounts'. MONTHLY granularity; one result per calendar month of TimePeriod
  (End exclusive; a partial month is prorated by days), `Estimated` true for a month that has not
  ended by the emulator's clock (sts_iam.now()); GroupBy up to two of DIMENSION LINKED_ACCOUNT /
  SERVICE / USAGE_TYPE / REGION and TAG <key> (key `env$prod`, `env$` when the tag is absent);
  Filter with Dimensions / Tags (EQUALS, ABSENT) / And / Or / Not; every cost metric answers the
  line's amount in USD. Groups come in pages of `page_size` with a NextPageToken.
- ListCostAllocationTags: the payer's cost-allocation tags (a linked account gets its payer's),
  filtered by Status, Type and TagKeys, paged by MaxResults / NextToken.

What still differs from AWS: no DAILY/HOURLY data (a ValidationException says so), no
forecast, no cost categories, no usage quantities; every metric is the same amount.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import json
import threading

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/ce"
TARGET_PREFIX = "AWSInsightsIndexService."
DIMENSIONS = {"LINKED_ACCOUNT": "account", "SERVICE": "service", "USAGE_TYPE": "usage_type", "REGION": "region"}
COST_METRICS = {"UnblendedCost", "BlendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost"}
DEFAULT_PAGE_SIZE = 50

_lock = threading.Lock()
_lines: list[dict] = []
_payers: dict[str, list[str]] = {}
_tags: dict[str, list[dict]] = {}
_page_size = DEFAULT_PAGE_SIZE
_requests: list[dict] = []


class CeError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def validation(message: str) -> CeError:
    return CeError("ValidationException", message)


def clear() -> None:
    global _page_size
    with _lock:
        _lines.clear()
        _payers.clear()
        _tags.clear()
        _requests.clear()
        _page_size = DEFAULT_PAGE_SIZE


def _check_line(line: dict) -> dict:
    for key in ("account", "month", "service", "amount"):
        if key not in line:
            raise ValueError(f"a line needs {key!r}: {line}")
    datetime.date.fromisoformat(line["month"] + "-01")
    return {
        "account": str(line["account"]),
        "month": line["month"],
        "service": line["service"],
        "usage_type": line.get("usage_type", ""),
        "region": line.get("region", "global"),
        "tags": dict(line.get("tags", {})),
        "amount": float(line["amount"]),
    }


def seed(body: dict) -> None:
    global _page_size
    lines = [_check_line(line) for line in body.get("lines", [])]
    with _lock:
        _lines.extend(lines)
        if "payers" in body:
            _payers.clear()
            _payers.update({str(k): [str(a) for a in v] for k, v in body["payers"].items()})
        if "cost_allocation_tags" in body:
            _tags.clear()
            _tags.update({str(k): list(v) for k, v in body["cost_allocation_tags"].items()})
        if "page_size" in body:
            _page_size = max(1, int(body["page_size"]))


# --- dates -------------------------------------------------------------------------------------
def _today() -> datetime.date:
    from .sts_iam import now

    return now().date()


def _date(value, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise validation(f"{name} {value!r} is not a date in the format YYYY-MM-DD") from None


def _months(start: datetime.date, end: datetime.date):
    """(month "YYYY-MM", period start, period end exclusive, share of the month) per calendar
    month intersecting [start, end)."""
    day = start
    while day < end:
        first = day.replace(day=1)
        days = calendar.monthrange(first.year, first.month)[1]
        next_first = first + datetime.timedelta(days=days)
        stop = min(next_first, end)
        yield first.strftime("%Y-%m"), day, stop, (stop - day).days / days
        day = stop


# --- filters -----------------------------------------------------------------------------------
def _matches(expr: dict | None, line: dict) -> bool:
    if not expr:
        return True
    if "And" in expr:
        return all(_matches(e, line) for e in expr["And"])
    if "Or" in expr:
        return any(_matches(e, line) for e in expr["Or"])
    if "Not" in expr:
        return not _matches(expr["Not"], line)
    if "Dimensions" in expr:
        d = expr["Dimensions"]
        field = DIMENSIONS.get(d.get("Key"))
        if field is None:
            raise validation(f"the emulator filters on dimensions {sorted(DIMENSIONS)} only, not {d.get('Key')!r}")
        return line[field] in d.get("Values", [])
    if "Tags" in expr:
        t = expr["Tags"]
        key = t.get("Key")
        options = t.get("MatchOptions") or ["EQUALS"]
        if "ABSENT" in options:
            return key not in line["tags"] or line["tags"][key] in t.get("Values", [])
        return key in line["tags"] and line["tags"][key] in t.get("Values", [])
    raise validation(f"unsupported filter expression {sorted(expr)}")


def _group_key(group: dict, line: dict) -> str:
    if group.get("Type") == "TAG":
        key = group["Key"]
        return f"{key}${line['tags'].get(key, '')}"
    return line[DIMENSIONS[group["Key"]]]


def _check_group_by(group_by: list) -> None:
    if len(group_by) > 2:
        raise validation("You can only group by up to two different groups.")
    for g in group_by:
        kind, key = g.get("Type"), g.get("Key")
        if kind == "DIMENSION" and key not in DIMENSIONS:
            raise validation(f"the emulator groups by dimensions {sorted(DIMENSIONS)} only, not {key!r}")
        if kind not in ("DIMENSION", "TAG"):
            raise validation(f"GroupBy type {kind!r} is not DIMENSION or TAG")
        if not key:
            raise validation("a GroupBy needs a Key")


# --- operations --------------------------------------------------------------------------------
def _visible(account: str) -> set[str]:
    with _lock:
        return {account, *_payers.get(account, [])}


def _payer_of(account: str) -> str:
    with _lock:
        if account in _tags:
            return account
        for payer, members in _payers.items():
            if account in members:
                return payer
    return account


def _amounts(metrics: list[str], amount: float) -> dict:
    return {m: {"Amount": f"{amount:.10f}".rstrip("0").rstrip(".") or "0", "Unit": "USD"} for m in metrics}


def get_cost_and_usage(account: str, body: dict) -> dict:
    period = body.get("TimePeriod") or {}
    if "Start" not in period or "End" not in period:
        raise validation("TimePeriod needs Start and End")
    start, end = _date(period["Start"], "Start"), _date(period["End"], "End")
    if start >= end:
        raise validation(f"Start date ({start}) must be before End date ({end}).")
    granularity = body.get("Granularity")
    if granularity != "MONTHLY":
        raise validation(f"Granularity {granularity!r}: the emulator keeps monthly costs only (use MONTHLY)")
    metrics = body.get("Metrics") or []
    if not metrics:
        raise validation("Metrics is required")
    unknown = [m for m in metrics if m not in COST_METRICS]
    if unknown:
        raise validation(f"the emulator answers the cost metrics {sorted(COST_METRICS)} only, not {unknown}")
    group_by = body.get("GroupBy") or []
    _check_group_by(group_by)
    visible = _visible(account)
    with _lock:
        lines = [l for l in _lines if l["account"] in visible]
        page_size = _page_size
    lines = [l for l in lines if _matches(body.get("Filter"), l)]
    today = _today()
    results = []
    for month, p_start, p_end, share in _months(start, end):
        first = datetime.date.fromisoformat(month + "-01")
        month_end = first + datetime.timedelta(days=calendar.monthrange(first.year, first.month)[1])
        estimated = month_end > today
        sums: dict[tuple, float] = {}
        total = 0.0
        for l in lines:
            if l["month"] != month:
                continue
            amount = l["amount"] * share
            total += amount
            if group_by:
                k = tuple(_group_key(g, l) for g in group_by)
                sums[k] = sums.get(k, 0.0) + amount
        results.append({
            "TimePeriod": {"Start": p_start.isoformat(), "End": p_end.isoformat()},
            "Total": {} if group_by else _amounts(metrics, total),
            "Groups": [{"Keys": list(k), "Metrics": _amounts(metrics, v)} for k, v in sorted(sums.items())],
            "Estimated": estimated,
        })
    answer: dict = {"ResultsByTime": results, "DimensionValueAttributes": []}
    if group_by:
        answer["GroupDefinitions"] = [{"Type": g["Type"], "Key": g["Key"]} for g in group_by]
        answer = _page(answer, body.get("NextPageToken"), page_size)
    return answer


def _page(answer: dict, token: str | None, page_size: int) -> dict:
    """Cuts the groups of every month, in order, into pages of `page_size`."""
    flat = [(i, g) for i, r in enumerate(answer["ResultsByTime"]) for g in r["Groups"]]
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.b64decode(token))["offset"])
        except (ValueError, KeyError, TypeError):
            raise validation("NextPageToken is not a token this API returned") from None
    chunk = flat[offset: offset + page_size]
    first_page = offset == 0
    by_result: dict[int, list] = {}
    for i, g in chunk:
        by_result.setdefault(i, []).append(g)
    results = []
    for i, r in enumerate(answer["ResultsByTime"]):
        if i in by_result or (first_page and not r["Groups"]):
            results.append({**r, "Groups": by_result.get(i, [])})
    answer = {**answer, "ResultsByTime": results}
    if offset + page_size < len(flat):
        answer["NextPageToken"] = base64.b64encode(json.dumps({"offset": offset + page_size}).encode()).decode()
    return answer


def list_cost_allocation_tags(account: str, body: dict) -> dict:
    payer = _payer_of(account)
    with _lock:
        tags = [dict(t) for t in _tags.get(payer, [])]
    for t in tags:
        t.setdefault("Type", "UserDefined")
        t.setdefault("LastUpdatedDate", "2026-01-01T00:00:00Z")
    if body.get("Status"):
        if body["Status"] not in ("Active", "Inactive"):
            raise validation(f"Status {body['Status']!r} is not Active or Inactive")
        tags = [t for t in tags if t["Status"] == body["Status"]]
    if body.get("Type"):
        tags = [t for t in tags if t["Type"] == body["Type"]]
    if body.get("TagKeys"):
        tags = [t for t in tags if t["TagKey"] in body["TagKeys"]]
    tags.sort(key=lambda t: t["TagKey"])
    limit = int(body.get("MaxResults") or 100)
    if not 1 <= limit <= 1000:
        raise validation("MaxResults must be between 1 and 1000")
    offset = int(body["NextToken"]) if str(body.get("NextToken") or "").isdigit() else 0
    answer: dict = {"CostAllocationTags": tags[offset: offset + limit]}
    if offset + limit < len(tags):
        answer["NextToken"] = str(offset + limit)
    return answer


OPERATIONS = {"GetCostAndUsage": get_cost_and_usage, "ListCostAllocationTags": list_cost_allocation_tags}


def _admin(environ, start_response):
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "POST":
        try:
            seed(protocol.read_json(environ))
        except (ValueError, TypeError, AttributeError) as exc:
            return protocol.json_response(start_response, 400, {"error": f"bad request: {exc}"})
    elif method == "DELETE":
        clear()
    elif method != "GET":
        return protocol.json_response(start_response, 405, {"error": "use GET, POST or DELETE"})
    with _lock:
        state = {"lines": len(_lines), "payers": dict(_payers), "page_size": _page_size,
                 "requests": list(_requests)}
    return protocol.json_response(start_response, 200, state)


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(clear)


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == ADMIN:
            return _admin(environ, start_response)
        if path == ADMIN + "/requests" and environ.get("REQUEST_METHOD") == "DELETE":
            with _lock:
                _requests.clear()
            return protocol.json_response(start_response, 200, {"requests": []})
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX) or target[len(TARGET_PREFIX):] not in OPERATIONS:
            return app(environ, start_response)
        req = protocol.parse_request(environ, read_body=False)
        from .sts_iam import resolve_caller

        caller = resolve_caller(req.access_key, environ.get("HTTP_X_MOTO_ACCOUNT_ID") or "123456789012")
        try:
            body = protocol.read_json(environ)
            period = body.get("TimePeriod") or {}
            with _lock:
                _requests.append({"account": caller.account, "operation": req.operation,
                                  "start": period.get("Start"), "end": period.get("End")})
            answer = OPERATIONS[req.operation](caller.account, body)
        except CeError as e:
            return protocol.error_response(start_response, req, 400, e.code, e.message)
        except (ValueError, TypeError) as e:
            return protocol.error_response(start_response, req, 400, "ValidationException", str(e))
        payload = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]

    return middleware

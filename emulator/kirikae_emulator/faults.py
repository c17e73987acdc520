"""Fault injection for reliability tests, and the emulator's admin reset.

    POST   /_kirikae/faults   {"service": "rds", "operation": "DescribeDBClusters", "nth": 2,
                               "times": 1, "error": "Throttling", "status": 400,
                               "message": "Rate exceeded", "delay_seconds": 0}
    GET    /_kirikae/faults   -> {"faults": [{..., "id": 1, "calls": 3, "hits": 1}]}
    DELETE /_kirikae/faults   clears them all (DELETE /_kirikae/faults/<id> clears one)
    POST   /_kirikae/reset    moto's reset + every extension's reset hook (faults included)

A fault counts the calls that match it (service from the SigV4 credential scope, operation from
Action= or X-Amz-Target; either may be omitted or "*" to match any), starting from when it was
set. Calls number `nth` .. `nth + times - 1` (1-based; `times` 0 means "every call from the nth
on") are hit: the emulator waits `delay_seconds` (to make a client time out), then answers
`error` with HTTP `status` in the service's protocol (XML ErrorResponse for query-protocol
services such as sts, iam, rds, ec2; {"__type", "message"} for JSON-protocol services). A fault
with a delay and no `error` lets the call through after the delay. Several faults may hit the
same call: the first set wins, every matching fault counts the call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from . import protocol
from .settings import EmulatorSettings

ADMIN = "/_kirikae/faults"


@dataclass
class Fault:
    id: int
    service: str | None = None
    operation: str | None = None
    nth: int = 1
    times: int = 1
    error: str | None = None
    status: int = 400
    message: str = ""
    delay_seconds: float = 0.0
    calls: int = 0  # matching calls seen since the fault was set
    hits: int = 0  # of those, how many it answered (or delayed)
    created: float = field(default_factory=time.time)

    def matches(self, req: protocol.AwsRequest) -> bool:
        if self.service not in (None, "*") and (req.service or "").lower() != self.service.lower():
            return False
        if self.operation not in (None, "*") and (req.operation or "") != self.operation:
            return False
        return True

    def fires_on(self, call_number: int) -> bool:
        if call_number < self.nth:
            return False
        return self.times == 0 or call_number < self.nth + self.times


_lock = threading.Lock()
_faults: list[Fault] = []
_next_id = 1


def clear() -> None:
    with _lock:
        _faults.clear()


def add(spec: dict) -> Fault:
    global _next_id
    known = {"service", "operation", "nth", "times", "error", "status", "message", "delay_seconds"}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
    nth = int(spec.get("nth", 1))
    times = int(spec.get("times", 1))
    status = int(spec.get("status", 400))
    delay = float(spec.get("delay_seconds", 0) or 0)
    error = spec.get("error")
    if nth < 1:
        raise ValueError("nth must be 1 or more (the first matching call is 1)")
    if times < 0:
        raise ValueError("times must be 0 (every call from the nth on) or more")
    if not (100 <= status <= 599):
        raise ValueError("status must be an HTTP status code")
    if error is None and delay <= 0:
        raise ValueError('a fault needs "error" or "delay_seconds"')
    with _lock:
        fault = Fault(
            id=_next_id,
            service=spec.get("service"),
            operation=spec.get("operation"),
            nth=nth,
            times=times,
            error=error,
            status=status,
            message=str(spec.get("message") or (error or "")),
            delay_seconds=delay,
        )
        _next_id += 1
        _faults.append(fault)
    return fault


def _match(req: protocol.AwsRequest) -> Fault | None:
    chosen = None
    with _lock:
        for fault in _faults:
            if not fault.matches(req):
                continue
            fault.calls += 1
            if fault.fires_on(fault.calls):
                fault.hits += 1
                if chosen is None:
                    chosen = fault
    return chosen


def _admin(environ, start_response):
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if path == "/_kirikae/reset":
        if method != "POST":
            return protocol.json_response(start_response, 405, {"error": "POST to reset"})
        # moto's own reset; server.install_extensions patched it to run every reset hook too
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        return protocol.json_response(start_response, 200, {"status": "reset"})
    if path == ADMIN:
        if method == "GET":
            with _lock:
                listed = [asdict(f) for f in _faults]
            return protocol.json_response(start_response, 200, {"faults": listed})
        if method == "POST":
            try:
                fault = add(protocol.read_json(environ))
            except (ValueError, TypeError) as exc:
                return protocol.json_response(start_response, 400, {"error": f"bad fault: {exc}"})
            return protocol.json_response(start_response, 201, asdict(fault))
        if method == "DELETE":
            clear()
            return protocol.json_response(start_response, 200, {"faults": []})
        return protocol.json_response(start_response, 405, {"error": "use GET, POST or DELETE"})
    if path.startswith(ADMIN + "/") and method == "DELETE":
        try:
            wanted = int(path.rsplit("/", 1)[1])
        except ValueError:
            return protocol.json_response(start_response, 404, {"error": "no such fault"})
        with _lock:
            before = len(_faults)
            _faults[:] = [f for f in _faults if f.id != wanted]
            removed = before != len(_faults)
        if not removed:
            return protocol.json_response(start_response, 404, {"error": f"no fault {wanted}"})
        return protocol.json_response(start_response, 200, {"deleted": wanted})
    return None


def install(settings: EmulatorSettings) -> None:
    settings.on_reset(clear)


def wrap(app, settings: EmulatorSettings):
    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_kirikae/"):
            answer = _admin(environ, start_response)
            if answer is not None:
                return answer
        elif _faults and not path.startswith("/moto-api"):
            req = protocol.parse_request(environ)
            fault = _match(req)
            if fault is not None:
                if fault.delay_seconds > 0:
                    time.sleep(fault.delay_seconds)
                if fault.error:
                    return protocol.error_response(start_response, req, fault.status, fault.error, fault.message)
        return app(environ, start_response)

    return middleware

"""The emulator's "bastion": a TCP forwarder started as a tunnel command.

    python -m kirikae_emulator bastion [--endpoint-url URL] HOST PORT LOCAL_PORT
    python3 emulator/kirikae_emulator/bastion.py [--endpoint-url URL] HOST PORT LOCAL_PORT

Listens on 127.0.0.1:LOCAL_PORT. For each connection it asks the emulator where HOST:PORT (an
endpoint name the emulator reported, e.g. `staging.cluster-<id>.ap-northeast-1.rds.amazonaws.com`)
really lives (GET URL/_kirikae/resolve?name=HOST&port=PORT -> {"host", "port"}) and forwards the
bytes unchanged both ways: TLS passes through end to end, so the client verifies the cluster's
real name against the private servers' certificate. A name the emulator does not know (never
made, deleted, renamed away) or an unreachable emulator: one line on stderr, and that connection
is closed. SIGTERM / SIGINT: stops listening, closes every connection, exits 0.

The emulator's URL: --endpoint-url, else $KIRIKAE_EMULATOR_URL, else $AWS_ENDPOINT_URL.

It plays the part of `aws ssm start-session --document-name
AWS-StartPortForwardingSessionToRemoteHost --parameters host=HOST,portNumber=PORT,localPortNumber=LOCAL_PORT`
or `ssh -N -L LOCAL_PORT:HOST:PORT bastion`: the names resolve only "inside the VPC", i.e. here.

Standard library only, so any python3 can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

URL_VARIABLES = ("KIRIKAE_EMULATOR_URL", "AWS_ENDPOINT_URL")
RESOLVE_PATH = "/_kirikae/resolve"


class ResolveError(Exception):
    """The emulator does not know the name, or could not be asked."""


def resolve(emulator_url: str, host: str, port: int | None, timeout: float = 10.0) -> tuple[str, int]:
    """Where HOST:PORT really lives, as the emulator says (also used by the seed and the tests to
    reach a cluster whose reported endpoint does not resolve). A loopback host is itself."""
    if host in ("127.0.0.1", "localhost", "::1"):
        return host, int(port or 0)
    query = urllib.parse.urlencode({"name": host, **({"port": str(port)} if port is not None else {})})
    url = f"{emulator_url.rstrip('/')}{RESOLVE_PATH}?{query}"
    # No proxy, whatever the environment says: the emulator is on loopback, and nothing may go elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            answer = json.load(r)
    except urllib.error.HTTPError as exc:
        try:
            message = json.load(exc).get("error") or str(exc)
        except Exception:  # noqa: BLE001 - a body that is not JSON: say the status
            message = str(exc)
        raise ResolveError(message) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ResolveError(f"the emulator at {emulator_url} did not answer: {exc}") from exc
    return answer["host"], int(answer["port"])


def _say(text: str) -> None:
    print(f"bastion: {text}", file=sys.stderr, flush=True)


class Bastion:
    def __init__(self, emulator_url: str, host: str, port: int, local_port: int):
        self.emulator_url = emulator_url
        self.host = host
        self.port = port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", local_port))
        self.listener.listen(64)
        self.local_port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    def serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            client.settimeout(None)
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()
        self.listener.close()
        with self._lock:
            for s in list(self._open):
                _close(s)

    def stop(self) -> None:
        self.stopping.set()

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._open.add(s)

    def _forward(self, client: socket.socket) -> None:
        self._track(client)
        try:
            real_host, real_port = resolve(self.emulator_url, self.host, self.port)
        except ResolveError as exc:
            _say(f"{self.host}:{self.port}: {exc}; connection closed")
            self._drop(client)
            return
        try:
            upstream = socket.create_connection((real_host, real_port), timeout=10)
            upstream.settimeout(None)
        except OSError as exc:
            _say(f"{self.host}:{self.port} lives at {real_host}:{real_port}, which refused: {exc}; connection closed")
            self._drop(client)
            return
        self._track(upstream)
        done = threading.Event()
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b, done), daemon=True).start()
        done.wait()
        self._drop(client)
        self._drop(upstream)

    def _pump(self, src: socket.socket, dst: socket.socket, done: threading.Event) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            done.set()

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        _close(s)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def emulator_url_from(args_url: str | None) -> str | None:
    if args_url:
        return args_url
    return next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), None)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint-url", default=None,
                   help="the emulator's URL (default: $KIRIKAE_EMULATOR_URL, else $AWS_ENDPOINT_URL)")
    p.add_argument("host", help="the endpoint name to reach, as DescribeDBClusters reports it")
    p.add_argument("port", type=int, help="its port (3306 / 5432)")
    p.add_argument("local_port", type=int, help="the loopback port to listen on (0: any free one)")


def run(args: argparse.Namespace) -> int:
    url = emulator_url_from(args.endpoint_url)
    if not url:
        _say("no emulator URL: pass --endpoint-url http://127.0.0.1:PORT or set KIRIKAE_EMULATOR_URL")
        return 2
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        _say(f"refusing {url}: the emulator serves loopback only (http://127.0.0.1:PORT)")
        return 2
    try:
        bastion = Bastion(url, args.host, args.port, args.local_port)
    except OSError as exc:
        _say(f"cannot listen on 127.0.0.1:{args.local_port}: {exc}")
        return 1

    def stop(signum, _frame):
        bastion.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _say(f"forwarding 127.0.0.1:{bastion.local_port} -> {args.host}:{args.port} (via {url})")
    bastion.serve()
    _say("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bastion", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""Command line: `python -m kirikae_emulator serve | seed story | totp | bastion | endpoint-id | endpoint-sans`.

    serve [--host 127.0.0.1] [--port 0] [--endpoints loopback|realistic]
        Serve moto + kirikae's extensions in the foreground on loopback. Prints
        `kirikae emulator listening on http://127.0.0.1:PORT` once it accepts connections.
        SIGTERM or SIGINT stops it cleanly and runs the extensions' shutdown hooks.
        --endpoints (default $KIRIKAE_EMU_ENDPOINTS, else realistic): what clusters report as their
        endpoint; `realistic` = AWS's names, reachable only through the bastion (README-rds.md).
    bastion [--endpoint-url URL] HOST PORT LOCAL_PORT
        A tunnel command: listen on 127.0.0.1:LOCAL_PORT and forward each connection to where the
        endpoint name HOST:PORT really lives (bastion.py). URL defaults to $KIRIKAE_EMULATOR_URL.
    endpoint-id ACCOUNT REGION
        The 12-character id in the RDS endpoint names of that account and region.
    endpoint-sans
        The DNS names the private servers' certificate carries (scripts/db), one a line.
    seed leftovers --endpoint URL [--count N]
        The story's leftovers for `kirikae sweep` in the prod account (after `seed story`).
    seed audit --endpoint URL [--quiet]
        The story's estate for `kirikae audit runtimes` (after `seed story`): an old Lambda
        runtime, engine and EKS versions past standard support, an ended OS, next to fine ones
        (audit_estate.py); --quiet prints {name: ARN or id} as JSON. Seeding again makes only
        what is missing and says when nothing changed.
    seed story --endpoint URL [--config-out PATH] [--members N]
        Build the story's world (jump/prod/dev accounts, hanako, MFA, ops roles, shop-prod with
        its generated data, N members, default 2000) on a running emulator and write
        kirikae.toml, the credentials file and mfa.secret.
    totp SECRETFILE
        Print the current 6-digit TOTP code for the base32 secret in SECRETFILE.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def _serve(args: argparse.Namespace) -> int:
    from .server import check_loopback, make_wsgi_server, server_url
    from .settings import EmulatorSettings

    check_loopback(args.host)
    if "MOTO_ACCOUNT_ID" in os.environ:
        # moto would act in this one account for every request, whatever the credentials.
        print("kirikae emulator: ignoring MOTO_ACCOUNT_ID: accounts come from the credentials", file=sys.stderr)
        del os.environ["MOTO_ACCOUNT_ID"]
    try:
        settings = EmulatorSettings()
    except ValueError as exc:  # a bad KIRIKAE_EMU_* variable: say which, without a traceback
        print(f"kirikae emulator: {exc}", file=sys.stderr)
        return 2
    if args.endpoints:
        settings.endpoints = args.endpoints
    server = make_wsgi_server(settings, args.host, args.port)
    stopping = threading.Event()

    def stop(signum, _frame):
        if stopping.is_set():
            return
        stopping.set()
        print(f"kirikae emulator: {signal.Signals(signum).name}: shutting down", file=sys.stderr, flush=True)
        # shutdown() waits for serve_forever() to return, so it cannot run in this (the serving) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    url = server_url(server)
    written: list[tuple[str, str]] = []
    for path, value in ((args.pid_file, str(os.getpid())), (args.url_file, url)):
        if path:
            _write_atomically(path, value + "\n")
            written.append((path, value + "\n"))
    # The socket is bound and listening now: connections queue until serve_forever() takes them.
    print(f"kirikae emulator listening on {url}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        errors = settings.run_shutdown_hooks()
        for path, value in written:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() == value:  # still ours (not a newer instance's)
                        os.unlink(path)
            except OSError:
                pass
        print("kirikae emulator: stopped", file=sys.stderr, flush=True)
    return 1 if errors else 0


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _seed(args: argparse.Namespace) -> int:
    from . import seed

    return seed.main(args)


def _seed_world(args: argparse.Namespace) -> int:
    if args.world == "audit":
        from . import audit_estate

        return audit_estate.main(args)
    if args.world == "leftovers":
        from . import sweep_fixture

        return sweep_fixture.main(args)
    return _seed(args)


def _totp(args: argparse.Namespace) -> int:
    from .totp import totp

    try:
        with open(args.secretfile, encoding="utf-8") as f:
            secret = f.read()
        print(totp(secret), flush=True)
    except (OSError, ValueError) as exc:
        print(f"kirikae emulator totp: {args.secretfile}: {exc}", file=sys.stderr)
        return 2
    return 0


def _bastion(args: argparse.Namespace) -> int:
    from . import bastion

    return bastion.run(args)


def _endpoint_id(args: argparse.Namespace) -> int:
    from . import endpoints

    print(endpoints.endpoint_id(args.account, args.region))
    return 0


def _endpoint_sans(args: argparse.Namespace) -> int:
    from . import endpoints

    print("\n".join(endpoints.sans()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kirikae_emulator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the emulator in the foreground (loopback only)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    p.add_argument("--pid-file", help="write this process's id here once listening (removed on exit)")
    p.add_argument("--url-file", help="write the endpoint URL here once listening (removed on exit)")
    p.add_argument("--endpoints", choices=["loopback", "realistic"], default=None,
                   help="what clusters report as endpoint: loopback (127.0.0.1 and the private server's port) or "
                        "realistic (AWS's names, which do not resolve: use the bastion); default $KIRIKAE_EMU_ENDPOINTS, else realistic")
    p.set_defaults(func=_serve)

    p = sub.add_parser("bastion", help="forward 127.0.0.1:LOCAL_PORT to where an endpoint name really lives (a tunnel command)")
    from .bastion import add_arguments

    add_arguments(p)
    p.set_defaults(func=_bastion)

    p = sub.add_parser("endpoint-id", help="the 12-character id in the RDS endpoint names of an account and region")
    p.add_argument("account")
    p.add_argument("region")
    p.set_defaults(func=_endpoint_id)

    p = sub.add_parser("endpoint-sans", help="the DNS names the private servers' certificate carries (scripts/db)")
    p.set_defaults(func=_endpoint_sans)

    p = sub.add_parser("seed", help="build a world on a running emulator")
    p.add_argument("world", choices=["story", "leftovers", "audit"],
                   help="which world: `story` (the seed document's estate), `leftovers` (sweep's 191, after story), "
                        "`audit` (findings of `kirikae audit runtimes`, after story)")
    p.add_argument("--endpoint", required=True, help="the emulator's URL, e.g. http://127.0.0.1:5000")
    p.add_argument("--config-out", default=None, help="where to write kirikae.toml (default <repo>/examples/story/kirikae.toml)")
    p.add_argument("--count", type=int, default=191, help="leftovers: how many (default 191, the story's)")
    p.add_argument("--members", type=int, default=None,
                   help="story: members in shop-prod's generated data (default 2000; other tables scale with it)")
    p.add_argument("--quiet", action="store_true", help="print only the config path (leftovers: the count; audit: the estate as JSON)")
    p.set_defaults(func=_seed_world)

    p = sub.add_parser("totp", help="print the current TOTP code for a base32 secret file")
    p.add_argument("secretfile")
    p.set_defaults(func=_totp)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

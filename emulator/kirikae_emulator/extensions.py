"""The list of kirikae's additions to moto. Each module has install(settings) (patches moto in
this process) and may have wrap(app, settings) (a WSGI middleware)."""

from __future__ import annotations

from .settings import EmulatorSettings

# Filled in by the extension modules as they are written; order matters for wrap (outermost last).
MODULES: list[str] = ["cost_explorer", "cloudcontrol", "cc_tagging", "sts_iam", "cloudformation_iam", "faults", "rds", "rds_versions", "service_quotas", "ram", "ec2_dependencies", "elasticache", "ami_dates", "eks", "az_ids", "cloudwatch_cbor", "calls"]


def _modules():
    import importlib

    return [importlib.import_module(f"{__package__}.{name}") for name in MODULES]


def install_all(settings: EmulatorSettings) -> None:
    for mod in _modules():
        mod.install(settings)


def wrap_wsgi(app, settings: EmulatorSettings):
    for mod in _modules():
        wrap = getattr(mod, "wrap", None)
        if wrap is not None:
            app = wrap(app, settings)
    return app

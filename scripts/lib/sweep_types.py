"""Writes crates/kirikae-cc-types/data/cc_types.json: sweep's table of the resource types it can
read and delete through AWS Cloud Control, from a tagged resource's ARN.

Run by developers (scripts/sweep-types), never at build time. Inputs, all pinned
(scripts/lib/sweep-types-requirements.txt) or reviewed:
  - arnmatch: the ARN formats of the IAM Service Authorization Reference, as regexes with named
    fields, in the order they must be tried (more specific first), each with a CloudFormation
    type where known;
  - cfn-lint: the CloudFormation registry's resource schemas per region (primary identifier,
    handlers and their permissions, list parents, read-only properties, the regions with the type);
  - crates/kirikae-cc-types/data/cc_overrides.toml: fixes, risk classes, denied types.

A row per ARN shape of a service that has at least one Cloud Control type, in arnmatch's order,
up to that service's last mapped shape (an ARN matches the first row that fits, as in arnmatch,
so a more specific shape without a type still stops a less specific one from claiming it):
  service, regex, sample_arn (a made-up ARN of that shape),
  type (null: not reachable, `why` says why), identifier (arn | fields | lookup),
  fields ([property, ARN field, transform] in primary-identifier order, for `fields`),
  sample_identifier (what the sample ARN's identifier is; a Rust test rebuilds it),
  arn_property (the property that holds the ARN, to check a read-back against), list_parent
  (properties ListResources needs), primary (the primary identifier's properties), scope (regional | global), risk, deny,
  regions (the id of a set in `region_sets`: the regions whose registry has the type).
The header also holds `regions` (every region cfn-lint has a registry of), `region_sets` (id ->
{"all_but": [...]} or {"only": [...]}, whichever is shorter) and `handler_permissions` (type ->
list/read/delete -> the IAM actions its schema says the handler needs: Cloud Control acts with the
caller's rights, so a sweep's policy needs them; kirikae-bootstrap builds the sweep job's policy
from them). A type is described by its schema in ap-northeast-1, else in us-east-1, else in the
first region that has it.

`--check` compares instead of writing (exit 1 and the first difference when they differ).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
DATA = TOP / "crates" / "kirikae-cc-types" / "data"
OUT = DATA / "cc_types.json"
OVERRIDES = DATA / "cc_overrides.toml"
REGION = "ap-northeast-1"
# Whose schema a type absent from REGION is described by.
FALLBACK_REGIONS = ["us-east-1"]
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
# The handlers whose IAM actions a sweep needs (Cloud Control acts with the caller's rights).
SWEEP_HANDLERS = ("list", "read", "delete")
FORMAT = "kirikae-sweep-cc-types/2"
STANDARD = {"Partition", "Region", "Account"}
SAMPLE = {"Partition": "aws", "Region": REGION, "Account": "111111111111"}


class Registry:
    """The CloudFormation registry per region, as cfn-lint bundles it: which types each region
    has, and each type's schema (that of REGION where it has the type, else of FALLBACK_REGIONS,
    else of the first region that has it)."""

    def __init__(self, schemas: Path):
        self.schemas = schemas
        self.by_region: dict[str, dict[str, str]] = {}
        for f in sorted((schemas / "providers").glob("*.json")):
            if REGION_NAME.fullmatch(f.stem):  # (not `sam`: the SAM transform's types)
                self.by_region[f.stem] = json.loads(f.read_text())
        self.regions = sorted(self.by_region)

    def regions_of(self, type_name: str) -> list[str]:
        return [r for r in self.regions if type_name in self.by_region[r]]

    def schema(self, type_name: str):
        for r in [REGION, *FALLBACK_REGIONS, *self.regions]:
            key = self.by_region.get(r, {}).get(type_name)
            if key is not None:
                return json.loads((self.schemas / "resources" / f"{key}.json").read_text())
        return None


def load_inputs():
    import arnmatch
    import cfnlint
    from arnmatch.arn_patterns import ARN_PATTERNS

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    registry = Registry(schemas)
    sources = {
        "arnmatch": arnmatch.__version__,
        "cfn-lint": metadata.version("cfn-lint"),
        "schema_date": json.loads((schemas / "version.json").read_text())["schema_date"],
        "schema_region": REGION,
    }
    return ARN_PATTERNS, registry, sources


def groups(regex: str) -> list[tuple[str, str]]:
    """(name, sub-pattern) of each named group, in order."""
    out = []
    for m in re.finditer(r"\(\?P<(\w+)>", regex):
        depth, i = 1, m.end()
        while depth:
            c = regex[i]
            if c == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(c, 0)
            i += 1
        out.append((m.group(1), regex[m.end() : i - 1]))
    return out


def sample_arn(regex: str) -> tuple[str, dict[str, str]] | None:
    """A made-up ARN the regex matches, and its fields; None if the regex is not that simple."""
    values = {}
    text = regex
    for name, sub in groups(regex):
        candidates = [SAMPLE[name]] if name in SAMPLE else []
        candidates += [f"old-{name.lower()}", "old1234", "0123456789abcdef", "1", "a"]
        value = next((c for c in candidates if re.fullmatch(sub, c)), None)
        if value is None:
            return None
        values[name] = value
        text = text.replace(f"(?P<{name}>{sub})", "\0" + name + "\0", 1)
    if not (text.startswith("^") and text.endswith("$")):
        return None
    text = text[1:-1]
    if re.search(r"(?<!\\)[\[\]()*+?|{}]", text.replace("\0", "")):
        return None
    text = re.sub(r"\\(.)", r"\1", text)
    arn = re.sub("\0(\\w+)\0", lambda m: values[m.group(1)], text)
    m = re.match(regex, arn)
    if not m or m.groupdict() != values:
        return None
    return arn, values


def props(path_list) -> list[str]:
    return [p.split("/")[2] for p in path_list or [] if p.count("/") == 2]


def field_for(prop: str, short: str, names: list[str], transforms: dict) -> tuple[str, str] | None:
    """The ARN field that holds a primary-identifier property, and its transform."""
    for g in names:
        t = transforms.get(g)
        if t and t["property"] == prop:
            return g, t["transform"]
    for g in names:
        if g == prop or g == short + prop:
            return g, ""
    if prop in ("Name", "Id") or prop == short + "Name" or prop == short + "Id":
        suffix = "Name" if prop.endswith("Name") else "Id"
        matching = [g for g in names if g.endswith(suffix)]
        if len(matching) == 1 and matching[0] == names[-1]:
            return matching[0], ""
    return None


def apply_transform(value: str, transform: str) -> str:
    if transform == "leading_slash":
        return f"/{value}" if "/" in value else value
    return value


def arn_property(schema: dict, short: str, primary: list[str]) -> str | None:
    all_props = set(schema.get("properties", {}))
    if len(primary) == 1 and primary[0].endswith("Arn"):
        return primary[0]
    for p in ("Arn", short + "Arn"):
        if p in all_props:
            return p
    read_only = [p for p in props(schema.get("readOnlyProperties")) if p.endswith("Arn")]
    return read_only[0] if len(read_only) == 1 else None


def risk_of(type_name: str, ov: dict) -> str:
    risk = ov.get("risk", {})
    service = type_name.split("::")[1]
    if type_name in risk.get("data", []):
        return "data"
    if service in risk.get("identity_services", []):
        return "identity"
    if type_name in risk.get("network_types", []):
        return "network"
    return "config"


def region_sets(rows: list[dict], registry: Registry) -> dict:
    """Gives each mapped row `regions`, the id of the set of regions whose registry has its type,
    and returns the sets: `all`, else the shorter of `only` and `all_but` (ids in order of first
    use)."""
    sets: dict[tuple, str] = {}
    out: dict[str, dict] = {}
    numbered = 0
    for r in rows:
        if not r["type"]:
            continue
        have = registry.regions_of(r["type"])
        key = tuple(have)
        if key not in sets:
            missing = [x for x in registry.regions if x not in have]
            if missing:
                numbered += 1
            sid = f"r{numbered}" if missing else "all"
            sets[key] = sid
            out[sid] = {"all_but": missing} if len(missing) <= len(have) else {"only": have}
        r["regions"] = sets[key]
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "all", len(kv[0]), kv[0])))


def handler_permissions(rows: list[dict], registry: Registry) -> dict:
    """type -> handler -> the IAM actions its schema says the handler needs (list/read/delete)."""
    out = {}
    for t in sorted({r["type"] for r in rows if r["type"]}):
        handlers = registry.schema(t).get("handlers", {})
        out[t] = {h: sorted(set(handlers.get(h, {}).get("permissions", []))) for h in SWEEP_HANDLERS}
    return out


def build(patterns, registry, sources, ov) -> dict:
    schema = registry.schema
    shapes = ov.get("shape", [])
    transforms = ov.get("transform", {})
    rows_by_service = {}
    for service in sorted(patterns):
        rows = []
        for p in patterns[service]:
            regex = p["regex"].pattern
            row = {"service": service, "regex": regex}
            sample = sample_arn(regex)
            if sample is None:
                continue
            row["sample_arn"], values = sample
            first = next(q for q in patterns[service] if q["regex"].match(row["sample_arn"]))
            if first is not p:
                # An earlier, less specific shape claims these ARNs (the read-back catches what
                # it then gets wrong): this row is never reached.
                continue
            type_name = p["cfn"] or p["tag"]
            fixed = next((s for s in shapes if s["service"] == service and s["pattern"] in regex), None)
            if fixed is not None:
                type_name = fixed["type"] or None
            rows.append(describe(row, type_name, values, schema, ov, transforms, fixed))
        last = max((i for i, r in enumerate(rows) if r["type"]), default=-1)
        if last >= 0:
            rows_by_service[service] = rows[: last + 1]
    rows = [r for rs in rows_by_service.values() for r in rs]
    mapped = [r for r in rows if r["type"]]
    sets = region_sets(rows, registry)
    return {
        "regions": registry.regions,
        "region_sets": sets,
        "handler_permissions": handler_permissions(rows, registry),
        "format": FORMAT,
        "generated_by": "scripts/sweep-types",
        "sources": sources,
        "counts": {
            "rows": len(rows),
            "mapped_rows": len(mapped),
            "types": len({r["type"] for r in mapped}),
            "services": len({r["type"].split("::")[1] for r in mapped}),
            "by_identifier": {k: sum(1 for r in mapped if r["identifier"] == k) for k in ("arn", "fields", "lookup")},
        },
        "deny_identifiers": ov.get("deny_identifiers", {}),
        "rows": rows,
    }


def describe(row, type_name, values, schema, ov, transforms, fixed) -> dict:
    def unmapped(why: str) -> dict:
        return {**row, "type": None, "why": why}

    if not type_name:
        return unmapped(fixed["why"] if fixed else "the ARN formats name no CloudFormation type for this shape")
    s = schema(type_name)
    if s is None:
        return unmapped(f"{type_name} is not in the CloudFormation registry of any region")
    handlers = s.get("handlers", {})
    missing = [h for h in ("read", "delete", "list") if h not in handlers]
    if missing:
        return unmapped(f"{type_name} has no Cloud Control {'/'.join(missing)} handler")
    short = type_name.split("::")[2]
    primary = props(s.get("primaryIdentifier"))
    names = [g for g in values if g not in STANDARD]
    arn_prop = ov.get("arn_property", {}).get(type_name, arn_property(s, short, primary)) or None
    parent = list(handlers["list"].get("handlerSchema", {}).get("required", []))
    kind = ov.get("identifier", {}).get(type_name)
    fields = []
    if kind is None:
        if len(primary) == 1 and primary[0].endswith("Arn"):
            kind = "arn"
        else:
            for prop in primary:
                found = field_for(prop, short, names, transforms)
                if found is None:
                    break
                fields.append([prop, found[0], found[1]])
            if len(fields) == len(primary):
                kind = "fields"
            elif arn_prop and not parent:
                kind, fields = "lookup", []
            else:
                return unmapped(
                    f"the identifier of {type_name} ({', '.join(primary)}) cannot be built from this ARN"
                    + (" and ListResources needs a parent" if parent else " and it has no ARN property to look it up by")
                )
    if kind == "arn":
        sample_id = row["sample_arn"]
    elif kind == "fields":
        sample_id = "|".join(apply_transform(values[g], t) for _, g, t in fields)
    else:
        sample_id = None
    deny = ov.get("deny", {}).get(type_name)
    out = {
        **row,
        "type": type_name,
        "identifier": kind,
        "fields": fields,
        "primary": primary,
        "sample_identifier": sample_id,
        "arn_property": arn_prop,
        "list_parent": parent,
        "scope": "regional" if "Region" in values or row["service"] == "s3" else "global",
        "risk": risk_of(type_name, ov),
    }
    if deny:
        out["deny"] = deny
    return out


def render(table: dict) -> str:
    """The header indented, then one line per region set, type and row (a diff shows what changed)."""
    long = ("rows", "handler_permissions", "region_sets", "regions")
    head = {k: v for k, v in table.items() if k not in long}
    lines = json.dumps(head, indent=1, sort_keys=True)[:-2]

    def block(name: str, items, opening: str = "{", closing: str = "}") -> str:
        body = ",\n".join("  " + i for i in items)
        return f' "{name}": {opening}\n{body}\n {closing}'

    return (
        ",\n".join(
            [
                lines,
                f' "regions": {json.dumps(table["regions"])}',
                block("region_sets", (f"{json.dumps(k)}: {json.dumps(v)}" for k, v in table["region_sets"].items())),
                block("handler_permissions", (f"{json.dumps(t)}: {json.dumps(p, sort_keys=True)}" for t, p in table["handler_permissions"].items())),
                block("rows", (json.dumps(r, sort_keys=True) for r in table["rows"]), "[", "]"),
            ]
        )
        + "\n}\n"
    )


def main(argv: list[str]) -> int:
    check = "--check" in argv
    try:
        patterns, registry, sources = load_inputs()
    except ImportError as exc:
        print(
            f"sweep-types: {exc}: install the pinned inputs first: .venv/bin/pip install -r scripts/lib/sweep-types-requirements.txt (scripts/setup does)",
            file=sys.stderr,
        )
        return 2
    ov = tomllib.loads(OVERRIDES.read_text())
    text = render(build(patterns, registry, sources, ov))
    if check:
        have = OUT.read_text() if OUT.exists() else ""
        if have != text:
            for n, (a, b) in enumerate(zip(have.splitlines(), text.splitlines()), 1):
                if a != b:
                    print(f"{OUT} line {n} differs:\n  committed: {a[:200]}\n  generated: {b[:200]}", file=sys.stderr)
                    break
            else:
                print(f"{OUT}: line counts differ", file=sys.stderr)
            print("run scripts/sweep-types and commit the table", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    counts = json.loads(text)["counts"]
    print(f"wrote {OUT.relative_to(TOP)}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

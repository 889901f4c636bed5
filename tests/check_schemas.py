#!/usr/bin/python3
"""Checks the examples against the JSON schemas that document their formats.

Usage: check_schemas.py REPO

- every examples/*.toml must validate against schemas/topology.schema.json;
- the topology schema must reject a few known-bad variants of the first example, so a schema that
  accepts everything cannot pass;
- if schemas/plan.schema.json exists, every examples/*.plan.json must validate against it;
- every examples/*.status.json must validate against schemas/status.schema.json, which must reject
  a few known-bad variants of the first.

Prints one line per file checked; exits 1 on any failure.
"""
import copy
import json
import pathlib
import sys
import tomllib

import jsonschema


def load_schema(path):
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def describe(error):
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message}"


def check(validator, document, label):
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        for error in errors:
            print(f"FAIL {label}: {describe(error)}")
        return False
    print(f"ok   {label}")
    return True


def bad_variants(example):
    """(label, document) pairs the schema must reject, built from a valid example."""
    variants = []

    def variant(label, mutate):
        doc = copy.deepcopy(example)
        mutate(doc)
        variants.append((label, doc))

    variant("literal replication password", lambda d: d["replication"].__setitem__("password", "x"))
    variant("secret with env and file",
            lambda d: d["replication"].__setitem__("password", {"env": "A", "file": "/a"}))
    variant("unknown key in [cluster]", lambda d: d["cluster"].__setitem__("flavour", "mariadb"))
    variant("unknown top-level table", lambda d: d.__setitem__("servers", []))
    variant("server_id 0", lambda d: d["server"][0].__setitem__("server_id", 0))
    variant("server_id as string", lambda d: d["server"][0].__setitem__("server_id", "1"))
    variant("server without log_bin", lambda d: d["server"][0].pop("log_bin"))
    variant("log_bin naming a directory", lambda d: d["server"][0].__setitem__("log_bin", "binlog/"))
    variant("bad IPv4 address", lambda d: d["server"][0].__setitem__("address", "192.168.178.666"))
    variant("ssh port 0", lambda d: d["server"][0].__setitem__("ssh", {"port": 0}))
    variant("unknown flavor", lambda d: d["cluster"].__setitem__("flavor", "postgres"))
    variant("unknown binlog_format", lambda d: d["replication"].__setitem__("binlog_format", "rows"))
    variant("no servers", lambda d: d.__setitem__("server", []))
    variant("grant without ON", lambda d: d["user"][0].__setitem__("grants", ["ALL PRIVILEGES db.*"]))
    return variants


def main(argv):
    if len(argv) != 2:
        print("usage: check_schemas.py REPO", file=sys.stderr)
        return 2
    repo = pathlib.Path(argv[1])
    ok = True

    topology = load_schema(repo / "schemas/topology.schema.json")
    examples = sorted((repo / "examples").glob("*.toml"))
    if not examples:
        print("FAIL no examples/*.toml to check")
        return 1
    parsed = {}
    for path in examples:
        label = str(path.relative_to(repo))
        try:
            with path.open("rb") as f:
                parsed[path.name] = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            print(f"FAIL {label}: not TOML: {e}")
            ok = False
            continue
        ok = check(topology, parsed[path.name], f"{label} against schemas/topology.schema.json") and ok

    seed = parsed.get("secondhand.toml")
    if seed is None:
        print("FAIL examples/secondhand.toml is missing: the seed scenario must validate")
        ok = False
    else:
        for label, document in bad_variants(seed):
            if topology.is_valid(document):
                print(f"FAIL topology schema accepts a bad file: {label}")
                ok = False
            else:
                print(f"ok   topology schema rejects: {label}")

    plan_schema_path = repo / "schemas/plan.schema.json"
    plans = sorted((repo / "examples").glob("*.plan.json"))
    if plan_schema_path.exists() and plans:
        plan = load_schema(plan_schema_path)
        for path in plans:
            label = str(path.relative_to(repo))
            try:
                document = json.loads(path.read_text())
            except json.JSONDecodeError as e:
                print(f"FAIL {label}: not JSON: {e}")
                ok = False
                continue
            ok = check(plan, document, f"{label} against schemas/plan.schema.json") and ok
    else:
        print("skip plan examples: need schemas/plan.schema.json and examples/*.plan.json "
              f"(have schema: {plan_schema_path.exists()}, plans: {len(plans)})")

    status_schema = load_schema(repo / "schemas/status.schema.json")
    statuses = sorted((repo / "examples").glob("*.status.json"))
    if not statuses:
        print("FAIL no examples/*.status.json to check")
        ok = False
    for path in statuses:
        label = str(path.relative_to(repo))
        document = json.loads(path.read_text())
        ok = check(status_schema, document, f"{label} against schemas/status.schema.json") and ok
    if statuses:
        example = json.loads(statuses[0].read_text())
        for label, mutate in [
            ("unknown health", lambda d: d.__setitem__("health", "ok")),
            ("condition status not a severity", lambda d: d["conditions"][0].__setitem__("status", "True")),
            ("condition without evidence", lambda d: d["conditions"][0].pop("evidence")),
            ("app with neither points_at nor error", lambda d: d["apps"][0].pop("points_at")),
        ]:
            doc = copy.deepcopy(example)
            mutate(doc)
            if status_schema.is_valid(doc):
                print(f"FAIL status schema accepts a bad report: {label}")
                ok = False
            else:
                print(f"ok   status schema rejects: {label}")

    print("all schema checks passed" if ok else "schema checks FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Checks server.json (the MCP registry's description of gumloop-mcp) against the registry's
published schema, pinned in clients/schemas/server.schema.json (no network in tests).

usage: check_server_json.py --manifest MANIFEST [--server-json FILE] [--bundle MCPB]

Checks, each problem named:
  - the schema (JSON Schema draft-07, the pinned 2025-12-11 version), and that `$schema` names it;
  - the version, top-level and on each mcpb package, is the workspace's (cargo metadata),
    and each mcpb download URL is the release asset of that version;
  - repository and websiteUrl are the workspace's, and the name is io.github.<owner>/<repo>;
  - each mcpb package's environment variables are the bundle manifest's (MANIFEST, an
    unpacked manifest.json from `cargo xtask mcpb`): same names, required and secret alike;
  - every {variable} in a remote URL is declared, and every declared one is used;
  - with --bundle (a server.json from `cargo xtask mcpb --server-json`): an mcpb package
    carries that bundle's SHA-256.
Exits 1 listing every problem.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = os.path.join(ROOT, "clients", "schemas", "server.schema.json")


def workspace_package():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return next(p for p in json.loads(out)["packages"] if p["name"] == "gumloop-mcp")


def schema_problems(server, schema):
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    problems = []
    for e in sorted(validator.iter_errors(server), key=lambda e: list(e.absolute_path)):
        where = "/" + "/".join(str(p) for p in e.absolute_path)
        # anyOf/oneOf failures say little on their own: name the branch errors too.
        detail = "; ".join(sorted({c.message for c in e.context}))[:400] if e.context else ""
        problems.append(f"schema: {where}: {e.message[:300]}" + (f" ({detail})" if detail else ""))
    if server.get("$schema") != schema["$id"]:
        problems.append(f"$schema is {server.get('$schema')!r}, the pinned schema is {schema['$id']!r}")
    return problems


def metadata_problems(server, pkg):
    problems = []
    version, repo = pkg["version"], (pkg.get("repository") or "").rstrip("/")
    if server.get("version") != version:
        problems.append(f"version is {server.get('version')!r}, the workspace's is {version!r}")
    if (server.get("repository") or {}).get("url") != repo:
        problems.append(f"repository.url is {(server.get('repository') or {}).get('url')!r}, the workspace's repository is {repo!r}")
    if server.get("websiteUrl") != pkg.get("homepage"):
        problems.append(f"websiteUrl is {server.get('websiteUrl')!r}, the workspace's homepage is {pkg.get('homepage')!r}")
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", repo)
    if m and server.get("name") != f"io.github.{m[1]}/{m[2]}":
        problems.append(f"name is {server.get('name')!r}; the registry expects io.github.{m[1]}/{m[2]} for {repo}")
    mcpbs = [p for p in server.get("packages", []) if p.get("registryType") == "mcpb"]
    if not mcpbs:
        problems.append("no mcpb package: the stdio bundle is not described")
    for i, p in enumerate(mcpbs):
        if p.get("version") != version:
            problems.append(f"mcpb package {i}: version {p.get('version')!r}, the workspace's is {version!r}")
        prefix = f"{repo}/releases/download/v{version}/gumloop-mcp-{version}-"
        ident = p.get("identifier", "")
        if not (ident.startswith(prefix) and ident.endswith(".mcpb")):
            problems.append(f"mcpb package {i}: identifier {ident!r} is not a release asset {prefix}<platform>-<cpu>.mcpb")
    return problems, mcpbs


def env_problems(mcpbs, manifest):
    """The package's environment variables against the manifest's mcp_config.env and user_config."""
    problems = []
    config = manifest.get("user_config", {})
    want = {}
    for var, value in manifest["server"]["mcp_config"].get("env", {}).items():
        m = re.fullmatch(r"\$\{user_config\.([^}]+)\}", value)
        field = config.get(m[1]) if m else None
        if field is None:
            problems.append(f"manifest: env {var} = {value!r} names no user_config field")
            continue
        want[var] = (bool(field.get("required")), bool(field.get("sensitive")))
    for i, p in enumerate(mcpbs):
        have = {e["name"]: (bool(e.get("isRequired")), bool(e.get("isSecret"))) for e in p.get("environmentVariables", [])}
        for var in sorted(set(want) - set(have)):
            problems.append(f"mcpb package {i}: the manifest sets {var}, server.json does not list it")
        for var in sorted(set(have) - set(want)):
            problems.append(f"mcpb package {i}: server.json lists {var}, the manifest does not set it")
        for var in sorted(set(want) & set(have)):
            if want[var] != have[var]:
                problems.append(
                    f"mcpb package {i}: {var}: (isRequired, isSecret) is {have[var]} in server.json, "
                    f"(required, sensitive) is {want[var]} in the manifest"
                )
    return problems


def remote_problems(server):
    problems = []
    for i, r in enumerate(server.get("remotes", [])):
        used = set(re.findall(r"\{([^}]+)\}", r.get("url", "")))
        declared = set(r.get("variables", {}))
        for v in sorted(used - declared):
            problems.append(f"remote {i}: the URL uses {{{v}}}, which variables does not declare")
        for v in sorted(declared - used):
            problems.append(f"remote {i}: variables declares {v}, which the URL does not use")
    return problems


def bundle_problems(mcpbs, bundle):
    with open(bundle, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    name = os.path.basename(bundle)
    matching = [p for p in mcpbs if p.get("fileSha256") == sha]
    if not matching:
        return [f"no mcpb package carries {name}'s SHA-256 {sha} (fileSha256 values: {[p.get('fileSha256') for p in mcpbs]})"]
    return []


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-json", default=os.path.join(ROOT, "server.json"))
    p.add_argument("--manifest", required=True, help="manifest.json of a bundle cargo xtask mcpb built")
    p.add_argument("--bundle", help="the .mcpb whose SHA-256 the server.json must carry")
    a = p.parse_args()

    with open(a.server_json) as f:
        server = json.load(f)
    with open(SCHEMA) as f:
        schema = json.load(f)
    with open(a.manifest) as f:
        manifest = json.load(f)
    problems = schema_problems(server, schema)
    meta, mcpbs = metadata_problems(server, workspace_package())
    problems += meta + env_problems(mcpbs, manifest) + remote_problems(server)
    if a.bundle:
        problems += bundle_problems(mcpbs, a.bundle)
    if problems:
        sys.exit(f"FAILED: {a.server_json}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    stamped = " with the bundle's SHA-256" if a.bundle else ""
    print(f"ok: {os.path.relpath(a.server_json, ROOT) if a.server_json.startswith(ROOT) else a.server_json}{stamped} matches "
          f"{schema['$id'].rsplit('/', 2)[-2]} server.schema.json, the workspace version {server['version']} and the bundle's "
          f"{sum(len(p.get('environmentVariables', [])) for p in mcpbs)} environment variables")


if __name__ == "__main__":
    main()

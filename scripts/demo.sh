#!/usr/bin/env bash
# The demo: installs what is needed, builds, starts a local lab of real MariaDB + OpenSSH hosts on
# 127.0.0.61 and 127.0.0.66, writes the lab topology, runs `validate`, `plan` and `apply` against it,
# then writes a row on the primary and reads it back from the replica.
# Everything talks to loopback only. The lab is torn down at the end unless KEEP_LAB=1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null

export REPLPLAN_LAB_DIR=${REPLPLAN_LAB_DIR:-$repo/.lab}
lab() { bash tests/lab/lab.sh "$@"; }
if [[ "${KEEP_LAB:-0}" != 1 ]]; then trap 'lab down >/dev/null 2>&1 || true' EXIT; fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "bash tests/lab/lab.sh up 2"
lab up 2
topology=$REPLPLAN_LAB_DIR/lab.toml

step "replplan validate examples/secondhand.toml   # the production file: validated, never contacted"
build/replplan validate examples/secondhand.toml

step "replplan validate $topology"
build/replplan validate "$topology"

step "replplan plan $topology --detailed-exitcode"
set +e
build/replplan plan "$topology" --detailed-exitcode
code=$?
set -e
echo "(exit code $code: 0 no changes, 2 changes, 1 error)"

step "replplan plan $topology --json | head -20"
build/replplan plan "$topology" --json | head -20 || true

step "replplan apply $topology --yes"
build/replplan apply "$topology" --yes

step "replplan plan $topology --detailed-exitcode   # after apply: nothing left to do"
build/replplan plan "$topology" --detailed-exitcode
echo "(exit code $?)"

sql() { mariadb --socket="$REPLPLAN_LAB_DIR/hosts/$1/mysqld.sock" -N -B -e "$2"; }
step "a row written on the primary (mercury) ..."
sql mercury "CREATE TABLE IF NOT EXISTS secondhand_production.items (id INT PRIMARY KEY, name VARCHAR(40));
             REPLACE INTO secondhand_production.items VALUES (1, 'bicycle, barely used');"
sql mercury "SELECT * FROM secondhand_production.items"
step "... read back from the replica (uranus)"
for _ in $(seq 50); do
  row=$(sql uranus "SELECT name FROM secondhand_production.items WHERE id = 1" 2>/dev/null || true)
  [[ -n $row ]] && break
  sleep 0.1
done
echo "uranus: ${row:-(not replicated!)}"
[[ -n $row ]]

step "replplan switchover $topology --to uranus --yes   # planned: fence, catch up, promote, repoint"
build/replplan switchover "$topology" --to uranus --yes
grep -n '^primary' "$topology"

step "kill -9 of the primary (uranus), then: replplan failover $topology --yes"
bash tests/lab/lab.sh kill uranus
build/replplan failover "$topology" --yes
grep -n '^primary' "$topology"
sql mercury "SELECT name FROM secondhand_production.items WHERE id = 1"

step "uranus restarts read-only; replplan apply rejoins it as a replica"
bash tests/lab/lab.sh start uranus >/dev/null
echo "uranus read_only: $(sql uranus 'SELECT @@global.read_only')"
build/replplan apply "$topology" --yes | tail -n 3

if [[ "${KEEP_LAB:-0}" == 1 ]]; then
  echo; echo "The lab keeps running (REPLPLAN_LAB_DIR=$REPLPLAN_LAB_DIR); stop it with: bash tests/lab/lab.sh down"
fi

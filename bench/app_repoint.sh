#!/usr/bin/env bash
# Benchmark: how fast the Rails app (examples/secondhand, puma on mercury) follows a rewritten
# config/database.yml, by reload (touch tmp/restart.txt: the app reconnects in process) and by
# puma's hot restart (SIGUSR2: Rails boots again). Measured from the trigger to the first POST
# /items acknowledged AND found on the server database.yml now names. No failover here: mercury and
# uranus are two writable servers (uranus's replication stopped), so each row shows where it went,
# and the app is moved back and forth between them. RUNS (default 5) moves per method; medians.
# Loopback only: the lab's hosts (REPLPLAN_LAB_NET, default 127.0.35 so it can run beside tests).
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-5}
bench_lab 127.0.35 .lab-bench-app
bench_bin
cleanup() {
  app stop mercury >/dev/null 2>&1 || true
  lab down >/dev/null 2>&1 || true
}
trap cleanup EXIT

lab up 2 >/dev/null 2>&1 || true
lab reset 2 >/dev/null
"$bin" apply "$REPLPLAN_LAB_DIR/lab.toml" --yes >/dev/null
app deploy mercury mercury && app setup mercury && app start mercury

# The client and the clock, in one process (no curl per request: its start-up would blur the
# figure). The triggers are what the topology's restart commands come down to: `touch` of
# tmp/restart.txt, and the SIGUSR2 that `app.sh restart` sends. Posting starts once the trigger
# returned; a write counts when it is on the server database.yml names (during a hot restart the
# old process may still answer one or two, from the old configuration).
python3 - "$REPLPLAN_LAB_DIR" "$REPLPLAN_LAB_NET" "$runs" <<'PY'
import http.client, statistics, subprocess, sys, time

lab, net, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
addr = {"mercury": f"{net}.61", "uranus": f"{net}.66"}
root = f"{lab}/hosts/mercury/app"
yml = f"{root}/config/database.yml"

def sql(host, query):
    return subprocess.run(["mariadb", "-N", "-B", "-S", f"{lab}/hosts/{host}/mysqld.sock", "-e", query],
                          check=True, capture_output=True, text=True).stdout.strip()

def post(seq):
    try:
        c = http.client.HTTPConnection(addr["mercury"], 3000, timeout=5)
        c.request("POST", f"/items?seq={seq}")
        status = c.getresponse().status
        c.close()
        return status
    except OSError:
        return 0

def point_at(host):
    # The same minimal edit tests/lab/app.sh makes: the host value of the production section only.
    lines, section = [], None
    for line in open(yml):
        if line[:1] not in (" ", "\t", "#", "\n") and ":" in line:
            section = line.split(":")[0]
        if section == "production" and line.lstrip().startswith("host:"):
            value = line.split("host:", 1)[1].split()[0]
            line = line.replace(value, addr[host], 1)
        lines.append(line)
    open(yml + ".tmp", "w").writelines(lines)
    subprocess.run(["mv", yml + ".tmp", yml], check=True)

# Two writable servers: uranus has mercury's table, then stops replicating and takes writes.
deadline = time.time() + 30
while sql("uranus", "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'items'") != "1":
    if time.time() > deadline:
        sys.exit("uranus never got the app's table")
    time.sleep(0.1)
sql("uranus", "STOP SLAVE; SET GLOBAL read_only = 0")

seq = 0
results = {"reload": [], "hot": []}
target = "mercury"
for run in range(runs):
    for method in ("reload", "hot"):
        target = "uranus" if target == "mercury" else "mercury"
        point_at(target)
        for _ in range(5):  # a warm app, as in production
            seq += 1
            post(seq)
        pid = open(f"{root}/tmp/puma.pid").read().strip()
        trigger = ["touch", f"{root}/tmp/restart.txt"] if method == "reload" else ["kill", "-USR2", pid]
        started = time.monotonic()
        subprocess.run(trigger, check=True)
        first = None
        while first is None and time.monotonic() - started < 60:
            seq += 1
            if post(seq) == 201:
                answered = time.monotonic()
                if sql(target, f"SELECT COUNT(*) FROM secondhand_production.items WHERE seq = {seq}") == "1":
                    first = answered
        if first is None:
            sys.exit(f"run {run + 1} {method}: no write reached {target} within 60 s")
        ms = (first - started) * 1000
        results[method].append(ms)
        print(f"run {run + 1} {method:6}: first write on {target} {ms:7.1f} ms after the trigger")
        time.sleep(0.5)
for method, values in results.items():
    print(f"{method:6}: median {statistics.median(values):7.1f} ms (min {min(values):.1f}, max {max(values):.1f})"
          f" over {len(values)} moves")
print(f"ratio hot restart / reload: {statistics.median(results['hot']) / statistics.median(results['reload']):.0f}")
PY

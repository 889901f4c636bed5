#!/usr/bin/env python3
"""The failover benchmarks' client: POST /items?seq=N to the Secondhand app, one after another.

Prints one line per request, "<sent ms> <answered ms> <http status>" (wall clock, status 0 when
no HTTP answer came), flushed at once so the benchmark can read it while this runs. One process
and a fresh TCP connection per request: a request costs well under a millisecond of client time,
so the first write that succeeds after a failover is seen within about a millisecond of when the
app could take it (a shell loop forking curl and date per request blurs that by ~10 ms).

Loopback only: refuses any address outside 127.0.0.0/8. Stops after --seconds (default 600).
"""
import argparse
import http.client
import ipaddress
import sys
import time


def now_ms():
    return time.time_ns() // 1_000_000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("address", help="the app's address (127.x.y.z)")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--timeout", type=float, default=5)
    args = parser.parse_args()
    if not ipaddress.ip_address(args.address) in ipaddress.ip_network("127.0.0.0/8"):
        sys.exit("http_writer: %s is not a loopback address" % args.address)
    end = time.monotonic() + args.seconds
    seq = 0
    while time.monotonic() < end:
        seq += 1
        sent = now_ms()
        status = 0
        try:
            conn = http.client.HTTPConnection(args.address, args.port, timeout=args.timeout)
            conn.request("POST", "/items?seq=%d" % seq, headers={"Content-Length": "0"})
            status = conn.getresponse().status
            conn.close()
        except (OSError, http.client.HTTPException):
            # Refused while the app restarts, or reset: the next request tries again at once.
            time.sleep(0.001)
        print("%d %d %d" % (sent, now_ms(), status), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Side-by-side benchmark: proctrack against process-exporter (Debian package) on the same idle
processes and the same config, plus the floor (list /proc, read stat, status and io of every
process). Standard library only.

    python3 bench/bench.py --procs 5000 [--threads 1] [--groups 10] [--scrapes 10] [--rounds 5]
                           [--pe-defaults]

Reports per exporter: CPU seconds per scrape (from /proc/PID/stat of the exporter, median over
rounds of K scrapes each), median and p99 scrape latency, peak RSS, series count; and the ratios.
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build"))
CONFIG = "process_names:\n  - name: '{{.Comm}}'\n    cmdline: ['.+']\n"
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # (14) utime + (15) stime


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def scrape(port):
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/metrics", headers={"Accept-Encoding": "identity"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError("scrape answered %d" % resp.status)
    return time.monotonic() - start, body


def start(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError("%s exited: %d" % (argv[0], p.returncode))
        try:
            scrape(port)
            return p
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not start" % argv[0])


def measure(name, proc, port, scrapes, rounds):
    per_scrape_cpu = []
    latencies = []
    body = b""
    for _ in range(rounds):
        before = cpu_ticks(proc.pid)
        for _ in range(scrapes):
            lat, body = scrape(port)
            latencies.append(lat)
        per_scrape_cpu.append((cpu_ticks(proc.pid) - before) / HZ / scrapes)
    series = sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))
    latencies.sort()
    return {
        "name": name,
        "cpu": statistics.median(per_scrape_cpu),
        "lat_p50": statistics.median(latencies),
        "lat_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rss_mib": peak_rss_kib(proc.pid) / 1024,
        "series": series,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--scrapes", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pe-defaults", action="store_true",
                    help="run both exporters with process-exporter's defaults (threads, smaps on) "
                         "instead of -threads=false -gather-smaps=false")
    ap.add_argument("--process-exporter", default=shutil.which("prometheus-process-exporter"))
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="pt-bench-")
    config = os.path.join(tmp, "config.yml")
    with open(config, "w") as f:
        f.write(CONFIG)

    spawner = subprocess.Popen([os.path.join(BUILD, "bench", "spawn_idle"), str(args.procs),
                                str(args.threads), str(args.groups)], stdout=subprocess.PIPE)
    procs = []
    try:
        assert spawner.stdout.readline().strip() == b"ready"
        nproc = sum(1 for d in os.listdir("/proc") if d.isdigit())
        print("processes on the machine: %d (%d spawned, %d threads each, %d comm names); flags: %s"
              % (nproc, args.procs, args.threads, args.groups,
                 "defaults (threads, smaps on)" if args.pe_defaults else "-threads=false -gather-smaps=false"))

        results = []
        # The same flags for both: process-exporter's defaults, or its cheapest setting.
        flags = [] if args.pe_defaults else ["-threads=false", "-gather-smaps=false"]
        pt_port = free_port()
        pt = start([os.path.join(BUILD, "proctrack"), "-web.listen-address", "127.0.0.1:%d" % pt_port,
                    "-config.path", config] + flags, pt_port)
        procs.append(pt)
        results.append(measure("proctrack", pt, pt_port, args.scrapes, args.rounds))
        pt.send_signal(signal.SIGTERM)
        pt.wait()

        if args.process_exporter:
            pe_port = free_port()
            pe = start([args.process_exporter, "-web.listen-address", "127.0.0.1:%d" % pe_port,
                        "-config.path", config] + flags, pe_port)
            procs.append(pe)
            results.append(measure("process-exporter",
                                   pe, pe_port, args.scrapes, args.rounds))
            pe.send_signal(signal.SIGTERM)
            pe.wait()

        floor = subprocess.run([os.path.join(BUILD, "bench", "floor"), str(args.rounds * 3)],
                               capture_output=True, text=True, check=True)
        floor_cpu = statistics.median(float(x) for x in floor.stdout.split())

        print("%-28s %14s %12s %12s %10s %8s" % ("exporter", "CPU/scrape s", "p50 lat s", "p99 lat s",
                                                 "peak RSS", "series"))
        for r in results:
            print("%-28s %14.4f %12.4f %12.4f %7.1f MiB %8d" % (r["name"], r["cpu"], r["lat_p50"],
                                                              r["lat_p99"], r["rss_mib"], r["series"]))
        print("%-28s %14.4f" % ("floor (stat+status+io)", floor_cpu))
        pt_cpu = results[0]["cpu"]
        if len(results) > 1 and pt_cpu > 0:
            print("process-exporter / proctrack CPU per scrape: %.1fx" % (results[1]["cpu"] / pt_cpu))
            print("process-exporter / proctrack peak RSS: %.1fx" % (results[1]["rss_mib"] / results[0]["rss_mib"]))
        if floor_cpu > 0:
            print("proctrack / floor CPU per scrape: %.2fx" % (pt_cpu / floor_cpu))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        spawner.send_signal(signal.SIGTERM)
        spawner.wait(timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

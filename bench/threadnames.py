"""Thread-name churn against proctrack, minute by minute: a process (run as nobody) whose THREADS
threads each take a name never used before every PERIOD milliseconds (tests/tools/threadnames),
and proctrack scraped every INTERVAL seconds for MINUTES: with a config that tracks that process
alone, or with --all, with the embedded default (every process of the host, by comm; on a shared
host the groups of other processes then weigh in the figures). For each
minute: RSS at its end, CPU seconds proctrack used in it (utime+stime, all threads), mean and
largest scrape wall time, and the thread_count series of the churning group at its end.

    python3 bench/threadnames.py [--proctrack build/proctrack] [--minutes 10] [--all]
        [--threads 1000] [--period-ms 50] [--interval 1]
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # (14) utime, (15) stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proctrack", default=os.path.join(HERE, "..", "build", "proctrack"))
    ap.add_argument("--tool", default=os.path.join(HERE, "..", "build", "tests", "threadnames"))
    ap.add_argument("--minutes", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1000)
    ap.add_argument("--period-ms", type=int, default=50)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--all", action="store_true", help="the embedded default config")
    a = ap.parse_args()
    config = []
    if not a.all:
        cfg = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
        cfg.write("process_names:\n  - comm: [pt-tnames]\n    name: pt-tnames\n")
        cfg.close()
        config = ["-config.path", cfg.name]

    user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    tool = subprocess.Popen(user + [a.tool, "pt-tnames", str(a.threads), str(a.period_ms),
                                    str(a.minutes * 60 + 120)], stdout=subprocess.PIPE)
    assert tool.stdout.readline().strip() == b"ready"
    port = free_port()
    pt = subprocess.Popen([a.proctrack, "-web.listen-address", "127.0.0.1:%d" % port] + config,
                          stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d/metrics" % port
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=30).read()
                break
            except OSError:
                time.sleep(0.1)
        print("| minute | RSS MiB | CPU s in the minute | scrape ms mean | scrape ms max | thread series | scrapes |")
        print("|---:|---:|---:|---:|---:|---:|---:|", flush=True)
        series_re = re.compile(r'^namedprocess_namegroup_thread_count\{groupname="pt-tnames"', re.M)
        start = time.monotonic()
        cpu0 = cpu_seconds(pt.pid)
        minute, walls, series = 1, [], 0
        while minute <= a.minutes:
            began = time.monotonic()
            body = urllib.request.urlopen(url, timeout=60).read().decode()
            walls.append(time.monotonic() - began)
            series = len(series_re.findall(body))
            if time.monotonic() - start >= minute * 60:
                cpu1 = cpu_seconds(pt.pid)
                print("| %d | %.1f | %.2f | %.0f | %.0f | %d | %d |" % (
                    minute, rss_mib(pt.pid), cpu1 - cpu0, statistics.mean(walls) * 1000,
                    max(walls) * 1000, series, len(walls)), flush=True)
                cpu0, walls, minute = cpu1, [], minute + 1
            time.sleep(max(0.0, a.interval - (time.monotonic() - began)))
    finally:
        pt.terminate()
        pt.wait()
        tool.terminate()
        tool.wait()
        if config:
            os.unlink(config[1])


if __name__ == "__main__":
    main()

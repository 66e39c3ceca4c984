#!/usr/bin/env python3
"""Side-by-side benchmark: proctrack against process-exporter (Debian package) on the same idle
processes and the same config, plus the floor (list /proc, read stat, status and io of every
process). Standard library only.

    python3 bench/bench.py --procs 5000 [--threads 1] [--groups 10] [--scrapes 10] [--rounds 5]
                           [--churn RATE] [--sweep 1000,5000,10000,20000] [--markdown]
                           [--exporters proctrack,process-exporter] [--pe-defaults]

For every process count N (one, or each of --sweep, with a fresh spawner each): start N idle
processes, then each exporter in turn on a loopback port (one warm-up scrape, then --rounds
rounds of --scrapes scrapes), then the floor on the same processes. Reports per exporter: CPU
seconds per scrape (delta of utime+stime in /proc/PID/stat of the exporter over a round, divided
by the scrapes, median over rounds), median and p99 scrape latency, peak RSS (VmHWM), series and
group count; the floor's CPU per pass; and the ratios. Progress goes to stderr, results to stdout.
"""

import argparse
import ctypes
import http.client
import json
import os
import platform
import resource
import select
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
GROUP_METRIC = b"namedprocess_namegroup_num_procs{"
BENCH_GROUP = b'groupname="bench-'
EXPORTERS = ("proctrack", "process-exporter")


class BenchError(Exception):
    pass


class Stopped(BaseException):
    """SIGTERM/SIGHUP: unwind like Ctrl-C so every finally block runs."""


def on_signal(signum, frame):
    raise Stopped("signal %d" % signum)


def progress(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


try:
    LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    LIBC = None


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if bench.py dies without cleaning up (kill -9)."""
    if LIBC is not None:
        LIBC.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # (14) utime + (15) stime, all threads


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def count_tasks():
    """Processes and threads on the machine now."""
    procs = threads = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            procs += 1
            try:
                with open("/proc/%s/stat" % d) as f:
                    threads += int(f.read().rsplit(")", 1)[1].split()[17])  # (20) num_threads
            except (OSError, IndexError, ValueError):
                pass
    return procs, threads


def scrape(port, timeout):
    """One GET /metrics; the whole request must finish within timeout seconds."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "identity"})
        resp = conn.getresponse()
        chunks = []
        while True:
            chunk = resp.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            if time.monotonic() - start > timeout:
                raise socket.timeout("scrape took longer than %gs" % timeout)
        if resp.status != 200:
            raise BenchError("scrape answered %d" % resp.status)
    finally:
        conn.close()
    return time.monotonic() - start, b"".join(chunks)


def stop_process(p, grace=10):
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------------------------------------
# Limits

def cgroup_pids_max():
    """The smallest pids.max on the path of our cgroup (v2 or the v1 pids controller)."""
    best = None
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            base = "/sys/fs/cgroup"
        elif "pids" in parts[1].split(","):
            base = "/sys/fs/cgroup/pids"
        else:
            continue
        path = parts[2]
        while True:
            try:
                with open(os.path.join(base + path, "pids.max")) as f:
                    v = f.read().strip()
                if v != "max":
                    best = int(v) if best is None else min(best, int(v))
            except (OSError, ValueError):
                pass
            if path in ("/", ""):
                break
            path = os.path.dirname(path)
    return best


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def check_limits(n, threads):
    """Every process and thread takes a pid: check there are enough before spawning.
    Nothing is changed on the system; the spawner raises its own soft RLIMIT_NPROC to the hard one."""
    _, existing = count_tasks()
    # The spawned tasks, what is running now, and room for the exporters' threads and churn.
    need = n * threads + existing + 500
    problems = []
    pid_max = read_int("/proc/sys/kernel/pid_max")
    if pid_max is not None and need > pid_max * 0.9:
        problems.append("kernel.pid_max is %d, this run needs about %d pids (%d processes x %d threads "
                        "+ %d tasks running now + headroom), more than 90%% of it; raise it, e.g. "
                        "`sysctl -w kernel.pid_max=4194304`" % (pid_max, need, n, threads, existing))
    threads_max = read_int("/proc/sys/kernel/threads-max")
    if threads_max is not None and need > threads_max:
        problems.append("kernel.threads-max is %d, this run needs about %d tasks; raise it with "
                        "`sysctl -w kernel.threads-max=...`" % (threads_max, need))
    if os.geteuid() != 0:
        soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        if hard != resource.RLIM_INFINITY and need > hard:
            problems.append("`ulimit -u` (RLIMIT_NPROC, counts threads of your user) is %d soft / %d "
                            "hard, this run needs about %d; raise the hard limit "
                            "(/etc/security/limits.conf, or run as root)" % (soft, hard, need))
    pids_max = cgroup_pids_max()
    if pids_max is not None and need > pids_max:
        problems.append("the cgroup's pids.max is %d, this run needs about %d tasks" % (pids_max, need))
    if problems:
        raise BenchError("not enough pids for %d processes x %d threads:\n  - %s"
                         % (n, threads, "\n  - ".join(problems)))


# ---------------------------------------------------------------------------------------------
# The pieces of one run

class Spawner:
    def __init__(self, n, args, extra=()):
        """extra: more spawn_idle options, e.g. ("-a", "0.1", "-m", "1") for active children."""
        self.n = n
        argv = [os.path.join(BUILD, "bench", "spawn_idle"), "-t", str(args.threads),
                "-g", str(args.groups), "-c", str(args.churn), "-l", str(args.spawner_lifetime)]
        argv += list(extra) + [str(n)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, start_new_session=True,
                                     preexec_fn=die_with_parent)
        self.churned = None

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError("spawner: %d processes not up after %ds" % (self.n, timeout))
            r, _, _ = select.select([fd], [], [], min(left, 5))
            if not r:
                continue
            chunk = os.read(fd, 1)
            if not chunk:
                self.proc.wait()
                raise BenchError("spawner exited with %s before ready (see its message above)"
                                 % self.proc.returncode)
            line += chunk
        if line.strip() != b"ready":
            raise BenchError("spawner said %r" % line)

    def check_alive(self):
        if self.proc.poll() is not None:
            raise BenchError("spawner exited early (%s); raise --spawner-lifetime?" % self.proc.returncode)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                out, _ = self.proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                # Never signal its group: only the spawner itself, which kills its own children.
                self.proc.kill()
                self.proc.wait()
                return
            for line in out.decode(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "churned":
                    self.churned = (int(parts[1]), float(parts[2]))
        if self.proc.stdout:
            self.proc.stdout.close()


def log_tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return ""
    return "".join("\n    | " + line for line in tail)


def exporter_argv(name, args, port, config, flags):
    binary = args.proctrack if name == "proctrack" else args.process_exporter
    return [binary, "-web.listen-address", "127.0.0.1:%d" % port, "-config.path", config] + flags


def start_exporter(argv, port, timeout, log):
    p = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True,
                         preexec_fn=die_with_parent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise BenchError("%s exited: %d" % (argv[0], p.returncode))
        try:
            scrape(port, timeout)  # also the warm-up scrape
            return p
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    stop_process(p)
    raise BenchError("%s did not answer within %ds" % (argv[0], timeout))


def measure(name, proc, port, args, label):
    per_scrape_cpu = []
    latencies = []
    body = b""
    coarse = False
    for r in range(args.rounds):
        before = cpu_ticks(proc.pid)
        for _ in range(args.scrapes):
            lat, body = scrape(port, args.scrape_timeout)
            latencies.append(lat)
        ticks = cpu_ticks(proc.pid) - before
        coarse = coarse or ticks < 20
        per_scrape_cpu.append(ticks / HZ / args.scrapes)
        progress("%s %s: round %d/%d, %.4f s CPU/scrape" % (label, name, r + 1, args.rounds,
                                                           per_scrape_cpu[-1]))
    if coarse:
        progress("%s %s: under 20 CPU ticks in a round, the CPU figure is coarse; raise --scrapes"
                 % (label, name))
    lines = [line for line in body.split(b"\n") if line and not line.startswith(b"#")]
    latencies.sort()
    return {
        "exporter": name,
        "cpu": statistics.median(per_scrape_cpu),
        "cpu_rounds": per_scrape_cpu,
        "lat_p50": statistics.median(latencies),
        "lat_p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rss_mib": peak_rss_kib(proc.pid) / 1024,
        "series": len(lines),
        "groups": sum(1 for line in lines if line.startswith(GROUP_METRIC) and BENCH_GROUP in line),
    }


def run_floor(args):
    passes = max(5, args.rounds * args.scrapes)
    out = subprocess.run([os.path.join(BUILD, "bench", "floor"), str(passes)], capture_output=True,
                         text=True, check=True, timeout=max(120, args.scrape_timeout * passes),
                         preexec_fn=die_with_parent)
    return statistics.median(float(x) for x in out.stdout.split())


def run_one(n, args, tmp, config):
    """One process count: spawner, each exporter, floor. Returns a dict of results."""
    label = "N=%d" % n
    check_limits(n, args.threads)
    progress("%s: spawning %d processes x %d threads over %d comm names%s"
             % (label, n, args.threads, args.groups,
                ", churn %d/s" % args.churn if args.churn else ""))
    t0 = time.monotonic()
    spawner = Spawner(n, args)
    result = {"procs": n, "threads": args.threads, "groups": args.groups, "churn": args.churn,
              "rows": [], "errors": {}}
    try:
        spawner.wait_ready(max(120, n // 50))
        nproc, ntasks = count_tasks()
        result["machine_procs"], result["machine_tasks"] = nproc, ntasks
        progress("%s: ready in %.1fs; %d processes, %d threads on the machine"
                 % (label, time.monotonic() - t0, nproc, ntasks))
        # The same flags for both: process-exporter's defaults, or its cheapest setting.
        flags = [] if args.pe_defaults else ["-threads=false", "-gather-smaps=false"]
        for name in args.exporters:
            port = free_port()
            argv = exporter_argv(name, args, port, config, flags)
            log = open(os.path.join(tmp, "%s-%d.log" % (name, n)), "w")
            proc = None
            try:
                progress("%s: starting %s" % (label, " ".join(argv)))
                proc = start_exporter(argv, port, args.start_timeout, log)
                result["rows"].append(measure(name, proc, port, args, label))
            except (OSError, http.client.HTTPException, BenchError) as e:
                # A hung or failed exporter costs its row, not the rest of the run.
                msg = "scrape timed out" if isinstance(e, socket.timeout) else str(e) or type(e).__name__
                progress("%s: %s failed: %s%s" % (label, name, msg, log_tail(log.name)))
                result["errors"][name] = msg
            finally:
                stop_process(proc)
                log.close()
            spawner.check_alive()
        progress("%s: floor" % label)
        result["floor"] = run_floor(args)
        spawner.check_alive()
    finally:
        spawner.stop()
    if spawner.churned:
        count, secs = spawner.churned
        result["churned"] = count
        result["churn_rate"] = count / secs if secs > 0 else 0.0
    return result


# ---------------------------------------------------------------------------------------------
# Output

def ratios(res):
    by = {r["exporter"]: r for r in res["rows"]}
    pt, pe, floor = by.get("proctrack"), by.get("process-exporter"), res.get("floor")
    out = {}
    if pt and pe and pt["cpu"] > 0:
        out["pe_pt_cpu"] = pe["cpu"] / pt["cpu"]
    if pt and pe and pt["rss_mib"] > 0:
        out["pe_pt_rss"] = pe["rss_mib"] / pt["rss_mib"]
    if pt and floor:
        out["pt_floor_cpu"] = pt["cpu"] / floor
    return out


def fmt_ratio(v):
    return "%.1fx" % v if v is not None else "-"


def table_rows(results):
    """Rows of strings: the main table and the ratio table."""
    main, rat = [], []
    for res in results:
        n = str(res["procs"])
        by = {r["exporter"]: r for r in res["rows"]}
        for name in EXPORTERS:
            if name in by:
                r = by[name]
                main.append([n, name, "%.2f" % (r["cpu"] * 1e3), "%.1f" % (r["lat_p50"] * 1e3),
                             "%.1f" % (r["lat_p99"] * 1e3), "%.1f" % r["rss_mib"], str(r["series"]),
                             str(r["groups"])])
            elif name in res["errors"]:
                main.append([n, name, "failed: " + res["errors"][name][:40], "-", "-", "-", "-", "-"])
        if "floor" in res:
            main.append([n, "floor (stat+status+io)", "%.2f" % (res["floor"] * 1e3), "-", "-", "-", "-", "-"])
        q = ratios(res)
        rat.append([n,
                    "%.2f" % (by["proctrack"]["cpu"] * 1e3) if "proctrack" in by else "-",
                    "%.2f" % (by["process-exporter"]["cpu"] * 1e3) if "process-exporter" in by else "-",
                    "%.2f" % (res["floor"] * 1e3) if "floor" in res else "-",
                    fmt_ratio(q.get("pe_pt_cpu")), fmt_ratio(q.get("pt_floor_cpu")),
                    fmt_ratio(q.get("pe_pt_rss"))]
                   + (["%.0f/s" % res["churn_rate"]] if "churn_rate" in res and res["churn"] else []))
    return main, rat


MAIN_HEAD = ["procs", "exporter", "CPU/scrape ms", "p50 ms", "p99 ms", "peak RSS MiB", "series", "groups"]
RATIO_HEAD = ["procs", "proctrack CPU ms", "process-exporter CPU ms", "floor CPU ms",
              "process-exporter/proctrack CPU", "proctrack/floor CPU", "process-exporter/proctrack RSS"]


def print_text(head, rows, left):
    """left: how many leading columns are text (left-aligned); the rest are numbers."""
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(c.ljust(w) if i < left else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())


def print_markdown(head, rows, left):
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" if i < left else "---:" for i in range(len(head))) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def describe(args):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return ("Linux %s, %s, %d CPUs; %d threads/process, %d comm names, churn %s; flags for both: %s; "
            "%d rounds x %d scrapes; CPU from /proc/PID/stat utime+stime (1/%d s ticks)"
            % (platform.release(), cpu, os.cpu_count() or 0, args.threads, args.groups,
               "%d/s" % args.churn if args.churn else "off",
               "process-exporter defaults (threads, smaps on)" if args.pe_defaults
               else "-threads=false -gather-smaps=false", args.rounds, args.scrapes, HZ))


def report(results, args):
    main, rat = table_rows(results)
    ratio_head = RATIO_HEAD + (["churn achieved"] if args.churn else [])
    if args.markdown:
        print(describe(args) + "\n")
        print_markdown(MAIN_HEAD, main, 2)
        print()
        print_markdown(ratio_head, rat, 1)
    else:
        print(describe(args))
        print()
        print_text(MAIN_HEAD, main, 2)
        print()
        print_text(ratio_head, rat, 1)
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", type=int, default=5000, help="idle processes to start (default 5000)")
    ap.add_argument("--sweep", help="comma-separated process counts, e.g. 1000,5000,10000,20000; "
                                    "a fresh spawner for each (overrides --procs)")
    ap.add_argument("--threads", type=int, default=1, help="threads per idle process (default 1)")
    ap.add_argument("--groups", type=int, default=10, help="distinct comm names bench-0.. (default 10)")
    ap.add_argument("--churn", type=int, default=0, metavar="RATE",
                    help="processes killed and replaced per second during the run (default 0)")
    ap.add_argument("--scrapes", type=int, default=10, help="scrapes per round (default 10)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds; CPU/scrape is their median (default 5)")
    ap.add_argument("--exporters", default=",".join(EXPORTERS),
                    help="comma-separated subset of proctrack,process-exporter (default both)")
    ap.add_argument("--pe-defaults", action="store_true",
                    help="run both exporters with process-exporter's defaults (threads, smaps on) "
                         "instead of -threads=false -gather-smaps=false")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    ap.add_argument("--scrape-timeout", type=float, default=120, help="seconds per scrape (default 120)")
    ap.add_argument("--start-timeout", type=float, default=120,
                    help="seconds for an exporter to answer its first scrape (default 120)")
    ap.add_argument("--spawner-lifetime", type=int, default=3600,
                    help="the idle processes end after this many seconds whatever happens (default 3600)")
    ap.add_argument("--proctrack", default=os.path.join(BUILD, "proctrack"))
    ap.add_argument("--process-exporter", default=shutil.which("prometheus-process-exporter")
                    or shutil.which("process-exporter"))
    args = ap.parse_args()

    args.exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    for e in args.exporters:
        if e not in EXPORTERS:
            ap.error("unknown exporter %r (choose from %s)" % (e, ", ".join(EXPORTERS)))
    if "process-exporter" in args.exporters and not args.process_exporter:
        ap.error("process-exporter not found: `apt install prometheus-process-exporter`, pass "
                 "--process-exporter PATH, or --exporters proctrack")
    for e in args.exporters:
        path = args.proctrack if e == "proctrack" else args.process_exporter
        if not os.access(path, os.X_OK):
            ap.error("%s: %s is not executable (build it first)" % (e, path))
    for tool in ("spawn_idle", "floor"):
        if not os.access(os.path.join(BUILD, "bench", tool), os.X_OK):
            ap.error("%s missing: cmake --build %s --target spawn_idle floor" % (tool, BUILD))
    if args.sweep:
        try:
            args.counts = [int(x) for x in args.sweep.split(",") if x.strip()]
        except ValueError:
            ap.error("--sweep takes comma-separated integers")
    else:
        args.counts = [args.procs]
    if not args.counts or min(args.counts) < 1:
        ap.error("process counts must be positive")
    if args.threads < 1 or args.groups < 1 or args.scrapes < 1 or args.rounds < 1 or args.churn < 0:
        ap.error("--threads, --groups, --scrapes, --rounds must be >= 1, --churn >= 0")
    if args.groups > 1000000:
        ap.error("--groups at most 1000000 (comm names bench-N must fit 15 bytes)")
    return args


def main():
    args = parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    tmp = tempfile.mkdtemp(prefix="pt-bench-")
    results = []
    try:
        config = os.path.join(tmp, "config.yml")
        with open(config, "w") as f:
            f.write(CONFIG)
        check_limits(max(args.counts), args.threads)  # before anything runs, not midway
        for n in args.counts:
            results.append(run_one(n, args, tmp, config))
        report(results, args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"setup": describe(args), "results": results}, f, indent=1)
        return 0
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        if results:
            print("bench: results so far:", file=sys.stderr)
            report(results, args)
        return 1
    except (KeyboardInterrupt, Stopped):
        print("bench: interrupted, cleaned up", file=sys.stderr)
        if results:
            report(results, args)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

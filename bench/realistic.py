#!/usr/bin/env python3
"""Realistic benchmark: proctrack, process-exporter and netdata's apps.plugin side by side at a
scrape interval a Prometheus would use, and how much of the CPU of short-lived processes each
one counts. Standard library only; helpers come from bench.py.

    python3 bench/realistic.py --install-netdata          # once: apt-get netdata, no daemon
    python3 bench/realistic.py --interval-run --procs 2000 [--interval 15 --duration 300]
    python3 bench/realistic.py --interval-run --procs 2000 --quick
    python3 bench/realistic.py --workloads [--workload-duration 60 --scrape-every 5]

--interval-run: for each process count and each activity level (idle, 10% active, all active:
active children burn --active-ms of CPU once a second), start the processes, then each exporter
in turn, scraped every --interval seconds for --duration seconds; CPU per scrape (the growth of
the exporter's CPU from the end of one scrape to the end of the next: whatever it does between
scrapes included), its median, max and max/median. apps.plugin runs with update_every =
--interval; its CPU per pass is measured the same way, from one pass's output to the next.

--workloads: for each of bench/workload's modes (forks, pipelines, slow), each exporter in turn:
a scrape just before the workload starts, scrapes every --scrape-every seconds while it runs,
one more interval after it ends, a last scrape; the delta of the sum of
namedprocess_namegroup_cpu_seconds_total over the workload's groups between the first and the
last, against the workload's true CPU (getrusage). apps.plugin: its apps.cpu chart integrated
over the same span.
"""

import argparse
import ctypes
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402

APPS_PLUGIN = "/usr/lib/netdata/plugins.d/apps.plugin"
NETDATA_DAEMON = "/usr/sbin/netdata"
POLICY_RC_D = "/usr/sbin/policy-rc.d"
NOBODY = (65534, 65534)

# bench/workload's processes, by comm: PREFIX-parent, and the children. The pipelines' commands
# are links named PREFIX-sh and so on, so no other shell on the machine lands in these groups;
# the prefix is new for every run, so neither does another run of the workload.
WORKLOAD_CHILDREN = ["child", "sh", "cat", "sort", "head", "wc"]


def workload_comms(prefix):
    """The workload's comms, its parent's first."""
    return ["%s-parent" % prefix] + ["%s-%s" % (prefix, c) for c in WORKLOAD_CHILDREN]


def workload_config(prefix):
    return ("process_names:\n  - name: '{{.Comm}}'\n    comm:\n"
            + "".join("    - %s\n" % c for c in workload_comms(prefix)))

MODES = ("forks", "pipelines", "slow")
LEVELS = {"idle": 0.0, "10%": 0.1, "all": 1.0}

CPU_RE = re.compile(rb'^namedprocess_namegroup_cpu_seconds_total\{([^}]*)\} (\S+)$', re.M)
GROUP_RE = re.compile(rb'groupname="((?:[^"\\]|\\.)*)"')
PATH_RE = re.compile(rb'^proctrack_exit_accounting\{path="([^"]*)"\} (\S+)$', re.M)

progress = B.progress


# ---------------------------------------------------------------------------------------------
# netdata

def netdata_daemons():
    """Pids of running netdata daemons (by executable)."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % d) == NETDATA_DAEMON:
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def install_netdata():
    """apt-get install netdata without starting its daemon: a policy-rc.d that refuses every
    start during the install (left alone if one already refuses), the unit masked where systemd
    runs, and any daemon that started anyway stopped."""
    if os.geteuid() != 0:
        raise B.BenchError("--install-netdata needs root")
    created_policy = False
    try:
        with open(POLICY_RC_D) as f:
            refuses = "exit 101" in f.read()
    except OSError:
        refuses = None
    if refuses is None:
        with open(POLICY_RC_D, "w") as f:
            f.write("#!/bin/sh\n# bench/realistic.py --install-netdata: start no service\nexit 101\n")
        os.chmod(POLICY_RC_D, 0o755)
        created_policy = True
    elif not refuses:
        raise B.BenchError("%s exists and does not exit 101; refusing to install netdata with it"
                           % POLICY_RC_D)
    try:
        if os.path.isdir("/run/systemd/system"):
            progress("masking netdata.service (undo: systemctl unmask netdata)")
            subprocess.run(["systemctl", "mask", "netdata.service"], check=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        progress("apt-get install --no-install-recommends netdata")
        install = ["apt-get", "install", "-y", "--no-install-recommends", "netdata"]
        if subprocess.run(install, env=env).returncode != 0:
            progress("apt-get update, then again")
            subprocess.run(["apt-get", "update"], check=True, env=env)
            subprocess.run(install, check=True, env=env)
    finally:
        if created_policy:
            os.unlink(POLICY_RC_D)
    stop_netdata_daemons()
    if not os.access(APPS_PLUGIN, os.X_OK):
        raise B.BenchError("netdata installed, but %s is missing" % APPS_PLUGIN)
    progress("netdata installed; %s is there, no daemon runs" % APPS_PLUGIN)


def stop_netdata_daemons():
    for pid in netdata_daemons():
        progress("stopping a netdata daemon, pid %d" % pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while netdata_daemons() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in netdata_daemons():
        os.kill(pid, signal.SIGKILL)


def apps_groups_conf(comms):
    """One apps.plugin group per comm, named after it: the same groups as '{{.Comm}}'."""
    return "".join("%s: %s\n" % (c, c) for c in comms)


class AppsPlugin:
    """apps.plugin run standalone, its plugin protocol read by a thread. Each pass ends up in
    self.passes as (monotonic time, plugin CPU ns so far, {app: CPU seconds in that pass})."""

    def __init__(self, update_every, confdir, log):
        env = dict(os.environ, NETDATA_USER_CONFIG_DIR=confdir, NETDATA_STOCK_CONFIG_DIR=confdir,
                   NETDATA_CONFIG_DIR=confdir, NETDATA_LOG_DIR=confdir,
                   NETDATA_UPDATE_EVERY=str(update_every))
        # It reads requests on stdin and exits when stdin ends: a pipe held open until stop().
        self.proc = subprocess.Popen([APPS_PLUGIN, str(update_every)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, env=env,
                                     start_new_session=True,
                                     preexec_fn=B.die_with_parent)
        self.passes = []
        self.divisors = {}
        self.children_fix = []  # per pass, % of exited children's CPU kept by its normalization
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        chart = None
        current = None
        fix = False
        for raw in self.proc.stdout:
            words = raw.decode(errors="replace").split()
            if not words:
                continue
            if words[0] == "CHART":
                chart = words[1]
            elif words[0] == "DIMENSION" and chart == "apps.cpu":
                # DIMENSION id name algorithm multiplier divisor [options]
                dims = re.findall(r"'[^']*'|\S+", raw.decode(errors="replace"))
                self.divisors[dims[1]] = float(dims[5]) / float(dims[4])
            elif words[0] == "BEGIN" and words[1] == "netdata.apps_children_fix":
                fix = True
            elif words[0] == "SET" and fix and words[1] == "cutime":
                # % * 10000: how much of the exited children's user CPU it kept
                self.children_fix.append(float(words[-1]) / 1e4)
            elif words[0] == "END" and fix:
                fix = False
            elif words[0] == "BEGIN" and words[1] == "apps.cpu":
                # BEGIN apps.cpu MICROSECONDS_SINCE_LAST_PASS: the pass's collection is done.
                cpu = task_cpu_ns(self.proc.pid)
                dt = float(words[2]) / 1e6 if len(words) > 2 else 0.0
                current = (time.monotonic(), cpu, dt, {})
            elif words[0] == "SET" and current is not None:
                # SET app = VALUE, VALUE/divisor = % of one core over the last dt seconds
                name, value = words[1], words[-1]
                div = self.divisors.get(name)
                if div:
                    current[3][name] = float(value) / div / 100 * current[2]
            elif words[0] == "END" and current is not None:
                with self.lock:
                    self.passes.append((current[0], current[1], current[3]))
                current = None

    def count(self):
        with self.lock:
            return len(self.passes)

    def wait_passes(self, n, timeout):
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if self.proc.poll() is not None:
                raise B.BenchError("apps.plugin exited: %d" % self.proc.returncode)
            if not self.reader.is_alive():
                raise B.BenchError("apps.plugin: its output could not be read")
            if time.monotonic() > deadline:
                raise B.BenchError("apps.plugin: %d passes not seen in %ds" % (n, timeout))
            time.sleep(0.1)

    def stop(self):
        self.proc.stdin.close()
        B.stop_process(self.proc)
        self.reader.join(timeout=5)
        self.proc.stdout.close()


# ---------------------------------------------------------------------------------------------
# Measuring

def task_cpu_ns(pid):
    """CPU of the whole process in ns, its exited threads included (an exporter may start a
    thread per connection): the clock of clock_getcpuclockid(pid). /proc/PID/stat has the same
    total in 10 ms ticks, too coarse for one scrape; /proc/PID/task/*/schedstat is exact but
    forgets exited threads."""
    clock = ctypes.c_int()
    if B.LIBC is None or B.LIBC.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        raise B.BenchError("clock_getcpuclockid(%d) failed" % pid)
    return time.clock_gettime_ns(clock.value)


def as_nobody():
    """preexec_fn: die with the harness, and run as nobody (no supplementary groups)."""
    B.die_with_parent()
    os.setgroups([])
    os.setgid(NOBODY[1])
    os.setuid(NOBODY[0])


def start_prom(argv, port, timeout, log, nobody=False):
    p = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True,
                         preexec_fn=as_nobody if nobody else B.die_with_parent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise B.BenchError("%s exited: %d" % (argv[0], p.returncode))
        try:
            B.scrape(port, timeout)  # also the warm-up scrape
            return p
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    B.stop_process(p)
    raise B.BenchError("%s did not answer within %ds" % (argv[0], timeout))


def group_cpu(body):
    """{groupname: CPU seconds, user+system} from a scrape."""
    out = {}
    for labels, value in CPU_RE.findall(body):
        m = GROUP_RE.search(labels)
        if m:
            name = m.group(1).decode(errors="replace")
            out[name] = out.get(name, 0.0) + float(value)
    return out


def exit_path(body):
    """The path proctrack_exit_accounting says is active, or None without the gauge."""
    for path, value in PATH_RE.findall(body):
        if float(value) == 1:
            return path.decode()
    return None


def died(proc, error, log):
    """What to say when a scrape failed: whether the exporter is gone, and its last words."""
    log.flush()
    msg = str(error) or type(error).__name__
    if proc is not None and proc.poll() is not None:
        status = proc.returncode
        msg += "; the exporter exited, %s" % ("signal %d" % -status if status < 0 else "status %d" % status)
    return msg + B.log_tail(log.name)


def summary(values):
    """Median, max and max/median of per-scrape CPU seconds."""
    if not values:
        return {"median": None, "max": None, "ratio": None, "mean": None, "n": 0}
    med = statistics.median(values)
    return {"median": med, "max": max(values), "ratio": max(values) / med if med > 0 else None,
            "mean": statistics.mean(values), "n": len(values)}


def sleep_until(t):
    left = t - time.monotonic()
    if left > 0:
        time.sleep(left)


# ---------------------------------------------------------------------------------------------
# Part 1: scrape cost at a realistic interval

def prom_interval(name, args, tmp, config, label):
    port = B.free_port()
    flags = [] if args.pe_defaults else ["-threads=false", "-gather-smaps=false"]
    argv = B.exporter_argv(name, args, port, config, flags)
    log = open(os.path.join(tmp, "%s-%s.log" % (name, label.replace(" ", "_"))), "w")
    proc = None
    try:
        progress("%s: starting %s" % (label, " ".join(argv)))
        proc = start_prom(argv, port, args.start_timeout, log)
        ticks0 = B.cpu_ticks(proc.pid)
        last = task_cpu_ns(proc.pid)
        per, lat = [], []
        start = time.monotonic()
        k = 0
        while True:
            k += 1
            due = start + k * args.interval
            if due > start + args.duration + 1e-6:
                break
            sleep_until(due)
            latency, _ = B.scrape(port, args.scrape_timeout)
            now = task_cpu_ns(proc.pid)
            per.append((now - last) / 1e9)
            lat.append(latency)
            last = now
        ticks = B.cpu_ticks(proc.pid) - ticks0
        s = summary(per)
        progress("%s %s: %d scrapes, median %.1f ms, max %.1f ms (%.2fx)"
                 % (label, name, s["n"], s["median"] * 1e3, s["max"] * 1e3, s["ratio"] or 0))
        return dict(s, exporter=name, per_scrape=per, load=os.getloadavg()[0],
                    lat_p50=statistics.median(lat),
                    lat_max=max(lat), rss_mib=B.peak_rss_kib(proc.pid) / 1024,
                    stat_cpu=ticks / B.HZ)
    except (OSError, http.client.HTTPException) as e:
        raise B.BenchError(died(proc, e, log))
    finally:
        B.stop_process(proc)
        log.close()


def apps_interval(args, tmp, label):
    confdir = os.path.join(tmp, "netdata-interval")
    os.makedirs(confdir, exist_ok=True)
    with open(os.path.join(confdir, "apps_groups.conf"), "w") as f:
        f.write(apps_groups_conf(["bench-%d" % i for i in range(args.groups)]))
    log = open(os.path.join(tmp, "apps.plugin-%s.log" % label.replace(" ", "_")), "w")
    plugin = None
    try:
        progress("%s: starting %s %d" % (label, APPS_PLUGIN, args.interval))
        plugin = AppsPlugin(args.interval, confdir, log)
        plugin.wait_passes(1, args.start_timeout + args.interval)  # its first pass: a warm-up
        first = plugin.count()
        ticks0 = B.cpu_ticks(plugin.proc.pid)
        time.sleep(args.duration)
        plugin.wait_passes(first + 1, args.interval * 2 + 10)
        ticks = B.cpu_ticks(plugin.proc.pid) - ticks0
        with plugin.lock:
            passes = plugin.passes[first - 1:]
        per = [(b[1] - a[1]) / 1e9 for a, b in zip(passes, passes[1:])]
        s = summary(per)
        progress("%s apps.plugin: %d passes, median %.1f ms, max %.1f ms (%.2fx)"
                 % (label, s["n"], s["median"] * 1e3, s["max"] * 1e3, s["ratio"] or 0))
        return dict(s, exporter="apps.plugin", per_scrape=per, load=os.getloadavg()[0],
                    lat_p50=None, lat_max=None,
                    rss_mib=B.peak_rss_kib(plugin.proc.pid) / 1024, stat_cpu=ticks / B.HZ)
    finally:
        if plugin:
            plugin.stop()
        log.close()


def auto_active_ms(active):
    """2 ms a second for each active child, less when they would together burn more than a
    quarter of the machine: what matters is that they ran since the last scan, not how much."""
    if active < 1:
        return 2.0
    return min(2.0, 0.25 * (os.cpu_count() or 1) * 1e3 / active)


def interval_run(args, tmp, config):
    results = []
    for n in args.counts:
        for level in args.levels:
            fraction = LEVELS[level]
            label = "N=%d %s" % (n, level)
            active_ms = args.active_ms or auto_active_ms(n * fraction)
            load = n * fraction * active_ms / 1e3
            if load > 0.5 * (os.cpu_count() or 1):
                progress("%s: warning: the active children burn %.2f cores; lower --active-ms"
                         % (label, load))
            B.check_limits(n, args.threads)
            progress("%s: spawning %d processes, %g active at %.3g ms/s"
                     % (label, n, fraction, active_ms if fraction else 0))
            spawner = B.Spawner(n, args, ("-a", str(fraction), "-m", "%.6g" % active_ms))
            res = {"procs": n, "level": level, "active_fraction": fraction,
                   "active_ms": active_ms if fraction else 0, "rows": [], "errors": {}}
            try:
                spawner.wait_ready(max(120, n // 50))
                for name in args.exporters:
                    try:
                        if name == "apps.plugin":
                            res["rows"].append(apps_interval(args, tmp, label))
                        else:
                            res["rows"].append(prom_interval(name, args, tmp, config, label))
                    except (OSError, http.client.HTTPException, B.BenchError) as e:
                        msg = str(e) or type(e).__name__
                        progress("%s: %s failed: %s" % (label, name, msg))
                        res["errors"][name] = msg
                    spawner.check_alive()
            finally:
                spawner.stop()
            results.append(res)
    return results


# ---------------------------------------------------------------------------------------------
# Part 2: captured fraction of short-lived workloads

def run_workload(mode, args):
    return subprocess.Popen([os.path.join(B.BUILD, "bench", "workload"), "-d",
                             str(args.workload_duration), "-l", str(args.linger), "-p", args.prefix,
                             mode],
                            stdout=subprocess.PIPE, start_new_session=True,
                            preexec_fn=B.die_with_parent)


def finish_workload(proc):
    out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise B.BenchError("workload exited %d" % proc.returncode)
    return json.loads(out)


def prom_workload(name, mode, args, tmp, config):
    nobody = name == "proctrack-nobody"
    binary = args.process_exporter if name == "process-exporter" else args.proctrack
    port = B.free_port()
    flags = [] if args.pe_defaults else ["-threads=false", "-gather-smaps=false"]
    argv = [binary, "-web.listen-address", "127.0.0.1:%d" % port, "-config.path", config] + flags
    log = open(os.path.join(tmp, "%s-%s.log" % (name, mode)), "w")
    proc = work = None
    try:
        progress("%s %s: starting %s%s" % (mode, name, " ".join(argv), " as nobody" if nobody else ""))
        proc = start_prom(argv, port, args.start_timeout, log, nobody=nobody)
        _, body = B.scrape(port, args.scrape_timeout)
        before = group_cpu(body)
        work = run_workload(mode, args)
        scrapes = 1
        t = time.monotonic()
        while work.poll() is None:
            t += args.scrape_every
            while work.poll() is None and time.monotonic() < t:
                time.sleep(0.05)
            if work.poll() is None:
                B.scrape(port, args.scrape_timeout)
                scrapes += 1
        truth = finish_workload(work)
        time.sleep(args.scrape_every)
        _, body = B.scrape(port, args.scrape_timeout)
        after = group_cpu(body)
        return counted(name, mode, args.prefix, before, after, truth, scrapes + 1,
                       exit_path(body))
    except (OSError, http.client.HTTPException) as e:
        raise B.BenchError(died(proc, e, log))
    finally:
        if work is not None and work.poll() is None:
            work.terminate()
            work.wait()
        B.stop_process(proc)
        log.close()


def apps_workload(mode, args, tmp):
    confdir = os.path.join(tmp, "netdata-workloads")
    os.makedirs(confdir, exist_ok=True)
    with open(os.path.join(confdir, "apps_groups.conf"), "w") as f:
        f.write(apps_groups_conf(workload_comms(args.prefix)))
    log = open(os.path.join(tmp, "apps.plugin-%s.log" % mode), "w")
    plugin = work = None
    try:
        progress("%s apps.plugin: starting %s %d" % (mode, APPS_PLUGIN, args.scrape_every))
        plugin = AppsPlugin(args.scrape_every, confdir, log)
        plugin.wait_passes(2, args.start_timeout + 2 * args.scrape_every)
        first = plugin.count()
        work = run_workload(mode, args)
        while work.poll() is None:
            time.sleep(0.1)
        truth = finish_workload(work)
        # The pass after the end holds the last interval; apps.plugin may hand the CPU of
        # exited children to their parent's app over more passes: wait for two quiet ones.
        comms = workload_comms(args.prefix)
        end = plugin.count()
        while True:
            plugin.wait_passes(plugin.count() + 1, args.scrape_every * 2 + 10)
            with plugin.lock:
                tail = plugin.passes[end:]
            quiet = [not any(apps.get(c) for c in comms) for _, _, apps in tail]
            if len(tail) >= 2 and quiet[-1] and quiet[-2] or len(tail) >= 6:
                break
        with plugin.lock:
            passes = plugin.passes[first:]
        after = {}
        for _, _, apps in passes:
            for app, seconds in apps.items():
                after[app] = after.get(app, 0.0) + seconds
        r = counted("apps.plugin", mode, args.prefix, {}, after, truth, len(passes), None)
        r["passes_after_end"] = len(tail)
        with plugin.lock:
            fix = plugin.children_fix[first:]
        r["children_fix_pct"] = fix
        if fix:
            progress("%s apps.plugin: its exited-children normalization kept %.0f%%..%.0f%% "
                     "(netdata.apps_children_fix)" % (mode, min(fix), max(fix)))
        return r
    finally:
        if work is not None and work.poll() is None:
            work.terminate()
            work.wait()
        if plugin:
            plugin.stop()
        log.close()


def counted(name, mode, prefix, before, after, truth, scrapes, path):
    comms = workload_comms(prefix)
    delta = {g: after.get(g, 0.0) - before.get(g, 0.0) for g in comms}
    total = sum(delta.values())
    own = total - delta[comms[0]]
    true_total = truth["children_cpu"] + truth["self_cpu"]
    r = {"exporter": name, "mode": mode, "groups": delta, "counted": total, "counted_own": own,
         "true": true_total, "true_children": truth["children_cpu"],
         "fraction": total / true_total if true_total > 0 else None,
         "fraction_own": own / truth["children_cpu"] if truth["children_cpu"] > 0 else None,
         "scrapes": scrapes, "exit_path": path, "workload": truth, "load": os.getloadavg()[0]}
    progress("%s %s: counted %.2f of %.2f s (%.1f%%), own groups %.2f of %.2f s (%.1f%%)%s"
             % (mode, name, total, true_total, 100 * (r["fraction"] or 0), own,
                truth["children_cpu"], 100 * (r["fraction_own"] or 0),
                ", exit path %s" % path if path else ""))
    return r


def workloads(args, tmp):
    config = os.path.join(tmp, "workload.yml")
    with open(config, "w") as f:
        f.write(workload_config(args.prefix))
    os.chmod(config, 0o644)  # proctrack-nobody reads it
    results = []
    for mode in args.modes:
        for name in args.workload_exporters:
            try:
                if name == "apps.plugin":
                    results.append(apps_workload(mode, args, tmp))
                else:
                    results.append(prom_workload(name, mode, args, tmp, config))
            except (OSError, http.client.HTTPException, B.BenchError, ValueError) as e:
                msg = str(e) or type(e).__name__
                progress("%s %s failed: %s" % (mode, name, msg))
                results.append({"exporter": name, "mode": mode, "error": msg})
    return results


# ---------------------------------------------------------------------------------------------
# Output

def ms(v):
    return "%.1f" % (v * 1e3) if v is not None else "-"


def interval_table(results):
    head = ["procs", "active", "active ms/s", "exporter", "CPU/scrape median ms", "max ms", "max/median",
            "mean ms", "scrapes", "p50 latency ms", "peak RSS MiB", "load"]
    rows = []
    for res in results:
        for r in res["rows"]:
            rows.append([str(res["procs"]), res["level"], "%.3g" % res["active_ms"], r["exporter"],
                         ms(r["median"]),
                         ms(r["max"]), "%.2fx" % r["ratio"] if r["ratio"] else "-", ms(r["mean"]),
                         str(r["n"]), ms(r["lat_p50"]), "%.1f" % r["rss_mib"], "%.1f" % r["load"]])
        for name, msg in res["errors"].items():
            rows.append([str(res["procs"]), res["level"], "%.3g" % res["active_ms"], name,
                         "failed: " + msg[:40]] + ["-"] * 7)
    return head, rows, 4


def workload_table(results):
    head = ["workload", "exporter", "started", "true CPU s", "counted s", "captured", "children's true s",
            "in own groups s", "captured in own groups", "exit path", "load"]
    rows = []
    for r in results:
        if "error" in r:
            rows.append([r["mode"], r["exporter"], "failed: " + r["error"][:40]] + ["-"] * 8)
            continue
        rows.append([r["mode"], r["exporter"], str(r["workload"]["started"]), "%.2f" % r["true"], "%.2f" % r["counted"],
                     "%.1f%%" % (100 * r["fraction"]) if r["fraction"] is not None else "-",
                     "%.2f" % r["true_children"], "%.2f" % r["counted_own"],
                     "%.1f%%" % (100 * r["fraction_own"]) if r["fraction_own"] is not None else "-",
                     r["exit_path"] or "-", "%.1f" % r["load"]])
    return head, rows, 2


def describe(args, part):
    base = "Linux %s, %d CPUs" % (os.uname().release, os.cpu_count() or 0)
    flags = ("process-exporter defaults" if args.pe_defaults
             else "-threads=false -gather-smaps=false")
    if part == "interval":
        return ("%s; scrape/update every %g s for %g s per exporter; %d comm names; flags: %s; "
                "CPU from clock_getcpuclockid (ns, exited threads included)"
                % (base, args.interval, args.duration, args.groups, flags))
    return ("%s; workload %g s, its parent staying %g s after the last child, names %s-*; "
            "scrape/update every %g s; flags: %s; captured = counted CPU "
            "of the workload's groups / true CPU (getrusage of the workload and its descendants); "
            "own groups: all but PREFIX-parent, against the descendants' CPU"
            % (base, args.workload_duration, args.linger, args.prefix, args.scrape_every, flags))


def report(parts, args):
    for title, part, (head, rows, left) in parts:
        print("### %s\n" % title)
        print(describe(args, part) + "\n")
        B.print_markdown(head, rows, left)
        print()
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install-netdata", action="store_true",
                    help="apt-get install netdata for apps.plugin, with no daemon left running, "
                         "then go on with whatever else was asked")
    ap.add_argument("--interval-run", action="store_true", help="part 1: scrape cost at an interval")
    ap.add_argument("--workloads", action="store_true", help="part 2: captured fraction of short-lived work")
    ap.add_argument("--quick", action="store_true",
                    help="to try it: --interval 5 --duration 60, --workload-duration 20 "
                         "unless given")
    ap.add_argument("--procs", default="2000", help="comma-separated process counts (default 2000)")
    ap.add_argument("--levels", default="idle,10%,all",
                    help="activity levels, a subset of idle,10%%,all (default all three)")
    ap.add_argument("--active-ms", type=float,
                    help="CPU ms an active child burns a second (default 2, less when the "
                         "active children together would burn more than 1/4 of the machine)")
    ap.add_argument("--interval", type=float, help="scrape interval, s (default 15; 5 with --quick)")
    ap.add_argument("--duration", type=float,
                    help="scraping time per exporter, s (default 300; 60 with --quick)")
    ap.add_argument("--threads", type=int, default=1, help="threads per idle process (default 1)")
    ap.add_argument("--groups", type=int, default=10, help="distinct comm names bench-0.. (default 10)")
    ap.add_argument("--modes", default=",".join(MODES), help="workloads (default forks,pipelines,slow)")
    ap.add_argument("--workload-duration", type=float, help="seconds (default 60; 20 with --quick)")
    ap.add_argument("--linger", type=float,
                    help="seconds the workload's parent stays after its last child (default: "
                         "--scrape-every + 1, so exporters see it after the last exit)")
    ap.add_argument("--prefix", help="the workload's name prefix, 1-8 of a-z 0-9 (default: pt "
                                     "and 4 random hex digits, new for each run)")
    ap.add_argument("--scrape-every", type=float, default=5,
                    help="scrape interval during the workloads, s (default 5)")
    ap.add_argument("--exporters", default="proctrack,process-exporter,apps.plugin",
                    help="comma-separated subset (default all three); the workloads also run "
                         "proctrack as nobody (proctrack-nobody) when proctrack is listed")
    ap.add_argument("--no-nobody", action="store_true", help="skip the proctrack-as-nobody workload runs")
    ap.add_argument("--pe-defaults", action="store_true",
                    help="run both Prometheus exporters with process-exporter's defaults")
    ap.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    ap.add_argument("--scrape-timeout", type=float, default=120)
    ap.add_argument("--start-timeout", type=float, default=120)
    ap.add_argument("--spawner-lifetime", type=int, default=7200)
    ap.add_argument("--proctrack", default=os.path.join(B.BUILD, "proctrack"))
    ap.add_argument("--process-exporter", default=shutil.which("prometheus-process-exporter")
                    or shutil.which("process-exporter"))
    args = ap.parse_args()
    args.churn = 0
    args.prefix = args.prefix or "pt%04x" % int.from_bytes(os.urandom(2), "big")
    if not re.fullmatch(r"[a-z0-9_-]{1,8}", args.prefix):
        ap.error("--prefix: 1-8 of a-z 0-9 - _")
    if not (args.install_netdata or args.interval_run or args.workloads):
        ap.error("nothing to do: give --interval-run, --workloads and/or --install-netdata")
    args.interval = args.interval or (5 if args.quick else 15)
    args.duration = args.duration or (60 if args.quick else 300)
    args.workload_duration = args.workload_duration or (20 if args.quick else 60)
    args.linger = args.scrape_every + 1 if args.linger is None else args.linger
    if min(args.interval, args.duration, args.scrape_every, args.workload_duration) <= 0:
        ap.error("intervals and durations must be positive")
    try:
        args.counts = [int(x) for x in args.procs.split(",") if x.strip()]
    except ValueError:
        ap.error("--procs takes comma-separated integers")
    args.levels = [x.strip() for x in args.levels.split(",") if x.strip()]
    for lv in args.levels:
        if lv not in LEVELS:
            ap.error("unknown level %r (choose from %s)" % (lv, ", ".join(LEVELS)))
    args.modes = [x.strip() for x in args.modes.split(",") if x.strip()]
    for m in args.modes:
        if m not in MODES:
            ap.error("unknown workload %r (choose from %s)" % (m, ", ".join(MODES)))
    args.exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    for e in args.exporters:
        if e not in ("proctrack", "process-exporter", "apps.plugin"):
            ap.error("unknown exporter %r" % e)
    args.workload_exporters = []
    for e in args.exporters:
        args.workload_exporters.append(e)
        if e == "proctrack" and not args.no_nobody:
            args.workload_exporters.append("proctrack-nobody")
    if "process-exporter" in args.exporters and not args.process_exporter:
        ap.error("process-exporter not found: `apt install prometheus-process-exporter`")
    if "apps.plugin" in args.exporters and not args.install_netdata and not os.access(APPS_PLUGIN, os.X_OK):
        ap.error("%s missing: run with --install-netdata (needs root), or leave apps.plugin "
                 "out of --exporters" % APPS_PLUGIN)
    tools = ["spawn_idle"] if args.interval_run else []
    tools += ["workload"] if args.workloads else []
    for tool in tools:
        if not os.access(os.path.join(B.BUILD, "bench", tool), os.X_OK):
            ap.error("%s missing: cmake --build %s --target %s" % (tool, B.BUILD, tool))
    return args


def main():
    args = parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, B.on_signal)
    signal.signal(signal.SIGHUP, B.on_signal)
    tmp = tempfile.mkdtemp(prefix="pt-realistic-")
    os.chmod(tmp, 0o755)  # proctrack-nobody reads its config here
    raw = {}
    parts = []
    started = time.monotonic()
    try:
        if args.install_netdata:
            install_netdata()
        if "apps.plugin" in args.exporters and netdata_daemons():
            raise B.BenchError("a netdata daemon runs (pids %s): its apps.plugin would compete; "
                               "stop it first" % netdata_daemons())
        if args.interval_run:
            config = os.path.join(tmp, "config.yml")
            with open(config, "w") as f:
                f.write(B.CONFIG)
            raw["interval"] = interval_run(args, tmp, config)
            parts.append(("Scrape cost at a %g s interval" % args.interval, "interval",
                          interval_table(raw["interval"])))
        if args.workloads:
            raw["workloads"] = workloads(args, tmp)
            parts.append(("Captured CPU of short-lived processes", "workloads",
                          workload_table(raw["workloads"])))
        report(parts, args)
        progress("done in %.0f s" % (time.monotonic() - started))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"setup": {p: describe(args, p) for _, p, _ in parts}, "results": raw},
                          f, indent=1)
        return 0
    except B.BenchError as e:
        print("realistic: %s" % e, file=sys.stderr)
        return 1
    except (KeyboardInterrupt, B.Stopped):
        print("realistic: interrupted, cleaned up", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if netdata_daemons():
            print("realistic: warning: a netdata daemon runs: %s" % netdata_daemons(), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

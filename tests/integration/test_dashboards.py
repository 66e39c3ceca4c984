"""The examples: the alerting rules pass promtool's checks and their unit tests, the Prometheus
configs are valid, and every query of both Grafana dashboards returns data from a real Prometheus
scraping proctrack on a PVE fixture host. Then the alerts in Prometheus beside proctrack with the
packaged catch-all config, and the dashboards process-exporter users have
(tests/fixtures/dashboards) against proctrack and process-exporter side by side on live processes."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from pve_tree import Host, read_cmdline_fixture  # noqa: E402

SOURCE = os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(SOURCE, "examples")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"
PVE = os.path.join(h.FIXTURES, "pve")
QEMU = "/usr/bin/qemu-system-x86_64"


def promtool(*args):
    p = subprocess.run([h.PROMTOOL] + list(args), capture_output=True, timeout=120, cwd=EXAMPLES)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


@unittest.skipUnless(os.path.exists(h.PROMTOOL), "promtool is not installed")
@unittest.skipIf(h.SANITIZED, "checks the rule files, not proctrack: the ordinary build runs it")
class PromtoolTest(unittest.TestCase):
    def test_check_rules(self):
        with open(os.path.join(EXAMPLES, "alerts.yml")) as f:
            rules = re.findall(r"^\s*- (?:alert|record): ", f.read(), re.M)
        code, out = promtool("check", "rules", "alerts.yml")
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS: %d rules found" % len(rules), out)

    def test_rule_unit_tests(self):
        code, out = promtool("test", "rules", "alerts.test.yml")
        self.assertEqual(code, 0, out)

    def test_unit_tests_cover_every_alert(self):
        with open(os.path.join(EXAMPLES, "alerts.yml")) as f:
            alerts = set(re.findall(r"^\s*- alert: (\S+)", f.read(), re.M))
        with open(os.path.join(EXAMPLES, "alerts.test.yml")) as f:
            text = f.read()
        for a in alerts:
            firing = re.search(r"alertname: %s\n\s*exp_alerts:\n\s*- exp_labels" % a, text)
            quiet = re.search(r"alertname: %s\n\s*exp_alerts: \[\]" % a, text)
            self.assertTrue(firing and quiet, a)

    def test_check_configs(self):
        for name in ("prometheus.yml", "prometheus-pve-cluster.yml"):
            code, out = promtool("check", "config", name)
            self.assertEqual(code, 0, out)
        with open(os.path.join(EXAMPLES, "pve-nodes.json")) as f:
            self.assertTrue(all(t["targets"] for t in json.load(f)))


def prom_get(port, path, params):
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params, doseq=True))
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def prom_query(port, expr, at=None):
    params = {"query": expr}
    if at is not None:
        params["time"] = "%.3f" % at
    return prom_get(port, "/api/v1/query", params)["result"]


def label_values(port, query):
    """Grafana's label_values(SELECTOR, LABEL) and label_values(LABEL) against Prometheus."""
    m = re.fullmatch(r"label_values\((?:(.*),)?\s*(\w+)\s*\)", query.strip(), re.S)
    assert m, query
    selector, label = m.group(1), m.group(2)
    if selector is None:
        return sorted(prom_get(port, "/api/v1/label/%s/values" % label, {}))
    series = prom_get(port, "/api/v1/series", {"match[]": selector.strip()})
    return sorted({s[label] for s in series if label in s})


class Prometheus:
    """A real Prometheus on a loopback port, scraping every second."""

    def __init__(self, directory, *config):
        """config: top-level sections (rule_files) and then the jobs of scrape_configs."""
        self.dir = directory
        self.port = h.free_port()
        os.makedirs(directory, exist_ok=True)
        top = [c for c in config if not c.startswith("  - job_name:")]
        jobs = [c for c in config if c.startswith("  - job_name:")]
        with open(os.path.join(directory, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
            f.write("".join(top) + "scrape_configs:\n" + "".join(jobs))
        self.proc = subprocess.Popen([PROMETHEUS, "--config.file", os.path.join(directory, "prometheus.yml"),
                                      "--storage.tsdb.path", os.path.join(directory, "data"),
                                      "--web.listen-address", "127.0.0.1:%d" % self.port],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, jobs, what=""):
        """Until every job is up and was scraped at least 4 times (rate() needs two samples)."""
        deadline = time.monotonic() + 90
        missing = jobs
        while time.monotonic() < deadline:
            try:
                done = {r["metric"]["job"] for r in self.query('count_over_time(up[1m]) >= 4 and up == 1')}
                missing = [j for j in jobs if j not in done]
                if not missing:
                    return
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("prometheus exited with %d" % self.proc.returncode)
            time.sleep(0.5)
        raise RuntimeError("prometheus did not scrape %s 4 times: %s" % (missing, what))

    def query(self, expr, at=None):
        return prom_query(self.port, expr, at)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FakeQmp:
    """A VM's QMP socket as QEMU serves it, for proctrack's disk queries: the greeting, then one
    answer per command, with the replies of tests/fixtures/pve/qmp (QEMU 7.2). Each
    query-blockstats finds every disk one read of 4 KiB that took 2 ms, one write of 8 KiB that
    took 3 ms and one flush further on. One connection at a time; the thread stops at stop() or
    after LIFETIME seconds."""

    LIFETIME = 600
    GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, '
                b'"package": "Debian 1:7.2+dfsg-7+deb12u7"}, "capabilities": ["oob"]}}\r\n')
    STEP = {"rd_operations": 1, "rd_bytes": 4096, "rd_total_time_ns": 2000000, "wr_operations": 1,
            "wr_bytes": 8192, "wr_total_time_ns": 3000000, "flush_operations": 1,
            "flush_total_time_ns": 500000}

    def __init__(self, path):
        with open(os.path.join(PVE, "qmp", "query-blockstats.json")) as f:
            self.blockstats = json.load(f)
        with open(os.path.join(PVE, "qmp", "query-block.json")) as f:
            self.block = f.read().strip().encode()
        self.queries = 0
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        deadline = time.monotonic() + self.LIFETIME
        try:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                try:
                    conn, _ = self.sock.accept()
                except socket.timeout:
                    continue
                with conn:
                    conn.settimeout(2)
                    try:
                        self.answer(conn)
                    except (OSError, ValueError, KeyError):
                        pass
        finally:
            self.sock.close()

    def answer(self, conn):
        conn.sendall(self.GREETING)
        for line in conn.makefile("rb"):
            command = json.loads(line)["execute"]
            if command == "qmp_capabilities":
                reply = b'{"return": {}}'
            elif command == "query-blockstats":
                reply = self.stats()
            elif command == "query-block":
                reply = self.block
            else:
                reply = (b'{"error": {"class": "CommandNotFound", "desc": "The command %s has not '
                         b'been found"}}' % command.encode())
            conn.sendall(reply + b"\r\n")

    def stats(self):
        self.queries += 1
        reply = json.loads(json.dumps(self.blockstats))
        for disk in reply["return"]:
            for k, step in self.STEP.items():
                disk["stats"][k] += step * self.queries
        return json.dumps(reply).encode()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)


def static_job(name, target, instance=None):
    job = "  - job_name: %s\n    static_configs:\n      - targets: ['%s']\n" % (name, target)
    if instance:
        job += ("    relabel_configs:\n      - target_label: instance\n        replacement: '%s'\n" % instance)
    return job


def start_or_tear_down(cls):
    """A test class's start(); what it started is stopped again when it fails."""
    try:
        cls.start()
    except BaseException:
        cls.tearDownClass()
        raise


def load_dashboard(name):
    with open(os.path.join(EXAMPLES, "grafana", name)) as f:
        return json.load(f)


def load_fixture_dashboard(name):
    with open(os.path.join(h.FIXTURES, "dashboards", name)) as f:
        return json.load(f)


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


# Grafana's interpolation of template variables into Prometheus queries: $name, ${name},
# ${name:format} and [[name]]; a name that is no variable ($1 of label_replace) stays.
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+)\]\]|\$\{(\w+)(?::\w+)?\}")
_REGEX_SPECIAL = re.compile(r"[$^*{}\[\]'+?.()|]")
ALL = "$__all"


def regex_escape(value):
    """Grafana's prometheusSpecialRegexEscape: a value of a multi-value or All variable becomes a
    regex, with a doubled backslash as the PromQL string needs it."""
    return _REGEX_SPECIAL.sub(lambda m: "\\\\" + m.group(0), value.replace("\\", "\\\\\\\\"))


def format_variable(var, selected, options):
    """What Grafana's Prometheus data source puts for $var: a variable without multi and All as
    it is; else one value regex-escaped, several as (a|b), All as allValue, or without one as
    every option, (a|b|c)."""
    if not var.get("multi") and not var.get("includeAll"):
        return selected.replace("\\", "\\\\").replace("'", "\\\\'")
    if selected == ALL:
        if var.get("allValue"):
            return var["allValue"]
        selected = options
    if isinstance(selected, str):
        selected = [selected]
    escaped = [regex_escape(v) for v in selected]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(expr, values):
    return _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2) or m.group(3), m.group(0)), expr)


def unresolved(expr):
    return [m.group(0) for m in _VARIABLE.finditer(expr) if not (m.group(1) or "").isdigit()]


# Grafana's built-in variables, for a 5-minute range and Prometheus scraping every second.
BUILTINS = {"__rate_interval": "30s", "__interval": "15s", "__interval_ms": "15000",
            "__range": "5m", "__range_s": "300", "__range_ms": "300000"}


def resolve_variables(test, prom, dash, selection, fallback=None):
    """The dashboard's template variables in order, as Grafana resolves them: a query variable's
    options from Prometheus (its query interpolated with the variables before it), then the
    selection: "first" (one value), "two" (the first two) or "all". Interval variables take
    their current value. A query variable whose options come back empty fails a subtest; the
    panels are then checked with fallback[name]."""
    values = dict(BUILTINS)
    for var in dash["templating"]["list"]:
        name = var["name"]
        if var["type"] == "interval":
            current = var.get("current") or var["query"].split(",")[0]
            values[name] = current if current != "auto" else "1m"
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        query = interpolate(query, values)
        options = label_values(prom.port, query)
        with test.subTest(variable=name, query=query):
            test.assertTrue(options, "variable %s: %s has no values" % (name, query))
        if not options:
            options = [fallback[name]]
        if selection == "all" and (var.get("includeAll") or var.get("multi")):
            selected = ALL if var.get("includeAll") else options
        elif selection == "two" and var.get("multi"):
            selected = options[:2]
        else:
            selected = options[0]
        values[name] = format_variable(var, selected, options)
    return values


def dashboard_targets(dash):
    for p in panels(dash):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield p, t


class DashboardJsonTest(unittest.TestCase):
    def check(self, name, uid, variables):
        d = load_dashboard(name)
        self.assertEqual(d["uid"], uid)
        self.assertTrue(d["title"])
        self.assertGreaterEqual(d["schemaVersion"], 36)
        got = {v["name"]: v for v in d["templating"]["list"]}
        self.assertEqual(got["datasource"]["type"], "datasource")
        self.assertEqual(got["datasource"]["query"], "prometheus")
        for var, query in variables.items():
            self.assertEqual(got[var]["query"]["query"], query)
        ids = set()
        for p in panels(d):
            self.assertNotIn(p["id"], ids)
            ids.add(p["id"])
            self.assertEqual(set(p["gridPos"]), {"h", "w", "x", "y"}, p["title"])
            self.assertLessEqual(p["gridPos"]["x"] + p["gridPos"]["w"], 24, p["title"])
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
            self.assertTrue(p["targets"], p["title"])
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), p["title"])
            for t in p["targets"]:
                self.assertTrue(t["expr"], p["title"])
                self.assertEqual(t["datasource"]["uid"], "${datasource}", p["title"])

    def test_groups_dashboard(self):
        self.check("proctrack-groups.json", "proctrack-groups", {
            "instance": "label_values(namedprocess_namegroup_num_procs, instance)",
            "groupname": 'label_values(namedprocess_namegroup_num_procs{instance=~"$instance"}, groupname)'})
        d = load_dashboard("proctrack-groups.json")
        groupname = {v["name"]: v for v in d["templating"]["list"]}["groupname"]
        self.assertTrue(groupname["multi"] and groupname["includeAll"])
        self.assertEqual(groupname["allValue"], ".+")
        # Every group panel overlays the selected groups: a regex match, one series per group.
        for p in panels(d):
            for t in p.get("targets", []):
                if "$groupname" in t["expr"]:
                    self.assertNotIn('groupname="$groupname"', t["expr"], p["title"])
                    self.assertIn("{{groupname}}", t["legendFormat"], p["title"])

    def test_pve_dashboard(self):
        self.check("proctrack-pve.json", "proctrack-pve", {
            "vmid": 'label_values(pve_kvm_info{instance=~"$instance"}, id)'})
        # Every per-disk family has a panel.
        exprs = " ".join(t["expr"] for p, t in dashboard_targets(load_dashboard("proctrack-pve.json")))
        for rw in ("read", "write"):
            for what in ("bytes", "operations", "seconds"):
                self.assertIn("pve_kvm_disk_%s_%s_total{" % (rw, what), exprs)
        for family in ("disk_flush_operations_total", "disk_info", "disk_size_bytes", "qmp_errors_total"):
            self.assertIn("pve_kvm_%s{" % family, exprs)

    def test_pve_lxc_dashboard(self):
        self.check("proctrack-pve-lxc.json", "proctrack-pve-lxc", {
            "instance": "label_values(pve_lxc_info, instance)",
            "vmid": 'label_values(pve_lxc_info{instance=~"$instance"}, id)'})


# The disks of tests/fixtures/pve/qmp as proctrack names them; the empty CD-ROM has no size.
QMP_DISKS = {"scsi0", "virtio1", "ide2", "scsi1"}
QMP_SIZED_DISKS = {"scsi0", "virtio1", "scsi1"}
# The label names pve_local_exporter's README lists for its info families and disk sizes (the
# NIC counters and queues have id and ifname).
README_LABELS = {
    "pve_kvm_nic_info": ("id", "ifname", "netdev", "queues", "type", "model", "macaddr"),
    "pve_kvm_disk_info": ("id", "disk_name", "block_id", "disk_path", "disk_type", "vol_name", "pool",
                          "pool_name", "cluster_id", "vg_name", "device", "attached_to", "cache_mode",
                          "detect_zeroes", "read_only"),
    "pve_kvm_disk_size_bytes": ("id", "disk_name"),
}
SHARE_PANELS = ("CPU, share of the host", "Resident memory, share of the host")


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
class DashboardQueriesTest(unittest.TestCase):
    """Prometheus scrapes proctrack on a PVE fixture host every second, twice: as the host
    127.0.0.1, where node_exporter runs too, and relabelled as the host pve-b, where it does not.
    The running VM 100 has a QMP socket (FakeQmp) for its disks. Every query of both dashboards,
    with the template variables filled in as Grafana does for one value, two values and All, must
    return data."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-dash-")
        cls.server = cls.node = cls.prom = cls.qmp = None
        start_or_tear_down(cls)

    @classmethod
    def start(cls):
        host = Host(os.path.join(cls.tmp, "host"))
        argv = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
        threads = [(5000, "kvm", {"vol": 5})] + [(5010 + i, "CPU %d/KVM" % i, {"vol": 3}) for i in range(2)]
        host.process(5000, "kvm", argv, QEMU, "0::/qemu.slice/100.scope", threads=threads,
                     utime=1000, stime=200, blkio=5, guest=900, read_bytes=4096, write_bytes=8192,
                     syscr=10, syscw=20, vmrss_kb=200000, rss=50000, vsize=3000000000)
        host.config(100, "cores: 2\nmemory: 2048\nname: web\n"
                         "net0: virtio=BC:24:11:5F:A8:91,bridge=vmbr0,firewall=1\nsockets: 1\n")
        host.config(101, "memory: 1024\nname: db\n")  # configured and stopped
        host.pools("pool:prod::100,101::\n")
        host.tap("tap100i0", rx_bytes=1000, tx_bytes=2000, rx_packets=10, tx_packets=20)
        host.scope(100, cpu_some_us=1000000, cpu_full_us=500000, io_some_us=2000,
                   memory_current=210000000)
        cls.qmp = FakeQmp(os.path.join(host.run, "100.qmp"))
        # Ordinary processes: the catch-all rule makes the groups "nginx" and "sshd".
        host.process(300, "nginx", ["nginx: master process /usr/sbin/nginx"], "/usr/sbin/nginx",
                     utime=50, stime=10, minflt=100, majflt=2, read_bytes=100, write_bytes=200,
                     vol=7, nonvol=1, rss=1000, vsize=100000)
        host.process(301, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", utime=5, rss=800)
        host.process(400, "sshd", ["/usr/sbin/sshd", "-D"], "/usr/sbin/sshd", utime=3, rss=500)
        cls.server = h.start_proctrack(*host.flags())
        cls.target = "127.0.0.1:%d" % cls.server.port
        jobs = static_job("proctrack", cls.target) + static_job("proctrack-b", cls.target, "pve-b:9256")
        if os.path.exists(NODE_EXPORTER):
            node_port = h.free_port()
            cls.node = h.Server([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % node_port,
                                 "--collector.disable-defaults", "--collector.cpu", "--collector.meminfo"],
                                node_port)
            jobs += static_job("node", "127.0.0.1:%d" % node_port)
        cls.prom = Prometheus(os.path.join(cls.tmp, "prom"), jobs)
        cls.prom.wait(["proctrack", "proctrack-b"] + (["node"] if cls.node else []), cls.server.log())
        # rate() of the disk counters needs two scrapes after two answered QMP queries.
        moving = 'changes(pve_kvm_disk_read_operations_total{job="proctrack"}[30s]) >= 1'
        deadline = time.monotonic() + 60
        while len(cls.prom.query(moving)) < len(QMP_DISKS):
            if time.monotonic() > deadline:
                raise RuntimeError("the disk counters did not move: %s" % cls.server.log())
            time.sleep(0.5)

    @classmethod
    def tearDownClass(cls):
        for s in (cls.prom, cls.node, cls.server, cls.qmp):
            if s:
                s.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check_every_target(self, name, selection):
        d = load_dashboard(name)
        values = resolve_variables(self, self.prom, d, selection)
        checked = 0
        for p, t in dashboard_targets(d):
            expr = interpolate(t["expr"], values)
            with self.subTest(panel=p["title"], refId=t["refId"], selection=selection):
                self.assertEqual(unresolved(expr), [])
                result = self.prom.query(expr)
                self.assertTrue(result, "%s / %s: %s returned nothing" % (p["title"], t["refId"], expr))
            checked += 1
        self.assertGreater(checked, 10)

    def test_groups_dashboard_queries(self):
        for selection in ("first", "two", "all"):
            self.check_every_target("proctrack-groups.json", selection)

    def test_pve_dashboard_queries(self):
        for selection in ("first", "two", "all"):
            self.check_every_target("proctrack-pve.json", selection)

    def test_multi_select_overlays_groups(self):
        d = load_dashboard("proctrack-groups.json")
        values = resolve_variables(self, self.prom, d, "two")
        self.assertEqual(values["groupname"], "(nginx|qemu/100)")
        for p, t in dashboard_targets(d):
            if p["title"] in ("Processes", "Open file descriptors", "Threads"):
                got = {r["metric"]["groupname"] for r in self.prom.query(interpolate(t["expr"], values))}
                self.assertEqual(got, {"nginx", "qemu/100"}, p["title"])

    def share(self, title, instance):
        d = load_dashboard("proctrack-groups.json")
        values = resolve_variables(self, self.prom, d, "all")
        values["instance"] = regex_escape(instance)
        expr = [t["expr"] for p, t in dashboard_targets(d) if p["title"] == title][0]
        return interpolate(expr, values)

    @unittest.skipUnless(os.path.exists(NODE_EXPORTER), "prometheus-node-exporter is not installed")
    def test_share_of_host_with_node_exporter(self):
        # On 127.0.0.1 node_exporter runs: the share is of its MemTotal and its CPUs.
        at = time.time()
        mem = {r["metric"]["groupname"]: float(r["value"][1])
               for r in self.prom.query(self.share(SHARE_PANELS[1], self.target), at)}
        rss = {r["metric"]["groupname"]: float(r["value"][1]) for r in self.prom.query(
            'sum by (groupname) (namedprocess_namegroup_memory_bytes{job="proctrack", memtype="resident"})', at)}
        total = float(self.prom.query('node_memory_MemTotal_bytes', at)[0]["value"][1])
        self.assertEqual(set(mem), {"nginx", "sshd", "qemu/100"})
        for g in mem:
            self.assertAlmostEqual(mem[g], rss[g] / total, places=12)
        # The fixture's CPU counters stand still: 0 of the host's CPUs (the fallback would be 0/0).
        cpu = self.prom.query(self.share(SHARE_PANELS[0], self.target), at)
        self.assertEqual({r["metric"]["groupname"]: r["value"][1] for r in cpu},
                         {"nginx": "0", "sshd": "0", "qemu/100": "0"})

    def test_share_of_host_without_node_exporter(self):
        # On pve-b no node_exporter runs: the share is of all groups of that host.
        at = time.time()
        mem = {r["metric"]["groupname"]: float(r["value"][1])
               for r in self.prom.query(self.share(SHARE_PANELS[1], "pve-b:9256"), at)}
        rss = {r["metric"]["groupname"]: float(r["value"][1]) for r in self.prom.query(
            'sum by (groupname) (namedprocess_namegroup_memory_bytes{job="proctrack-b", memtype="resident"})', at)}
        self.assertEqual(set(mem), {"nginx", "sshd", "qemu/100"})
        for g in mem:
            self.assertAlmostEqual(mem[g], rss[g] / sum(rss.values()), places=12)
        self.assertAlmostEqual(sum(mem.values()), 1.0, places=12)
        self.assertTrue(self.prom.query(self.share(SHARE_PANELS[0], "pve-b:9256"), at))

    def test_template_variables_resolve(self):
        groups = {r["metric"]["groupname"] for r in self.prom.query(
            'namedprocess_namegroup_num_procs{instance=~"%s"}' % self.target)}
        self.assertTrue({"nginx", "sshd", "qemu/100"} <= groups, groups)
        ids = {r["metric"]["id"] for r in self.prom.query(
            'pve_kvm_info{instance=~"%s"}' % self.target)}
        self.assertEqual(ids, {"100", "101"})
        self.assertEqual(self.prom.query('pve_kvm_info{id="100"}')[0]["metric"]["name"], "web")

    def disk_panel(self, title, ref, at):
        d = load_dashboard("proctrack-pve.json")
        values = resolve_variables(self, self.prom, d, "first")
        expr = [t["expr"] for p, t in dashboard_targets(d)
                if p["title"] == title and t["refId"] == ref][0]
        return self.prom.query(interpolate(expr, values), at)

    def test_disk_panels_per_disk(self):
        # FakeQmp adds one read of 4 KiB in 2 ms and one write of 8 KiB in 3 ms per query to
        # every disk: latency is exactly that, throughput 4096 and 8192 times the operations.
        at = time.time()
        for ref, seconds in (("A", 0.002), ("B", 0.003)):
            latency = {r["metric"]["disk"]: float(r["value"][1])
                       for r in self.disk_panel("Disk latency per operation", ref, at)}
            self.assertEqual(set(latency), QMP_DISKS)
            for disk, value in latency.items():
                self.assertAlmostEqual(value, seconds, places=9, msg=disk)
        ops = {r["metric"]["disk"]: float(r["value"][1])
               for r in self.disk_panel("Disk operations per disk", "A", at)}
        for ref, size, sign in (("A", 4096, 1), ("B", 8192, -1)):
            throughput = {r["metric"]["disk"]: float(r["value"][1])
                          for r in self.disk_panel("Disk throughput per disk", ref, at)}
            self.assertEqual(set(throughput), QMP_DISKS)
            for disk, value in throughput.items():
                self.assertGreater(ops[disk], 0, disk)
                self.assertAlmostEqual(value, sign * size * ops[disk], delta=1e-6 * size * ops[disk])
        sizes = {r["metric"]["disk_name"]: r["value"][1] for r in self.disk_panel("Disks", "B", at)}
        self.assertEqual(sizes, {d: "4194304" for d in QMP_SIZED_DISKS})
        errors = {r["metric"]["reason"] for r in self.disk_panel("QMP errors", "A", at)}
        self.assertEqual(errors, {"closed", "connect", "protocol", "timeout"})

    def test_pve_local_exporter_readme_queries(self):
        # No dashboard for pve_local_exporter exists: the NIC and disk metrics of its README
        # (tests/fixtures/dashboards/README.md) return data from Prometheus, and each series
        # has the labels the README lists (in the exposition: Prometheus drops empty ones).
        d = load_fixture_dashboard("pve-local-exporter-readme.json")
        self.assertEqual(d["templating"]["list"], [])
        samples, _ = h.parse(self.server.scrape())
        checked = 0
        for p, t in dashboard_targets(d):
            with self.subTest(panel=p["title"], refId=t["refId"]):
                result = self.prom.query('%s{job="proctrack"}' % t["expr"])
                self.assertTrue(result, t["expr"])
                self.assertEqual({r["metric"]["id"] for r in result}, {"100"})
                exposed = [dict(k[1]) for k in samples if k[0] == t["expr"]]
                self.assertEqual(len(exposed), len(result))
                labels = set(README_LABELS.get(t["expr"], ("id", "ifname")))
                for series in exposed:
                    self.assertEqual(set(series), labels)
            checked += 1
        self.assertEqual(checked, 7)

    def test_vm_state_panel_shows_running_and_stopped(self):
        d = load_dashboard("proctrack-pve.json")
        values = resolve_variables(self, self.prom, d, "first")
        expr = [t["expr"] for p, t in dashboard_targets(d) if p["title"] == "VM state, all VMs"][0]
        state = {(r["metric"]["id"], r["metric"]["name"]): r["value"][1]
                 for r in self.prom.query(interpolate(expr, values))}
        self.assertEqual(state, {("100", "web"): "1", ("101", "db"): "0"})


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
class LxcDashboardQueriesTest(unittest.TestCase):
    """Prometheus scrapes proctrack on a fixture host with two running PVE containers, laid out as
    pve-container lays them out, and a stopped one; every query of the container dashboard must
    return data."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-dash-lxc-")
        cls.server = cls.prom = None
        start_or_tear_down(cls)

    @classmethod
    def start(cls):
        host = Host(os.path.join(cls.tmp, "host"))
        for vmid, pid in ((200, 700), (201, 710)):
            host.lxc_config(vmid, "arch: amd64\ncores: 2\nhostname: ct%d\nmemory: 1024\n"
                                  "ostype: debian\nswap: 512\ntags: web\n" % vmid)
            host.process(pid, "lxc-start", ["[lxc monitor] /var/lib/lxc %d" % vmid],
                         "/usr/bin/lxc-start", "0::/lxc.monitor/%d" % vmid, utime=2)
            host.process(pid + 1, "systemd", ["/sbin/init"], "/usr/lib/systemd/systemd",
                         "0::/lxc/%d/ns/init.scope" % vmid, utime=30, rss=2000)
            host.process(pid + 2, "nginx", ["nginx: master process"], "/usr/sbin/nginx",
                         "0::/lxc/%d/ns/system.slice/nginx.service" % vmid, utime=10, rss=1000)
            host.lxc_cgroup(vmid, user_usec=400000, system_usec=100000, memory_current=90000000,
                            swap_current=4096, anon=60000000, file=20000000,
                            io="8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
                            cpu_some_us=1000)
            host.tap("veth%di0" % vmid, rx_bytes=1000, tx_bytes=2000, rx_packets=10, tx_packets=20)
        host.lxc_config(202, "hostname: backup\nostype: debian\n")  # configured, stopped
        cls.server = h.start_proctrack(*host.flags())
        cls.target = "127.0.0.1:%d" % cls.server.port
        cls.prom = Prometheus(os.path.join(cls.tmp, "prom"), static_job("proctrack", cls.target))
        cls.prom.wait(["proctrack"], cls.server.log())

    @classmethod
    def tearDownClass(cls):
        for s in (cls.prom, cls.server):
            if s:
                s.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    check_every_target = DashboardQueriesTest.check_every_target

    def test_pve_lxc_dashboard_queries(self):
        for selection in ("first", "two", "all"):
            self.check_every_target("proctrack-pve-lxc.json", selection)

    def test_containers_are_their_groups(self):
        procs = {r["metric"]["groupname"]: r["value"][1] for r in self.prom.query(
            'namedprocess_namegroup_num_procs{groupname=~"lxc/.*"}')}
        self.assertEqual(procs, {"lxc/200": "3", "lxc/201": "3"})
        info = self.prom.query('pve_lxc_info{id="201"}')[0]["metric"]
        self.assertEqual((info["name"], info["ostype"], info["pve_id"]), ("ct201", "debian", "lxc/201"))

    def test_container_state_panel_shows_running_and_stopped(self):
        d = load_dashboard("proctrack-pve-lxc.json")
        values = resolve_variables(self, self.prom, d, "first")
        expr = [t["expr"] for p, t in dashboard_targets(d)
                if p["title"] == "Container state, all containers"][0]
        state = {(r["metric"]["id"], r["metric"]["name"]): r["value"][1]
                 for r in self.prom.query(interpolate(expr, values))}
        self.assertEqual(state, {("200", "ct200"): "1", ("201", "ct201"): "1", ("202", "backup"): "0"})


def host_runs(comm):
    """Whether a process with this comm runs (comms are bytes, not always UTF-8)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/comm" % pid, "rb") as f:
                if f.read().rstrip(b"\n") == comm.encode():
                    return True
        except OSError:
            pass
    return False


WATCHED_ALWAYS = """  - name: crond
    always: true
    comm: [ptdash-nosuch]
"""


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
class GroupGoneLiveTest(unittest.TestCase):
    """alerts.yml in a real Prometheus evaluating every second, proctrack on this host with the
    packaged catch-all config plus an `always: true` item for the watched group crond, and short
    commands under their own names: their groups are at 0 within seconds, and only crond, which
    never had a process, becomes a pending ProcessGroupGone."""

    SHORT = ["ptshort-%d" % i for i in range(8)]

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-dash-gone-")
        cls.server = cls.prom = None
        start_or_tear_down(cls)

    @classmethod
    def start(cls):
        with open(os.path.join(SOURCE, "config", "default.yml")) as f:
            config = f.read().replace("process_names:\n", "process_names:\n" + WATCHED_ALWAYS, 1)
        cls.server = h.start_proctrack("-config.path", h.write_config(cls.tmp, config))
        shutil.copy(os.path.join(EXAMPLES, "alerts.yml"), os.path.join(cls.tmp, "alerts.yml"))
        cls.prom = Prometheus(os.path.join(cls.tmp, "prom"), "rule_files: [%s]\n" % os.path.join(
            cls.tmp, "alerts.yml"), static_job("proctrack", "127.0.0.1:%d" % cls.server.port))
        cls.prom.wait(["proctrack"], cls.server.log())

    @classmethod
    def tearDownClass(cls):
        for s in (cls.prom, cls.server):
            if s:
                s.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def wait_for_groups(self, expr):
        deadline = time.monotonic() + 60
        while len(self.prom.query(expr)) < len(self.SHORT) and time.monotonic() < deadline:
            time.sleep(0.5)

    def test_only_the_watched_group_without_a_process_is_pending(self):
        if host_runs("crond"):
            self.skipTest("this host runs crond")
        sleep = shutil.which("sleep")
        for name in self.SHORT:
            shutil.copy(sleep, os.path.join(self.tmp, name))
        # Short commands: each runs until Prometheus has seen its group, then exits.
        procs = [subprocess.Popen([os.path.join(self.tmp, n), "60"]) for n in self.SHORT]
        try:
            self.wait_for_groups('namedprocess_namegroup_num_procs{groupname=~"ptshort-.*"} == 1')
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)
        # last_over_time: a scrape that timed out on a busy machine leaves no gap.
        empty = 'last_over_time(namedprocess_namegroup_num_procs{groupname=~"ptshort-.*"}[1m]) == 0'
        self.wait_for_groups(empty)
        self.assertEqual({r["metric"]["groupname"] for r in self.prom.query(empty)}, set(self.SHORT))
        # A few more rule evaluations with the empty groups; then the pending alerts, asked
        # until one answer is right (an evaluation after a failed scrape has none at all).
        time.sleep(3)
        deadline = time.monotonic() + 15
        while True:
            pending = {(r["metric"]["groupname"], r["metric"]["alertstate"])
                       for r in self.prom.query('ALERTS{alertname="ProcessGroupGone"}')}
            if pending == {("crond", "pending")} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(pending, {("crond", "pending")})
        # Without the watched-group list, the short commands' groups would be pending too.
        self.assertTrue(set(self.SHORT) <= {r["metric"]["groupname"] for r in self.prom.query(
            "last_over_time(namedprocess_namegroup_num_procs[1m]) == 0")})


# Metric names that third-party dashboards query but process-exporter 0.7.10 does not export
# either (cpu_{user,system}_seconds_total were renamed before 0.5; _state never existed): their
# panels are blank for process-exporter users too.
NOT_EXPORTED_UPSTREAM = ("namedprocess_namegroup_cpu_user_seconds_total",
                         "namedprocess_namegroup_cpu_system_seconds_total",
                         "namedprocess_namegroup_state{")
UPSTREAM_DASHBOARDS = sorted(f for f in os.listdir(os.path.join(h.FIXTURES, "dashboards"))
                             if f.endswith(".json") and not f.startswith("pve-local-exporter"))
UPSTREAM_CONFIG = """process_names:
  - name: ptdash-web
    comm: [ptdash-web]
  - name: ptdash-io
    comm: [ptdash-io]
"""


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
@unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
@unittest.skipIf(h.SANITIZED, "checks names and queries, side by side: the ordinary build runs it")
class UpstreamDashboardsTest(unittest.TestCase):
    """The dashboards process-exporter users have (grafana.com 249, its author's, its own
    repository's; tests/fixtures/dashboards), against proctrack and, side by side with the same
    config on the same live processes, process-exporter 0.7.10. Each exporter has its own
    Prometheus, scraping it as job "process-exporter" as a user who swaps the binary keeps it.
    Every query returns data from proctrack, for one, two and All groups; the few that name
    metrics process-exporter does not export return nothing from either."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-dash-up-")
        cls.workers = h.Workers()
        cls.servers, cls.proms = [], {}
        start_or_tear_down(cls)

    @classmethod
    def start(cls):
        # ptdash-web: a process with two sleeping threads (thread and wchan series) and a
        # single-threaded one; ptdash-io: one that writes and fsyncs (I/O counters that move)
        # and one that sleeps, so that the group always has a sleeping thread with a wchan.
        cls.workers.start("ptdash-web", "threads", "ptdash-w1", "ptdash-w2")
        cls.workers.start("ptdash-web")
        cls.workers.start("ptdash-io", "write", os.path.join(cls.tmp, "io.dat"))
        cls.workers.start("ptdash-io")
        config = h.write_config(cls.tmp, UPSTREAM_CONFIG)
        pt = h.start_proctrack("-config.path", config)
        cls.servers.append(pt)
        pe = h.start_process_exporter("-config.path", config)
        cls.servers.append(pe)
        cls.targets = {}
        for name, server in (("proctrack", pt), ("process-exporter", pe)):
            cls.targets[name] = "127.0.0.1:%d" % server.port
            cls.proms[name] = Prometheus(os.path.join(cls.tmp, name),
                                         static_job("process-exporter", cls.targets[name]))
        for name, prom in cls.proms.items():
            prom.wait(["process-exporter"], name)

    @classmethod
    def tearDownClass(cls):
        for p in cls.proms.values():
            p.stop()
        for s in cls.servers:
            s.stop()
        cls.workers.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_dashboard(self, name, selection):
        d = load_fixture_dashboard(name)
        fallback = {"instance": self.targets["proctrack"], "group": "ptdash-io", "groupname": "ptdash-io",
                    "processes": "ptdash-io"}
        checked = 0
        for exporter in ("proctrack", "process-exporter"):
            prom = self.proms[exporter]
            fallback["instance"] = self.targets[exporter]
            with self.subTest(exporter=exporter, dashboard=name):
                values = resolve_variables(self, prom, d, selection, fallback)
            for p, t in dashboard_targets(d):
                expr = interpolate(t["expr"], values)
                with self.subTest(exporter=exporter, panel=p["title"], refId=t["refId"], selection=selection):
                    self.assertEqual(unresolved(expr), [])
                    result = prom.query(expr)
                    if any(m in t["expr"] for m in NOT_EXPORTED_UPSTREAM):
                        self.assertEqual(result, [], expr)
                    else:
                        self.assertTrue(result, "%s %s / %s: %s returned nothing" % (
                            exporter, p["title"], t["refId"], expr))
                        groups = {r["metric"].get("groupname") for r in result} - {None}
                        self.assertTrue(groups <= {"ptdash-web", "ptdash-io"}, groups)
                checked += 1
        self.assertGreater(checked, 0)

    def test_every_panel_of_every_dashboard(self):
        self.assertEqual(len(UPSTREAM_DASHBOARDS), 7)
        for name in UPSTREAM_DASHBOARDS:
            for selection in ("first", "two", "all"):
                self.run_dashboard(name, selection)

    def test_grafana_249_overlays_the_selected_groups(self):
        d = load_fixture_dashboard("grafana-com-249-named-processes.json")
        for exporter, prom in self.proms.items():
            values = resolve_variables(self, prom, d, "two")
            self.assertEqual(values["processes"], "(ptdash-io|ptdash-web)")
            for p, t in dashboard_targets(d):
                got = {r["metric"]["groupname"] for r in prom.query(interpolate(t["expr"], values))}
                self.assertEqual(got, {"ptdash-io", "ptdash-web"}, (exporter, p["title"]))


if __name__ == "__main__":
    h.main()

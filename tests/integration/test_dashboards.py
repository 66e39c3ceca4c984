"""The examples: the alerting rules pass promtool's checks and their unit tests, the Prometheus
configs are valid, and every query of both Grafana dashboards returns data from a real Prometheus
scraping proctrack on a PVE fixture host."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
PVE = os.path.join(h.FIXTURES, "pve")
QEMU = "/usr/bin/qemu-system-x86_64"


def promtool(*args):
    p = subprocess.run([h.PROMTOOL] + list(args), capture_output=True, timeout=120, cwd=EXAMPLES)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


@unittest.skipUnless(os.path.exists(h.PROMTOOL), "promtool is not installed")
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


def prom_query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def load_dashboard(name):
    with open(os.path.join(EXAMPLES, "grafana", name)) as f:
        return json.load(f)


def panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])


def substitute(expr, values):
    """Grafana's variable interpolation for the forms the dashboards use: $name and ${name}."""
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${%s}" % name, values[name]).replace("$" + name, values[name])
    return expr


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

    def test_pve_dashboard(self):
        self.check("proctrack-pve.json", "proctrack-pve", {
            "vmid": 'label_values(pve_kvm_info{instance=~"$instance"}, id)'})


@unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
class DashboardQueriesTest(unittest.TestCase):
    """Prometheus scrapes proctrack on a PVE fixture host every second; every query of both
    dashboards, with the template variables filled in, must return data."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-dash-")
        host = Host(os.path.join(cls.tmp, "host"))
        argv = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
        threads = [(5000, "kvm", {"vol": 5})] + [(5010 + i, "CPU %d/KVM" % i, {"vol": 3}) for i in range(2)]
        host.process(5000, "kvm", argv, QEMU, "0::/qemu.slice/100.scope", threads=threads,
                     utime=1000, stime=200, blkio=5, guest=900, read_bytes=4096, write_bytes=8192,
                     syscr=10, syscw=20, vmrss_kb=200000, rss=50000, vsize=3000000000)
        host.config(100, "cores: 2\nmemory: 2048\nname: web\nsockets: 1\n")
        host.tap("tap100i0", rx_bytes=1000, tx_bytes=2000, rx_packets=10, tx_packets=20)
        host.scope(100, cpu_some_us=1000000, cpu_full_us=500000, io_some_us=2000,
                   memory_current=210000000)
        # Ordinary processes: the catch-all rule makes the groups "nginx" and "sshd".
        host.process(300, "nginx", ["nginx: master process /usr/sbin/nginx"], "/usr/sbin/nginx",
                     utime=50, stime=10, minflt=100, majflt=2, read_bytes=100, write_bytes=200,
                     vol=7, nonvol=1, rss=1000, vsize=100000)
        host.process(301, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", utime=5, rss=800)
        host.process(400, "sshd", ["/usr/sbin/sshd", "-D"], "/usr/sbin/sshd", utime=3, rss=500)
        cls.server = h.start_proctrack(*host.flags())
        cls.target = "127.0.0.1:%d" % cls.server.port
        cls.port = h.free_port()
        with open(os.path.join(cls.tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
                    "  - job_name: proctrack\n    static_configs:\n      - targets: ['%s']\n" % cls.target)
        cls.prom = subprocess.Popen([PROMETHEUS, "--config.file", os.path.join(cls.tmp, "prometheus.yml"),
                                     "--storage.tsdb.path", os.path.join(cls.tmp, "data"),
                                     "--web.listen-address", "127.0.0.1:%d" % cls.port],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            cls.wait_for_scrapes()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def wait_for_scrapes(cls):
        # rate() needs two samples in its window: wait for up == 1 and at least 3 scrapes.
        deadline = time.monotonic() + 90
        scrapes = []
        while time.monotonic() < deadline:
            try:
                up = prom_query(cls.port, 'up{job="proctrack"} == 1')
                scrapes = prom_query(cls.port, 'count_over_time(up{job="proctrack"}[1m]) >= 4')
                if up and scrapes:
                    return
            except (OSError, ValueError):
                pass
            if cls.prom.poll() is not None:
                raise RuntimeError("prometheus exited with %d" % cls.prom.returncode)
            time.sleep(0.5)
        raise RuntimeError("prometheus did not scrape proctrack 3 times: %r\n%s" % (scrapes, cls.server.log()))

    @classmethod
    def tearDownClass(cls):
        if cls.prom.poll() is None:
            cls.prom.terminate()
            try:
                cls.prom.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cls.prom.kill()
                cls.prom.wait()
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def values(self):
        return {"instance": self.target, "groupname": "nginx", "vmid": "100",
                "__rate_interval": "30s", "__interval": "15s", "__range": "5m", "__range_s": "300",
                "datasource": "prometheus"}

    def check_every_target(self, name):
        d = load_dashboard(name)
        checked = 0
        for p in panels(d):
            for t in p.get("targets", []):
                expr = substitute(t["expr"], self.values())
                with self.subTest(panel=p["title"], refId=t["refId"]):
                    self.assertNotIn("$", expr)
                    result = prom_query(self.port, expr)
                    self.assertTrue(result, "%s / %s: %s returned nothing" % (p["title"], t["refId"], expr))
                checked += 1
        self.assertGreater(checked, 10)

    def test_groups_dashboard_queries(self):
        self.check_every_target("proctrack-groups.json")

    def test_pve_dashboard_queries(self):
        self.check_every_target("proctrack-pve.json")

    def test_template_variables_resolve(self):
        groups = {r["metric"]["groupname"] for r in prom_query(
            self.port, 'namedprocess_namegroup_num_procs{instance=~"%s"}' % self.target)}
        self.assertTrue({"nginx", "sshd", "qemu/100"} <= groups, groups)
        ids = {r["metric"]["id"] for r in prom_query(
            self.port, 'pve_kvm_info{instance=~"%s"}' % self.target)}
        self.assertEqual(ids, {"100"})
        self.assertEqual(prom_query(self.port, 'pve_kvm_info{id="100"}')[0]["metric"]["name"], "web")


if __name__ == "__main__":
    h.main()

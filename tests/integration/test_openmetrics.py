"""OpenMetrics 1.0.0 for a client that asks for it, as Prometheus does by default."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                     "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
OM_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"


class OpenMetricsTest(unittest.TestCase):
    def setUp(self):
        self.w = h.Workers()
        self.w.start("pt-om")
        cfg = h.write_config(self.w.dir, 'process_names:\n  - comm: [pt-om]\n    name: "om \\"q\\" \\\\ g"\n')
        self.s = h.start_proctrack("-config.path", cfg)

    def tearDown(self):
        self.s.close()
        self.w.stop()

    def scrape(self, accept):
        status, headers, body = self.s.request("GET", "/metrics", headers={"Accept": accept})
        self.assertEqual(status, 200)
        self.assertIn("Accept", headers["vary"])
        return headers["content-type"], body.decode("utf-8")

    def test_prometheus_default_accept_gets_openmetrics(self):
        ctype, om = self.scrape(PROMETHEUS_ACCEPT)
        self.assertEqual(ctype, OM_TYPE)
        self.assertTrue(om.endswith("\n# EOF\n"), om[-200:])
        self.assertEqual(om.count("# EOF"), 1)
        self.assertNotIn("\n\n", om)

        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", om, re.M))
        self.assertEqual(types["namedprocess_namegroup_cpu_seconds"], "counter")
        self.assertEqual(types["namedprocess_namegroup_num_threads"], "gauge")
        self.assertNotIn("untyped", types.values())
        for name, typ in types.items():
            self.assertIn(typ, ("counter", "gauge", "unknown"), name)
            if typ == "counter":
                self.assertFalse(name.endswith("_total"), name)
        helps = re.findall(r"^# HELP (\S+) ", om, re.M)
        self.assertEqual(sorted(helps), sorted(n for n in types if n in helps))

        # Each sample belongs to the family declared last; a counter's sample carries _total.
        family = None
        for line in om.splitlines():
            m = re.match(r"^# TYPE (\S+) (\S+)$", line)
            if m:
                family = m.group(1), m.group(2)
                continue
            if line.startswith("#"):
                continue
            name = re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            if family[1] == "counter":
                self.assertEqual(name, family[0] + "_total", line)
            else:
                self.assertEqual(name, family[0], line)
        self.assertIn('namedprocess_namegroup_num_procs{groupname="om \\"q\\" \\\\ g"} 1', om)

        # process-exporter's counters without _total are `unknown` families in OpenMetrics, so
        # that Prometheus stores them under the same names as from the text format (and from
        # process-exporter, which answers in the text format): its dashboards query those.
        for name in ("namedprocess_scrape_errors", "namedprocess_scrape_partial_errors",
                     "namedprocess_scrape_procread_errors"):
            self.assertIn("# TYPE %s unknown\n%s " % (name, name), om)

        # The same samples as the text format, apart from the headers.
        _, text = self.scrape("text/plain;version=0.0.4")
        def samples(body):
            names = [line.split(" ")[0] for line in body.splitlines()
                     if line and not line.startswith("#") and "scrape_duration" not in line]
            return sorted(names)
        bare = [n for n, t in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
                if t == "counter" and not n.endswith("_total")]
        self.assertEqual(len(bare), 3)
        self.assertEqual(samples(om), samples(text))

        # `promtool check metrics` reads only the text format (it would lint every OpenMetrics
        # counter as lacking HELP), so the checks above stand in for it.

    def test_text_format_otherwise(self):
        for accept in ("text/plain;version=0.0.4", "*/*", "application/openmetrics-text;version=0.0.1",
                       "application/openmetrics-text;q=0.4,text/plain;q=0.5"):
            ctype, body = self.scrape(accept)
            self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8", accept)
            self.assertNotIn("# EOF", body)
            self.assertIn("# TYPE namedprocess_namegroup_cpu_seconds_total counter", body)

    def test_openmetrics_gzip(self):
        status, headers, body = self.s.request(
            "GET", "/metrics", headers={"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "gzip")
        self.assertEqual(headers["content-type"], OM_TYPE)
        self.assertTrue(h.gunzip(body).decode().endswith("# EOF\n"))


if __name__ == "__main__":
    h.main()

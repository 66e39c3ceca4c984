"""Process names are written by whoever runs the process. Quotes, backslashes, newlines, braces,
control bytes, invalid UTF-8 and huge command lines in comm, argv and thread names must never
break or forge the exposition: promtool and a real Prometheus accept it, and no extra series
appear."""

import json
import re
import os
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

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

# comm is at most 15 bytes; each is one group under {{.Comm}}.
HOSTILE_COMMS = [
    b'pt"q',
    b'pt\\bs',
    b'pt\nnl',
    b'pt{}#',
    b'pt\x01\x1b\x7f',
    b'pt\xff\xfe',
    b'pt",x="y',
    b'pt} 1\n# HELP',
]
HOSTILE_THREADS = [b'th"1', b'th\n2', b'th\xff3', b'th\\4']
REWRITTEN = 'evil" } 1\n# TYPE x counter\nx{a="b"} 1'
HUGE = "h" * (70 * 1024)

CONFIG = """
process_names:
  - name: "rw:{{.Matches.all}}"
    comm: [pt-rewrite]
    cmdline: ['(?s)^(?P<all>.*)$']
  - name: "big:{{.Matches.all}}"
    comm: [pt-huge]
    cmdline: ['^\\S+ pt-huge sleep (?P<all>\\S+)']
  - name: "threads"
    comm: [pt-hostile-thr]
  - name: "{{.Comm}}"
    cmdline: ['^%(path)s ']
"""


def label_text(raw):
    """What a label value built from these bytes must read as after parsing."""
    return raw.decode("utf-8", "replace")


def prom_query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]["result"]


class HostileNamesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = h.Workers()
        path = cls.w.binary("pt_load").encode()
        cls.procs = []

        def start(argv):
            p = subprocess.Popen(argv, stdout=subprocess.PIPE)
            assert p.stdout.readline().strip() == b"ready"
            cls.w.procs.append(p)

        for comm in HOSTILE_COMMS:
            start([path, comm, b"sleep"])
        start([path, b"pt-rewrite", b"rewrite", REWRITTEN.encode()])
        start([path, b"pt-huge", b"sleep", HUGE.encode(), HUGE.encode()])
        start([path, b"pt-hostile-thr", b"threads"] + HOSTILE_THREADS)
        # Every other process of this test runs our copy of pt_load: match it by argv[0].
        cfg = CONFIG % {"path": re.escape(path.decode())}
        cls.config = h.write_config(cls.w.dir, cfg)
        cls.server = h.start_proctrack("-config.path", cls.config)
        cls.text = cls.server.scrape()
        cls.samples, cls.types = h.parse(cls.text)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.w.stop()

    def expected_groups(self):
        want = {label_text(c) for c in HOSTILE_COMMS}
        want.add("rw:" + REWRITTEN)
        want.add("big:" + HUGE)
        want.add("threads")
        return want

    def test_every_hostile_name_is_one_group_read_back_exactly(self):
        got, want = h.groups(self.samples), self.expected_groups()
        short = lambda names: sorted(n[:40] for n in names)  # noqa: E731
        self.assertEqual(short(got - want), [])
        self.assertEqual(short(want - got), [])
        for g in self.expected_groups():
            self.assertEqual(h.value(self.samples, "namedprocess_namegroup_num_procs", groupname=g), 1, repr(g))

    def test_no_extra_series_or_families(self):
        n = len(self.expected_groups())
        per_group = [k for k in self.samples if k[0] == "namedprocess_namegroup_num_procs"]
        self.assertEqual(len(per_group), n)
        families = {line.split(" ")[2] for line in self.text.split("\n") if line.startswith("# TYPE ")}
        self.assertTrue(all(f.startswith(("namedprocess_", "process_", "proctrack_")) for f in families), families)
        # Every sample line belongs to a family declared above it.
        for line in self.text.split("\n"):
            if line and not line.startswith("#"):
                name = line.split("{")[0].split(" ")[0]
                self.assertIn(name, families)

    def test_hostile_thread_names(self):
        names = {dict(k[1])["threadname"] for k in self.samples
                 if k[0] == "namedprocess_namegroup_thread_count" and dict(k[1])["groupname"] == "threads"}
        self.assertEqual(names, {label_text(t) for t in HOSTILE_THREADS} | {"pt-hostile-thr"})

    def test_valid_utf8_and_promtool(self):
        self.text.encode("utf-8")  # the text came through a strict decode already
        code, out = h.promtool_check(self.text)
        findings = [line for line in out.splitlines() if line.strip()]
        self.assertTrue(all("thread_count" in f for f in findings), out)

    @unittest.skipUnless(os.path.exists(PROMETHEUS), "prometheus is not installed")
    def test_real_prometheus_scrapes_it(self):
        tmp = tempfile.mkdtemp(prefix="pt-prom-")
        port = h.free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pt\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.server.port)
        prom = subprocess.Popen([PROMETHEUS, "--config.file", os.path.join(tmp, "prometheus.yml"),
                                 "--storage.tsdb.path", os.path.join(tmp, "data"),
                                 "--web.listen-address", "127.0.0.1:%d" % port],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            up = []
            while time.monotonic() < deadline:
                try:
                    up = prom_query(port, 'up{job="pt"}')
                    count = prom_query(port, 'count(namedprocess_namegroup_num_procs{job="pt"})')
                    if up and up[0]["value"][1] == "1" and count:
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertTrue(up and up[0]["value"][1] == "1", up)
            self.assertEqual(int(count[0]["value"][1]), len(self.expected_groups()))
            got = prom_query(port, 'namedprocess_namegroup_num_procs{groupname="rw:%s"}'
                             % REWRITTEN.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
            self.assertEqual(len(got), 1)
            forged = prom_query(port, 'x')
            self.assertEqual(forged, [])
        finally:
            prom.terminate()
            prom.wait(timeout=30)
            shutil.rmtree(tmp, ignore_errors=True)


class BacktrackingRegexTest(unittest.TestCase):
    """A config regex that backtracks without end (PCRE2 backtracks, Go's regexp does not) meets
    command lines written to trigger it: each match gives up at a bound, is counted and logged,
    and the process is left out of the group; the exporter goes on."""

    def test_catastrophic_regex_is_bounded_counted_and_logged(self):
        w = h.Workers()
        server = None
        try:
            evil = b"a" * 40 + b"!"
            for _ in range(10):
                w.start("pt-redos", argv0=evil)
            w.start("pt-redos-ok")
            cfg = h.write_config(w.dir, "process_names:\n"
                                        "  - name: evil\n"
                                        "    cmdline: ['^(a|aa)+$']\n"
                                        "  - name: ok\n"
                                        "    comm: [pt-redos-ok, pt-redos]\n")
            server = h.start_proctrack("-config.path", cfg)
            samples = h.parse(server.scrape())[0]
            # (At least: other processes of the machine meet the regex too.)
            errors = h.value(samples, "proctrack_regex_limit_errors_total")
            self.assertGreaterEqual(errors, 10)
            self.assertEqual(h.value(samples, "namedprocess_namegroup_num_procs", groupname="ok"), 11)
            self.assertIsNone(h.value(samples, "namedprocess_namegroup_num_procs", groupname="evil"))
            self.assertRegex(server.log(), r'level=warn msg="cmdline regex match gave up; [^"]*" count=%d '
                                           r'reason="match limit exceeded" '
                                           r'last_rule="process_names\[0\] \(.*:2:5\)"' % errors)
            # Known processes are not matched again.
            samples = h.parse(server.scrape())[0]
            self.assertEqual(h.value(samples, "proctrack_regex_limit_errors_total"), errors)
        finally:
            if server:
                server.stop()
            w.stop()


if __name__ == "__main__":
    h.main()

"""End-to-end: the built proctrack binary on a loopback port, real processes, real scrapes."""

import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

CONFIG = """
process_names:
  - name: "{{.Comm}}"
    comm: [pt-sleep]
  - exe: [pt-exe-base]
  - name: "role-{{.Matches.role}}"
    cmdline: ['--role=(?P<role>\\w+)']
  - name: "{{.Comm}}:{{.Username}}"
    comm: [pt-spin]
  - name: full
    exe: ['%(full)s']
  - name: "{{.Comm}}"
    comm: ['pt"x\\y', pt-writer]
"""


class ExporterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workers = h.Workers()
        w = cls.workers
        cls.full_path = w.binary("pt-full")
        for _ in range(3):
            w.start("pt-sleep")
        w.start("pt-other")  # matches nothing
        w.start("pt-exe", exe_name="pt-exe-base")
        w.start("pt-role", "sleep", "--role=alpha")
        w.start("pt-role", "sleep", "--role=alpha")
        w.start("pt-role", "sleep", "--role=beta")
        cls.spinner = w.start("pt-spin", "spin")
        w.start("pt-fullpath", exe_name="pt-full")
        w.start('pt"x\\y')
        cls.io_file = os.path.join(w.dir, "io.dat")
        w.start("pt-writer", "write", cls.io_file)
        cls.config = h.write_config(w.dir, CONFIG % {"full": cls.full_path})
        cls.server = h.start_proctrack("-config.path", cls.config)

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.workers.stop()
        assert code == 0, "proctrack exited with %s: %s" % (code, cls.server.log())

    def scrape(self):
        return h.parse(self.server.scrape())[0]

    def test_num_procs_exact_per_group_named_by_templates(self):
        s = self.scrape()
        user = pwd.getpwuid(os.geteuid()).pw_name
        want = {
            "pt-sleep": 3,
            "pt-exe-base": 1,
            "role-alpha": 2,
            "role-beta": 1,
            "pt-spin:" + user: 1,
            "full": 1,
            'pt"x\\y': 1,
            "pt-writer": 1,
        }
        self.assertEqual(h.groups(s), set(want))
        for g, n in want.items():
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname=g), n, g)
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_threads", groupname=g), n, g)

    def test_busy_process_cpu_grows(self):
        g = "pt-spin:" + pwd.getpwuid(os.geteuid()).pw_name
        first = h.value(self.scrape(), "namedprocess_namegroup_cpu_seconds_total", groupname=g, mode="user")
        time.sleep(1.0)
        second = h.value(self.scrape(), "namedprocess_namegroup_cpu_seconds_total", groupname=g, mode="user")
        self.assertGreater(second - first, 0.2)
        self.assertLess(second - first, 3.0)

    def test_written_bytes_grow(self):
        first = h.value(self.scrape(), "namedprocess_namegroup_write_bytes_total", groupname="pt-writer")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = h.value(self.scrape(), "namedprocess_namegroup_write_bytes_total", groupname="pt-writer")
            if now > first:
                break
        self.assertGreater(now, first)
        self.assertEqual(now % 4096, 0)

    def test_gauges_are_real(self):
        s = self.scrape()
        rss = h.value(s, "namedprocess_namegroup_memory_bytes", groupname="pt-sleep", memtype="resident")
        vsz = h.value(s, "namedprocess_namegroup_memory_bytes", groupname="pt-sleep", memtype="virtual")
        self.assertGreater(rss, 3 * 100 * 1024)
        self.assertGreater(vsz, rss)
        fds = h.value(s, "namedprocess_namegroup_open_filedesc", groupname="pt-sleep")
        self.assertGreaterEqual(fds, 3 * 3)
        ratio = h.value(s, "namedprocess_namegroup_worst_fd_ratio", groupname="pt-sleep")
        self.assertGreater(ratio, 0)
        self.assertLess(ratio, 1)
        oldest = h.value(s, "namedprocess_namegroup_oldest_start_time_seconds", groupname="pt-sleep")
        self.assertLess(abs(oldest - time.time()), 600)
        self.assertEqual(h.value(s, "namedprocess_namegroup_states", groupname="pt-sleep", state="Sleeping"), 3)
        self.assertEqual(h.value(s, "namedprocess_namegroup_states", groupname="pt-sleep", state="Running")
                         or 0, 0)

    def test_exposition_passes_promtool(self):
        text = self.server.scrape()
        code, out = h.promtool_check(text)
        self.assertEqual(code, 0, out)
        self.assertEqual(out.strip(), "")
        self.assertTrue(text.endswith("\n"))

    def test_types_and_self_metrics(self):
        s, types = h.parse(self.server.scrape())
        self.assertEqual(types["namedprocess_namegroup_cpu_seconds_total"], "counter")
        self.assertEqual(types["namedprocess_namegroup_memory_bytes"], "gauge")
        # process-exporter's names: counters without _total and without labels.
        for name in ("namedprocess_scrape_errors", "namedprocess_scrape_partial_errors",
                     "namedprocess_scrape_procread_errors"):
            self.assertEqual(types[name], "counter")
            self.assertEqual([k for k in s if k[0] == name], [(name, ())])
        self.assertEqual(h.value(s, "namedprocess_scrape_errors"), 0)
        self.assertEqual(h.value(s, "namedprocess_scrape_procread_errors"), 0)
        self.assertEqual(types["proctrack_read_errors_total"], "counter")
        self.assertIsNotNone(h.value(s, "proctrack_read_errors_total", file="io"))
        self.assertIsNotNone(h.value(s, "proctrack_scrape_duration_seconds"))
        builds = [dict(k[1]) for k in s if k[0] == "proctrack_build_info"]
        self.assertEqual(len(builds), 1)
        self.assertEqual(sorted(builds[0]), ["branch", "compiler", "revision", "version"])
        version = subprocess.run([h.PROCTRACK, "-version"], capture_output=True, text=True).stdout
        self.assertIn("version %s (branch: %s, revision: %s)" % (
            builds[0]["version"], builds[0]["branch"], builds[0]["revision"]), version)
        self.assertRegex(builds[0]["compiler"], r"^(gcc|clang) \d+\.\d+\.\d+$")

    def test_process_metrics_of_proctrack_itself(self):
        """client_golang's process collector: the same names and help texts as
        process-exporter's, the values those of proctrack's own /proc entry."""
        pid = self.server.proc.pid
        text = self.server.scrape()
        pe_help = {
            "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
            "process_max_fds": "Maximum number of open file descriptors.",
            "process_open_fds": "Number of open file descriptors.",
            "process_resident_memory_bytes": "Resident memory size in bytes.",
            "process_start_time_seconds": "Start time of the process since unix epoch in seconds.",
            "process_virtual_memory_bytes": "Virtual memory size in bytes.",
            "process_virtual_memory_max_bytes": "Maximum amount of virtual memory available in bytes.",
        }
        for name, help_text in pe_help.items():
            self.assertIn("# HELP %s %s\n" % (name, help_text), text)
        self.assertNotIn("go_", text)
        s, types = h.parse(text)
        self.assertEqual(types["process_cpu_seconds_total"], "counter")
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as f:
            btime = int([line for line in f if line.startswith("btime")][0].split()[1])
        tck = os.sysconf("SC_CLK_TCK")
        self.assertAlmostEqual(h.value(s, "process_start_time_seconds"), btime + int(stat[19]) / tck,
                               places=3)
        self.assertGreater(h.value(s, "process_cpu_seconds_total"), 0)
        self.assertAlmostEqual(h.value(s, "process_virtual_memory_bytes"), int(stat[20]),
                               delta=64 << 20)
        rss = h.value(s, "process_resident_memory_bytes")
        self.assertGreater(rss, 1 << 20)
        self.assertLess(rss, 256 << 20)
        fds = len(os.listdir("/proc/%d/fd" % pid))
        self.assertAlmostEqual(h.value(s, "process_open_fds"), fds, delta=3)
        soft = int([line for line in open("/proc/%d/limits" % pid) if line.startswith("Max open files")][0]
                   .split()[3])
        self.assertEqual(h.value(s, "process_max_fds"), soft)
        self.assertEqual(h.value(s, "process_virtual_memory_max_bytes"), float(2 ** 64 - 1))
        # Limits are read at every scrape: another process's prlimit() shows at once.
        subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:" % (soft - 7)], check=True)
        s = h.parse(self.server.scrape())[0]
        self.assertEqual(h.value(s, "process_max_fds"), soft - 7)

    def test_content_type_and_gzip(self):
        status, headers, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertNotIn("content-encoding", headers)
        status, headers, zbody = self.server.request("GET", "/metrics", {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("content-encoding"), "gzip")
        text = h.gunzip(zbody).decode()
        self.assertIn("namedprocess_namegroup_num_procs{groupname=\"pt-sleep\"} 3", text)
        status, headers, _ = self.server.request("GET", "/metrics", {"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("content-encoding", headers)

    def test_http_statuses(self):
        status, _, body = self.server.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b'href="/metrics"', body)
        self.assertIn(b"Version: ", body)
        self.assertIn(("Config: %s (6 rules)" % self.config).encode(), body)
        self.assertRegex(body, rb"Groups: (\d+)\nTracked processes: (\d+)")
        groups = int(__import__("re").search(rb"Groups: (\d+)", body).group(1))
        self.assertGreaterEqual(groups, 8)
        self.assertEqual(self.server.request("GET", "/nope")[0], 404)
        # As Prometheus and exporters answer them; the server starts after the first scan.
        for path, body in (("/-/healthy", b"proctrack is Healthy.\n"), ("/-/ready", b"proctrack is Ready.\n")):
            status, headers, got = self.server.request("GET", path)
            self.assertEqual((status, got), (200, body))
            self.assertTrue(headers["content-type"].startswith("text/plain"))
            self.assertEqual(self.server.request("HEAD", path)[0], 200)
            self.assertEqual(self.server.request("POST", path)[0], 405)
        status, headers, _ = self.server.request("POST", "/metrics")
        self.assertEqual(status, 405)
        self.assertIn("GET", headers.get("allow", ""))
        self.assertEqual(self.server.request("DELETE", "/")[0], 405)
        status, headers, body = self.server.request("HEAD", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertTrue(headers["content-type"].startswith("text/plain"))

    def test_exited_member_keeps_counters_and_group_stays(self):
        w = self.workers
        p = w.start("pt-sleep", "spin")  # joins pt-sleep and burns cpu
        time.sleep(0.5)
        s1 = self.scrape()
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-sleep"), 4)
        time.sleep(0.5)
        s2 = self.scrape()
        w.stop_one(p)
        s3 = self.scrape()
        cpu = [h.value(s, "namedprocess_namegroup_cpu_seconds_total", groupname="pt-sleep", mode="user")
               for s in (s1, s2, s3)]
        self.assertGreater(cpu[1], cpu[0])
        self.assertGreaterEqual(cpu[2], cpu[1])
        self.assertEqual(h.value(s3, "namedprocess_namegroup_num_procs", groupname="pt-sleep"), 3)


class CommandLineTest(unittest.TestCase):
    def run_pt(self, *args):
        return subprocess.run([h.PROCTRACK] + list(args), capture_output=True, timeout=30, text=True)

    def test_bad_config_stops_startup_with_position(self):
        with tempfile.TemporaryDirectory() as d:
            path = h.write_config(d, "process_names:\n  - name: x\n    cmdline: ['(unclosed']\n")
            port = h.free_port()
            r = self.run_pt("-config.path", path, "-web.listen-address", "127.0.0.1:%d" % port)
            self.assertEqual(r.returncode, 2)
            logged = h.log_find(r.stderr, "cannot load the config", level="error", config=path)
            self.assertEqual(len(logged), 1, r.stderr)
            self.assertTrue(logged[0]["err"].startswith("%s:3:15: " % path), logged[0])
            r = self.run_pt("-config.check", "-config.path", path)
            self.assertEqual(r.returncode, 2)
            self.assertIn("proctrack: %s:3:15: " % path, r.stderr)  # the check's report: plain
            path = h.write_config(d, "process_names:\n  - comm: [a]\n  - cmdline: ['b']\n")
            r = self.run_pt("-config.check", "-config.path", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("2 rules", r.stdout)
            missing = os.path.join(d, "missing.yml")
            r = self.run_pt("-config.path", missing)
            self.assertEqual(r.returncode, 2)
            logged = h.log_find(r.stderr, "cannot load the config", level="error", config=missing)
            self.assertEqual(len(logged), 1, r.stderr)
            self.assertIn("missing.yml", logged[0]["err"])

    def test_flags(self):
        r = self.run_pt("-nope")
        self.assertEqual(r.returncode, 2)
        self.assertIn("flag provided but not defined: -nope", r.stderr)
        self.assertIn("-web.listen-address", r.stderr)
        r = self.run_pt("-h")
        self.assertEqual(r.returncode, 0)
        self.assertIn("-config.path", r.stdout)
        r = self.run_pt("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("proctrack, version "))
        r = self.run_pt("-config.check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_missing_procfs_is_a_clear_startup_error(self):
        r = self.run_pt("-procfs", "/nonexistent", "-web.listen-address", "127.0.0.1:%d" % h.free_port())
        self.assertEqual(r.returncode, 1)
        logged = h.log_find(r.stderr, "cannot start the exporter", level="error", procfs="/nonexistent")
        self.assertEqual(len(logged), 1, r.stderr)
        self.assertIn("/nonexistent", logged[0]["err"])

    def test_port_in_use_is_a_clear_startup_error(self):
        s = h.start_proctrack()
        try:
            r = self.run_pt("-web.listen-address", "127.0.0.1:%d" % s.port)
            self.assertEqual(r.returncode, 1)
            logged = h.log_find(r.stderr, "cannot serve", level="error")
            self.assertEqual(len(logged), 1, r.stderr)
            self.assertIn(str(s.port), logged[0]["err"])
        finally:
            s.close()

    def test_default_config_groups_by_comm(self):
        w = h.Workers()
        try:
            w.start("pt-default")
            w.start("pt-default")
            s = h.start_proctrack()
            try:
                samples = h.parse(s.scrape())[0]
                self.assertEqual(h.value(samples, "namedprocess_namegroup_num_procs", groupname="pt-default"), 2)
                # Kernel threads have no command line and are left out.
                self.assertNotIn("kthreadd", h.groups(samples))
            finally:
                self.assertEqual(s.stop(), 0)
        finally:
            w.stop()

    def test_fixture_procfs(self):
        cfg = "process_names:\n  - name: '{{.Comm}}'\n    cmdline: ['.+']\n"
        with tempfile.TemporaryDirectory() as d:
            s = h.start_proctrack("-procfs", os.path.join(h.FIXTURES, "proc"),
                                  "-config.path", h.write_config(d, cfg))
            try:
                samples = h.parse(s.scrape())[0]
            finally:
                s.close()
        # kthreadd and the zombie have empty command lines; only "a) (b" matches.
        self.assertEqual(h.groups(samples), {"a) (b"})
        v = lambda n, **kw: h.value(samples, "namedprocess_namegroup_" + n, groupname="a) (b", **kw)
        self.assertEqual(v("num_procs"), 1)
        self.assertEqual(v("num_threads"), 3)
        self.assertEqual(v("open_filedesc"), 5)
        self.assertEqual(v("worst_fd_ratio"), 5 / 20000)
        hz = os.sysconf("SC_CLK_TCK")
        self.assertEqual(v("oldest_start_time_seconds"), 1795236808 + 63208 // hz)
        self.assertEqual(v("memory_bytes", memtype="virtual"), 19320832)
        self.assertEqual(v("memory_bytes", memtype="resident"), 303 * os.sysconf("SC_PAGE_SIZE"))
        self.assertEqual(v("states", state="Sleeping"), 1)
        # First sight at start-up is the baseline: nothing counted yet.
        self.assertEqual(v("write_bytes_total"), 0)

    def test_sigterm_and_sigint_stop_cleanly(self):
        for sig in ("SIGTERM", "SIGINT"):
            s = h.start_proctrack()
            s.proc.send_signal(getattr(signal, sig))
            self.assertEqual(s.proc.wait(timeout=10), 0, s.log())
            s.stop()


if __name__ == "__main__":
    h.main()

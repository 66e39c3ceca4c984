"""`always: true` (a proctrack extension): a configured group has its series, num_procs 0, from the
first scrape on, before its first process and after its last, with -remove-empty-groups too; its
counters never go back. process-exporter ignores the key, as any unknown key."""

import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

CONFIG = """process_names:
  - name: pt-svc
    always: true
    comm: [pt-alw]
  - name: pt-other
    comm: [pt-alw-other]
"""
RELOADED = CONFIG + """  - name: "pt-later"
    always: yes
    comm: [pt-alw-later]
"""
TEMPLATED = CONFIG + """  - name: "{{.Comm}}"
    always: true
    comm: [pt-alw-later]
"""
OPENMETRICS = "application/openmetrics-text;version=1.0.0"


def group_series(samples, group):
    """{(name, labels without groupname): value} of one group."""
    out = {}
    for (name, labels), v in samples.items():
        d = dict(labels)
        if d.pop("groupname", None) == group:
            out[(name, tuple(sorted(d.items())))] = v
    return out


class AlwaysTest(unittest.TestCase):
    def setUp(self):
        self.w = h.Workers()
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.close()
        self.w.stop()

    def scrape(self):
        text = self.server.scrape()
        samples, types = h.parse(text)
        return text, samples, types

    def assert_counters_kept(self, before, after, types):
        for key, v in before.items():
            if types.get(key[0]) == "counter":
                self.assertIn(key, after)
                self.assertGreaterEqual(after[key], v, key)

    def test_group_is_there_before_and_after_its_processes(self):
        path = h.write_config(self.w.dir, CONFIG)
        self.server = h.start_proctrack("-config.path", path, "-threads", "-remove-empty-groups")
        text, s0, types = self.scrape()
        self.assertEqual(h.value(s0, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 0)
        self.assertNotIn("pt-other", h.groups(s0))  # an ordinary group waits for a process
        svc0 = group_series(s0, "pt-svc")
        for key, v in svc0.items():
            self.assertEqual(v, 0, key)
        # The series of an empty group: every group family but the oldest start time (left out
        # when a group has no process), no thread or wchan series.
        names = {name for name, _ in svc0}
        self.assertNotIn("namedprocess_namegroup_oldest_start_time_seconds", names)
        self.assertIn(("namedprocess_namegroup_states", (("state", "Running"),)), svc0)
        self.assertIn(("namedprocess_namegroup_cpu_seconds_total", (("mode", "user"),)), svc0)
        self.assertFalse([n for n in names if "thread_" in n or "wchan" in n], names)
        rc, out = h.promtool_check(text)
        self.assertEqual(rc, 0, out)

        # OpenMetrics: the same group, typed.
        status, _, body = self.server.request("GET", "/metrics", headers={"Accept": OPENMETRICS})
        self.assertEqual(status, 200)
        om = body.decode()
        self.assertIn('namedprocess_namegroup_num_procs{groupname="pt-svc"} 0\n', om)
        self.assertIn('namedprocess_namegroup_cpu_seconds_total{groupname="pt-svc",mode="user"} 0', om)
        self.assertTrue(om.endswith("# EOF\n"))

        # Its first process: counted, from its birth.
        p = self.w.start("pt-alw", "spin")
        other = self.w.start("pt-alw-other")
        time.sleep(0.4)
        text, s1, types = self.scrape()
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 1)
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-other"), 1)
        self.assertGreater(h.value(s1, "namedprocess_namegroup_cpu_seconds_total",
                                   groupname="pt-svc", mode="user"), 0)
        svc1 = group_series(s1, "pt-svc")
        self.assertIn("namedprocess_namegroup_oldest_start_time_seconds", {n for n, _ in svc1})
        self.assert_counters_kept(svc0, svc1, types)
        rc, out = h.promtool_check(text)
        self.assertEqual(rc, 0, out)

        # Both exit: the always group stays at 0 with its counters, the other one goes
        # (-remove-empty-groups).
        self.w.stop_one(p)
        self.w.stop_one(other)
        text, s2, types = self.scrape()
        self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 0)
        self.assertNotIn("pt-other", h.groups(s2))
        svc2 = group_series(s2, "pt-svc")
        self.assert_counters_kept(svc1, svc2, types)
        self.assertEqual(h.value(s2, "namedprocess_namegroup_states", groupname="pt-svc", state="Running"), 0)
        rc, out = h.promtool_check(text)
        self.assertEqual(rc, 0, out)

        # And again.
        p = self.w.start("pt-alw", "spin")
        time.sleep(0.3)
        _, s3, types = self.scrape()
        self.assertEqual(h.value(s3, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 1)
        svc3 = group_series(s3, "pt-svc")
        self.assert_counters_kept(svc2, svc3, types)
        self.assertGreater(h.value(s3, "namedprocess_namegroup_cpu_seconds_total", groupname="pt-svc", mode="user"),
                           h.value(s2, "namedprocess_namegroup_cpu_seconds_total", groupname="pt-svc", mode="user"))

    def test_reload_adds_always_groups_and_refuses_a_templated_one(self):
        path = h.write_config(self.w.dir, CONFIG)
        self.server = h.start_proctrack("-config.path", path)
        _, s0, _ = self.scrape()
        self.assertNotIn("pt-later", h.groups(s0))

        h.write_config(self.w.dir, RELOADED)
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(h.wait_for_log(self.server, "config reloaded", level="info", config=path, rules=3),
                        self.server.log())
        _, s1, _ = self.scrape()
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-later"), 0)
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 0)

        h.write_config(self.w.dir, TEMPLATED)
        self.server.proc.send_signal(signal.SIGHUP)
        failed = h.wait_for_log(self.server, "config reload failed, keeping the current config", level="error",
                                config=path)
        self.assertTrue(failed, self.server.log())
        self.assertEqual(failed[0]["err"],
                         '%s:8:13: "always: true" needs a literal name, not the template "{{.Comm}}": '
                         'a templated name is known only when a process matches' % path)
        _, s2, _ = self.scrape()
        self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="pt-later"), 0)
        self.assertEqual(h.value(s2, "proctrack_config_last_reload_successful"), 0)

    def test_explain_lists_the_group_without_a_process(self):
        self.w.start("pt-alw-other")
        path = h.write_config(self.w.dir, CONFIG.replace("comm: [pt-alw-other]", "comm: [pt-alw-other]\n    always: true"))
        r = subprocess.run([h.PROCTRACK, "-config.path", path, "-explain"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = r.stdout.rstrip("\n").split("\n")
        always = [row for row in rows if row.startswith("-")]
        self.assertEqual(len(always), 1, r.stdout)
        self.assertRegex(always[0], r"^-\s+-\s+pt-svc\s+process_names\[0\] \(.*\(always: true, no process\)$")
        self.assertTrue([row for row in rows if re.search(r"pt-alw-other\s+pt-other\s+process_names\[1\]", row)],
                        r.stdout)

    @unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
    def test_process_exporter_ignores_the_key_and_empty_groups_look_alike(self):
        """The same config loads in process-exporter, which ignores `always` (yaml.v2, not
        strict) and so has no series for the group until a process joins it. Once that process
        has exited, its group has the series proctrack gives the always group from the start,
        but for the oldest start time (its -62135596800, which proctrack leaves out)."""
        path = h.write_config(self.w.dir, CONFIG + '  - {name: "{{.Comm}}", always: maybe, comm: [pt-alw-x]}\n')
        self.server = h.start_process_exporter("-config.path", path, "-threads")
        _, s0, _ = self.scrape()
        self.assertNotIn("pt-svc", h.groups(s0))
        p = self.w.start("pt-alw", "threads", "pt-alw-t1", "pt-alw-t2")
        time.sleep(0.2)
        _, s1, _ = self.scrape()
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="pt-svc"), 1)
        self.assertIn("namedprocess_namegroup_thread_count", {n for n, _ in group_series(s1, "pt-svc")})
        self.w.stop_one(p)
        _, s2, _ = self.scrape()
        pe_empty = group_series(s2, "pt-svc")
        self.assertEqual(pe_empty.pop(("namedprocess_namegroup_oldest_start_time_seconds", ())), -62135596800)
        self.server.close()

        # proctrack refuses what process-exporter ignored: a templated always item, a value that
        # is not a boolean.
        r = subprocess.run([h.PROCTRACK, "-config.check", "-config.path", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('%s:7:33: "always" must be true or false, not "maybe"' % path, r.stderr)
        path = h.write_config(self.w.dir, CONFIG)
        self.server = h.start_proctrack("-config.path", path, "-threads")
        _, s3, _ = self.scrape()
        ours = group_series(s3, "pt-svc")
        self.assertEqual(sorted(ours), sorted(pe_empty))
        for key in ours:
            if not key[0].endswith("_total"):
                self.assertEqual(ours[key], pe_empty[key], key)  # gauges at 0 in both

if __name__ == "__main__":
    h.main()

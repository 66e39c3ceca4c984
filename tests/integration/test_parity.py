"""Full parity with the real process-exporter (Debian's package) on a multi-threaded load
generator: groups, process and thread counts, thread names, memory, families and label names.
Where proctrack deliberately differs (states and wchan count every thread once), the test asserts
proctrack's value."""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

CONFIG = """
process_names:
  - name: "{{.Comm}}"
    comm: [pt-loadgen-a, pt-loadgen-b]
"""


def series(samples, name, **match):
    """{label tuple: value} of a family, filtered by label values."""
    out = {}
    for (n, labels), v in samples.items():
        d = dict(labels)
        if n == name and all(d.get(k) == val for k, val in match.items()):
            out[labels] = v
    return out


@unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
class ParityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = h.Workers()
        loadgen = os.path.join(h.HELPERS, "pt_loadgen")
        cls.gens = []
        for comm in ("pt-loadgen-a", "pt-loadgen-b"):
            p = subprocess.Popen([loadgen, comm, os.path.join(cls.dir.dir, comm + ".dat")],
                                 stdout=subprocess.PIPE)
            assert p.stdout.readline().strip() == b"ready"
            cls.gens.append(p)
        config = h.write_config(cls.dir.dir, CONFIG)
        cls.pt = h.start_proctrack("-config.path", config)
        cls.pe = h.start_process_exporter("-config.path", config)
        time.sleep(1.0)  # let the busy threads accumulate some CPU and I/O
        cls.pt_samples = h.parse(cls.pt.scrape())[0]
        cls.pe_samples = h.parse(cls.pe.scrape())[0]

    @classmethod
    def tearDownClass(cls):
        cls.pt.close()
        cls.pe.close()
        for p in cls.gens:
            p.terminate()
            p.wait(timeout=10)
        cls.dir.stop()

    def test_groups_procs_and_threads_match(self):
        self.assertEqual(h.groups(self.pt_samples), {"pt-loadgen-a", "pt-loadgen-b"})
        self.assertEqual(h.groups(self.pt_samples), h.groups(self.pe_samples))
        for g in ("pt-loadgen-a", "pt-loadgen-b"):
            for fam in ("num_procs", "num_threads"):
                name = "namedprocess_namegroup_" + fam
                self.assertEqual(h.value(self.pt_samples, name, groupname=g),
                                 h.value(self.pe_samples, name, groupname=g), "%s %s" % (fam, g))
            # The forked child joins its parent's group through -children.
            self.assertEqual(h.value(self.pt_samples, "namedprocess_namegroup_num_procs", groupname=g), 2)
            self.assertEqual(h.value(self.pt_samples, "namedprocess_namegroup_num_threads", groupname=g), 7)

    def test_thread_count_per_name_matches(self):
        pt = series(self.pt_samples, "namedprocess_namegroup_thread_count")
        pe = series(self.pe_samples, "namedprocess_namegroup_thread_count")
        self.assertEqual(pt, pe)
        want = {"pt-loadgen-a": 1, "pt-userbusy": 1, "pt-sysbusy": 1, "pt-waiting": 1, "pt-idle": 2}
        got = {dict(k)["threadname"]: v for k, v in pt.items() if dict(k)["groupname"] == "pt-loadgen-a"}
        self.assertEqual(got, want)

    def test_resident_memory_within_a_few_percent(self):
        for g in ("pt-loadgen-a", "pt-loadgen-b"):
            a = h.value(self.pt_samples, "namedprocess_namegroup_memory_bytes", groupname=g, memtype="resident")
            b = h.value(self.pe_samples, "namedprocess_namegroup_memory_bytes", groupname=g, memtype="resident")
            self.assertLess(abs(a - b), max(0.05 * b, 256 * 1024), g)
            p = h.value(self.pt_samples, "namedprocess_namegroup_memory_bytes", groupname=g,
                        memtype="proportionalResident")
            self.assertGreater(p, 0)
            self.assertLessEqual(p, a)

    def test_same_families_and_label_names(self):
        pt = h.families(self.pt_samples)
        pe = h.families(self.pe_samples)
        self.assertEqual(set(pt), set(pe))
        for name in pt:
            self.assertEqual(pt[name], pe[name], name)

    def test_same_error_counters_and_process_metrics(self):
        """The families every dashboard of process-exporter, and of exporters in general, reads
        besides the groups': the same name, type, help and labels (none)."""
        def headers(text):
            return {line for line in text.splitlines()
                    if re.match(r"^# (HELP|TYPE) (namedprocess_scrape_|process_(?!exporter_))", line)}
        pt_text, pe_text = self.pt.scrape(), self.pe.scrape()
        self.assertEqual(headers(pt_text), headers(pe_text))
        self.assertEqual(len(headers(pe_text)), 2 * 10)
        pt_samples, pe_samples = h.parse(pt_text)[0], h.parse(pe_text)[0]
        for name, labels in pe_samples:
            if name.startswith(("namedprocess_scrape_", "process_")) and "build_info" not in name:
                self.assertIn((name, labels), pt_samples)
        self.assertEqual(h.value(pt_samples, "namedprocess_scrape_errors"), 0)

    def test_states_and_wchan_count_each_thread_once(self):
        for g in ("pt-loadgen-a", "pt-loadgen-b"):
            threads = h.value(self.pt_samples, "namedprocess_namegroup_num_threads", groupname=g)
            states = sum(series(self.pt_samples, "namedprocess_namegroup_states", groupname=g).values())
            self.assertEqual(states, threads)
            # process-exporter counts each multi-threaded process's main thread twice (its #338).
            pe_states = sum(series(self.pe_samples, "namedprocess_namegroup_states", groupname=g).values())
            self.assertEqual(pe_states, threads + 1)
            running = h.value(self.pt_samples, "namedprocess_namegroup_states", groupname=g, state="Running")
            self.assertGreaterEqual(running, 1)  # the spinning thread
            wchan = sum(series(self.pt_samples, "namedprocess_namegroup_threads_wchan", groupname=g).values())
            self.assertLessEqual(wchan, threads - running)
            self.assertGreaterEqual(wchan, 3)

    def test_busy_threads_show_their_work(self):
        g = "pt-loadgen-a"
        user = h.value(self.pt_samples, "namedprocess_namegroup_thread_cpu_seconds_total", groupname=g,
                       threadname="pt-userbusy", mode="user")
        self.assertGreater(user, 0.1)
        written = h.value(self.pt_samples, "namedprocess_namegroup_thread_io_bytes_total", groupname=g,
                          threadname="pt-sysbusy", iomode="write")
        self.assertGreater(written, 0)
        idle = h.value(self.pt_samples, "namedprocess_namegroup_thread_cpu_seconds_total", groupname=g,
                       threadname="pt-idle", mode="user")
        self.assertLess(idle, 0.05)
        vol = h.value(self.pt_samples, "namedprocess_namegroup_thread_context_switches_total", groupname=g,
                      threadname="pt-sysbusy", ctxswitchtype="voluntary")
        self.assertGreater(vol, 0)

    def test_only_lint_finding_is_thread_count(self):
        code, out = h.promtool_check(self.pt.scrape())
        findings = [line for line in out.splitlines() if line.strip()]
        self.assertTrue(all("namedprocess_namegroup_thread_count" in f for f in findings), out)


if __name__ == "__main__":
    h.main()

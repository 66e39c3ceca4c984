"""Run as an unprivileged user, proctrack reports what anyone may read (CPU, memory, threads,
states) of other users' processes, counts what it could not read, and never fails a scrape."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

NOBODY = 65534
SETPRIV = shutil.which("setpriv")


@unittest.skipUnless(os.geteuid() == 0 and SETPRIV, "needs root and setpriv to drop to nobody")
class NonRootTest(unittest.TestCase):
    def test_partial_metrics_as_nobody(self):
        w = h.Workers()
        tmp = tempfile.mkdtemp(prefix="pt-nonroot-")
        server = None
        try:
            os.chmod(tmp, 0o755)
            binary = os.path.join(tmp, "proctrack")
            shutil.copy(h.PROCTRACK, binary)
            os.chmod(binary, 0o755)
            cfg = os.path.join(tmp, "config.yml")
            with open(cfg, "w") as f:
                f.write("process_names:\n  - name: root-owned\n    comm: [pt-rootproc]\n")
            os.chmod(cfg, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            w.start("pt-rootproc", "spin")  # a root process, as the monitored ones are
            port = h.free_port()
            server = h.Server([SETPRIV, "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                               "--inh-caps=-all", binary, "-web.listen-address", "127.0.0.1:%d" % port,
                               "-config.path", cfg], port)
            with open("/proc/%d/status" % server.proc.pid) as f:
                self.assertEqual(int(f.read().split("Uid:")[1].split()[1]), NOBODY)
            s = h.parse(server.scrape())[0]
            s = h.parse(server.scrape())[0]
            g = "root-owned"
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname=g), 1)
            self.assertGreater(h.value(s, "namedprocess_namegroup_memory_bytes", groupname=g, memtype="resident"), 0)
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_threads", groupname=g), 1)
            self.assertEqual(h.value(s, "namedprocess_namegroup_states", groupname=g, state="Running")
                             + h.value(s, "namedprocess_namegroup_states", groupname=g, state="Sleeping"), 1)
            self.assertIsNotNone(h.value(s, "namedprocess_namegroup_cpu_seconds_total", groupname=g, mode="user"))
            # What needs ptrace rights on another user's process is counted, not fatal.
            self.assertGreater(h.value(s, "proctrack_read_errors_total", file="io"), 0)
            self.assertGreater(h.value(s, "namedprocess_scrape_partial_errors"), 0)
            # The fd count: from the size of /proc/PID/fd, which Linux >= 6.2 gives anyone, or an
            # error counted when the directory must be listed.
            self.assertTrue(h.value(s, "namedprocess_namegroup_open_filedesc", groupname=g) > 0
                            or h.value(s, "proctrack_read_errors_total", file="fd") > 0)
            self.assertEqual(h.value(s, "namedprocess_scrape_errors"), 0)
            self.assertEqual(h.value(s, "namedprocess_namegroup_read_bytes_total", groupname=g), 0)
        finally:
            if server:
                server.stop()
            w.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main()

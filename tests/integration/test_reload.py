"""SIGHUP reloads the config: groups that still exist keep their counters, processes are matched
under the new rules, and a config that does not load is rejected while the old one stays."""

import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

V1 = """process_names:
  - {name: a, comm: [pt-ra]}
  - {name: b, comm: [pt-rb]}
"""
V2 = """process_names:
  - {name: a, comm: [pt-ra]}
  - {name: c, comm: [pt-rb]}
  - {name: d, comm: [pt-rd]}
"""
BROKEN = """process_names:
  - {name: a, comm: [pt-ra]}
  - name: e
    cmdline: ['(unclosed']
"""


class ReloadTest(unittest.TestCase):
    def test_sighup_reload(self):
        w = h.Workers()
        server = None
        try:
            w.start("pt-ra", "spin")
            w.start("pt-rb")
            path = h.write_config(w.dir, V1)
            server = h.start_proctrack("-config.path", path)
            time.sleep(0.5)
            s1 = h.parse(server.scrape())[0]
            cpu1 = h.value(s1, "namedprocess_namegroup_cpu_seconds_total", groupname="a", mode="user")
            self.assertGreater(cpu1, 0)
            self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname="b"), 1)
            self.assertEqual(h.value(s1, "proctrack_config_rules"), 2)
            self.assertEqual(h.value(s1, "proctrack_config_last_reload_successful"), 1)
            loaded1 = h.value(s1, "proctrack_config_last_reload_success_timestamp_seconds")
            self.assertLess(abs(loaded1 - time.time()), 60)
            self.assertIn(b"(2 rules)", server.request("GET", "/")[2])

            h.write_config(w.dir, V2)
            server.proc.send_signal(signal.SIGHUP)
            self.assertTrue(h.wait_for_log(server, "config reloaded", level="info", config=path, rules=3),
                            server.log())
            w.start("pt-rd")
            time.sleep(0.3)
            s2 = h.parse(server.scrape())[0]
            cpu2 = h.value(s2, "namedprocess_namegroup_cpu_seconds_total", groupname="a", mode="user")
            self.assertGreater(cpu2, cpu1)  # the same group goes on counting
            self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="a"), 1)
            self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="c"), 1)
            self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="b"), 0)
            self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname="d"), 1)
            self.assertEqual(h.value(s2, "proctrack_config_rules"), 3)
            self.assertEqual(h.value(s2, "proctrack_config_last_reload_successful"), 1)
            loaded2 = h.value(s2, "proctrack_config_last_reload_success_timestamp_seconds")
            self.assertGreater(loaded2, loaded1)
            self.assertIn(b"(3 rules)", server.request("GET", "/")[2])

            h.write_config(w.dir, BROKEN)
            server.proc.send_signal(signal.SIGHUP)
            failed = h.wait_for_log(server, "config reload failed, keeping the current config", level="error",
                                    config=path)
            self.assertTrue(failed, server.log())
            self.assertTrue(failed[0]["err"].startswith("%s:4:15: bad cmdline regex" % path), failed[0])
            s3 = h.parse(server.scrape())[0]
            self.assertEqual(h.value(s3, "namedprocess_namegroup_num_procs", groupname="c"), 1)
            self.assertEqual(h.value(s3, "namedprocess_namegroup_num_procs", groupname="d"), 1)
            self.assertIsNone(h.value(s3, "namedprocess_namegroup_num_procs", groupname="e"))
            self.assertEqual(h.value(s3, "proctrack_config_rules"), 3)
            self.assertEqual(h.value(s3, "proctrack_config_last_reload_successful"), 0)
            self.assertEqual(h.value(s3, "proctrack_config_last_reload_success_timestamp_seconds"), loaded2)
            self.assertIn(b"(3 rules; the last reload failed)", server.request("GET", "/")[2])

            h.write_config(w.dir, V1)
            server.proc.send_signal(signal.SIGHUP)
            self.assertTrue(h.wait_for_log(server, "config reloaded", level="info", config=path, rules=2),
                            server.log())
            s4 = h.parse(server.scrape())[0]
            self.assertEqual(h.value(s4, "proctrack_config_last_reload_successful"), 1)
            self.assertEqual(h.value(s4, "proctrack_config_rules"), 2)
            self.assertIsNone(server.proc.poll())
        finally:
            if server:
                server.stop()
            w.stop()


    def test_http_reload_only_when_enabled(self):
        w = h.Workers()
        servers = []
        try:
            w.start("pt-rb")
            path = h.write_config(w.dir, V1)
            plain = h.start_proctrack("-config.path", path)
            servers.append(plain)
            lifecycle = h.start_proctrack("-config.path", path, "-web.enable-lifecycle")
            servers.append(lifecycle)
            self.assertEqual(plain.request("POST", "/-/reload")[0], 404)
            h.write_config(w.dir, V2)
            status, _, body = lifecycle.request("POST", "/-/reload")
            self.assertEqual((status, body), (200, b"OK\n"))
            s = h.parse(lifecycle.scrape())[0]
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="c"), 1)
            self.assertEqual(lifecycle.request("GET", "/-/reload")[0], 405)
            h.write_config(w.dir, BROKEN)
            status, _, body = lifecycle.request("POST", "/-/reload")
            self.assertEqual(status, 500)
            self.assertIn(b"4:15: bad cmdline regex", body)
            s = h.parse(lifecycle.scrape())[0]
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="c"), 1)
        finally:
            for s in servers:
                s.stop()
            w.stop()


if __name__ == "__main__":
    h.main()

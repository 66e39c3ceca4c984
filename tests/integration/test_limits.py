"""RLIMIT_NOFILE at start-up: too few descriptors is a clear error that names the limit needed,
never a daemon that starts and then spins in accept() without serving; a limit that is just
enough serves; a soft limit below the hard one is raised."""

import concurrent.futures
import http.client
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

REFUSED = "too few file descriptors allowed (RLIMIT_NOFILE)"


def errors(samples):
    return sum(v for (name, _), v in samples.items()
               if name in ("namedprocess_scrape_procread_errors", "namedprocess_scrape_partial_errors",
                           "namedprocess_scrape_errors"))


class NofileTest(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.w = h.Workers()

    def tearDown(self):
        for s in self.servers:
            s.stop()
        self.w.stop()

    def run_limited(self, nofile, *args):
        argv = ["prlimit", "--nofile=%s" % nofile, h.PROCTRACK, "-web.listen-address", "127.0.0.1:0"]
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=30)

    def refused(self, nofile, *args):
        r = self.run_limited(nofile, *args)
        self.assertEqual(r.returncode, 1, r.stderr)
        found = h.log_find(r.stderr, REFUSED, level="error")
        self.assertEqual(len(found), 1, r.stderr)
        self.assertNotIn("serving", r.stderr)
        return found[0]

    def serve(self, nofile, *args):
        port = h.free_port()
        s = h.Server(["prlimit", "--nofile=%s" % nofile, h.PROCTRACK, "-web.listen-address",
                      "127.0.0.1:%d" % port] + list(args), port)
        self.servers.append(s)
        return s

    def test_ulimit_6_exits_and_says_what_it_needs(self):
        start = time.monotonic()
        line = self.refused(6)
        self.assertLess(time.monotonic() - start, 20)
        self.assertEqual(line["limit"], "6")
        self.assertEqual(line["hard_limit"], "6")
        need = int(line["need"])
        self.assertGreater(need, 6)
        self.assertLess(need, 64)

    def test_a_limit_just_enough_serves_and_one_less_does_not(self):
        need = int(self.refused(6)["need"])
        self.assertEqual(self.refused(need - 1)["need"], str(need))
        # Every process of the host is listed and its stat read, but only these are tracked, so
        # that a file unread counts as an error only for want of a descriptor (host processes
        # can have files that root cannot read either).
        self.w.start("pt-nofile", "threads", "pt-nofile-a", "pt-nofile-b")
        self.w.start("pt-nofile")
        cfg = h.write_config(self.w.dir, "process_names:\n  - comm: [pt-nofile]\n")
        s = self.serve(need, "-config.path", cfg)
        log = s.log()
        # Room for the minimum of connections only: the limit is lowered to fit, and said.
        lowered = h.log_find(log, "fewer connections than -web.max-connections fit under RLIMIT_NOFILE",
                             level="warn")
        self.assertEqual(len(lowered), 1, log)
        conns = int(lowered[0]["max_connections"])
        self.assertGreaterEqual(conns, 1)
        first = h.parse(s.scrape())[0]
        self.assertEqual(h.value(first, "namedprocess_namegroup_num_procs", groupname="pt_load"), 2)
        self.assertEqual(h.value(first, "namedprocess_namegroup_num_threads", groupname="pt_load"), 4)
        self.assertEqual(errors(first), 0)
        # Every connection open at once, each scraping five times (kept alive, so that no slot waits
        # for libmicrohttpd to clean up a closed one): each answered in full, and no file went
        # unread for want of a descriptor.
        def scrape_five(_):
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=20)
            try:
                bodies = []
                for _ in range(5):
                    conn.request("GET", "/metrics")
                    resp = conn.getresponse()
                    bodies.append((resp.status, resp.read().decode()))
                return bodies
            finally:
                conn.close()

        with concurrent.futures.ThreadPoolExecutor(conns) as pool:
            for bodies in pool.map(scrape_five, range(conns)):
                for status, body in bodies:
                    self.assertEqual(status, 200)
                    self.assertIn("namedprocess_namegroup_num_procs", body)
        # A slot is free again once libmicrohttpd has cleaned up its closed connection.
        deadline = time.monotonic() + 10
        while True:
            try:
                last = s.scrape()
                break
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.assertEqual(errors(h.parse(last)[0]), 0)
        self.assertEqual(s.stop(), 0)
        self.assertNotIn("Too many open files", s.log())

    def test_the_soft_limit_is_raised_to_the_hard_one(self):
        # 1,024 connections and their headroom fit under 4,096; the default 4,096 would not.
        s = self.serve("6:4096", "-web.max-connections", "1024")
        raised = h.log_find(s.log(), "raised the file descriptor limit", level="info")
        self.assertEqual(len(raised), 1, s.log())
        self.assertEqual((raised[0]["from"], raised[0]["to"]), ("6", "4096"))
        with open("/proc/%d/limits" % s.proc.pid) as f:
            limits = f.read()
        self.assertRegex(limits, re.compile(r"^Max open files\s+4096\s+4096\s", re.M))
        s.scrape()
        self.assertEqual(h.log_find(s.log(), "fewer connections than -web.max-connections fit under RLIMIT_NOFILE"),
                         [])

    def test_modes_that_do_not_serve_need_fewer(self):
        serving = int(self.refused(6)["need"])
        once = self.refused(6, "-once-to-stdout-delay", "1ms")
        self.assertLess(int(once["need"]), serving)
        r = self.run_limited(once["need"], "-once-to-stdout-delay", "1ms")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("namedprocess_namegroup_num_procs", r.stdout)
        self.assertNotIn("Too many open files", r.stderr)


if __name__ == "__main__":
    h.main()

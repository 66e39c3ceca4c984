"""Bad clients: slow and idle connections (a slowloris) do not keep a real scrape from being
answered, a load test gets only 200s with bounded memory, and oversized or unknown requests get
4xx. Everything on loopback; every loop is bounded in time."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

WRK = shutil.which("wrk")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    return s


LOGFMT_FIELD = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?: |$)')


def parse_logfmt(line):
    """The fields of one logfmt line, in order, quoted values unescaped; fails on anything
    else, so that a line that is not logfmt cannot pass."""
    fields, pos = {}, 0
    while pos < len(line):
        m = LOGFMT_FIELD.match(line, pos)
        assert m, "not logfmt at column %d: %r" % (pos, line)
        key, value = m.group(1), m.group(2)
        assert key not in fields, "key %s repeated: %r" % (key, line)
        if value.startswith('"'):
            value = json.loads(value)  # the escapes util/log writes are JSON's
        fields[key] = value
        pos = m.end()
    return fields


class BadClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 24 per address: the slow and the idle attackers hold 48 of 64 connections at most.
        cls.server = h.start_proctrack("-web.max-connections", "64", "-web.max-connections-per-ip", "24",
                                       "-web.connection-timeout", "20s")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_slowloris_and_idle_connections_do_not_block_a_scrape(self):
        port = self.server.port
        socks = []
        stop = threading.Event()
        try:
            # 100 slow clients from one address trickle a header byte by byte...
            for _ in range(100):
                try:
                    s = connect_from("127.0.0.2", port)
                    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    socks.append(s)
                except OSError:
                    pass
            # ...and 100 idle ones from another never send anything.
            for _ in range(100):
                try:
                    socks.append(connect_from("127.0.0.3", port))
                except OSError:
                    pass

            def trickle():
                while not stop.wait(1.0):
                    for s in list(socks):
                        try:
                            s.send(b"a")
                        except OSError:
                            socks.remove(s)

            t = threading.Thread(target=trickle, daemon=True)
            t.start()
            time.sleep(1.5)
            start = time.monotonic()
            status, _, body = self.server.request("GET", "/metrics", timeout=10)
            elapsed = time.monotonic() - start
            self.assertEqual(status, 200)
            self.assertIn(b"namedprocess_scrape_errors ", body)
            self.assertLess(elapsed, 5)
            # Over the limits, each new connection closed the one of its address that had waited
            # longest for its request; none was refused. The log says so in one line per 10 s.
            closed = [line for line in self.server.log().splitlines()
                      if 'msg="connections closed"' in line]
            self.assertGreater(len(closed), 0)
            self.assertLessEqual(len(closed), 2)
            self.assertEqual([line for line in self.server.log().splitlines()
                              if 'msg="connection refused"' in line], [])
            # Each is a logfmt line: ts, level, msg, then the counts as fields.
            for line in closed:
                fields = parse_logfmt(line)
                self.assertEqual(list(fields)[:3], ["ts", "level", "msg"], line)
                self.assertRegex(fields["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
                self.assertEqual(fields["level"], "warn", line)
                self.assertGreater(int(fields["to_make_room"]), 0, line)
                self.assertLessEqual(int(fields["open"]), 64, line)
        finally:
            stop.set()
            t.join(5)
            for s in socks:
                s.close()

    def test_oversized_and_unknown_requests_get_4xx(self):
        port = self.server.port

        def raw(request):
            s = connect_from("127.0.0.1", port)
            s.settimeout(10)
            try:
                s.sendall(request)
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                data = b""
            finally:
                s.close()
            m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
            return int(m.group(1)) if m else None

        huge_header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (200 * 1024) + b"\r\n\r\n"
        status = raw(huge_header)
        self.assertTrue(status is None or 400 <= status < 500, status)  # 431, or the connection closed
        huge_uri = b"GET /" + b"m" * (200 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        status = raw(huge_uri)
        self.assertTrue(status is None or 400 <= status < 500, status)
        self.assertEqual(raw(b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 405)
        self.assertEqual(raw(b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n") // 100, 5)  # 505
        status = raw(b"garbage\r\n\r\n")
        self.assertTrue(status is None or 400 <= status < 500, status)
        # The server is still fine.
        self.assertEqual(self.server.request("GET", "/metrics")[0], 200)

    @unittest.skipUnless(WRK, "wrk is not installed")
    def test_load_gets_only_200s_with_bounded_memory(self):
        before = rss_kib(self.server.proc.pid)
        r = subprocess.run([WRK, "-t2", "-c20", "-d4s", "--timeout", "10s",
                            "http://127.0.0.1:%d/metrics" % self.server.port],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("Non-2xx", r.stdout)
        self.assertNotIn("Socket errors", r.stdout)
        requests = int(re.search(r"(\d+) requests in", r.stdout).group(1))
        self.assertGreater(requests, 20)
        after = rss_kib(self.server.proc.pid)
        if not h.SANITIZED:
            self.assertLess(after - before, 32 * 1024, (before, after))
        self.assertEqual(self.server.request("GET", "/metrics")[0], 200)


if __name__ == "__main__":
    h.main()

"""A /metrics endpoint no client can starve (issue 12): idle and trickling connections from one
address and from many, ambiguous request framing, password guessing, and serving with no thread
or little address space to spare. Everything on loopback, where 127.0.0.0/8 gives as many
client addresses as a test needs; every loop is bounded in time. Where it is cheap, the same
attack is run against process-exporter and its figure printed beside ours (never asserted)."""

import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import base64

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

WRK = shutil.which("wrk")
SETPRIV = shutil.which("setpriv")
PRLIMIT = shutil.which("prlimit")
NOBODY = 65534
# The "done when" is a scrape in under a second, which these tests print. What they
# assert is generous: on a shared machine a scan alone can take a second, and the failure they
# catch (a scrape refused, or held until a timeout of 10 s or more) is far above it.
SCRAPE_SECONDS = 8.0
RSS_LIMIT_KIB = 64 * 1024


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """utime + stime of a process, from /proc/PID/stat (fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect_from(source, port, timeout=5):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


def read_responses(s, deadline):
    """Every response the server sends on `s` until it closes (or `deadline`): a list of status
    codes, each response's body skipped by its Content-Length."""
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    statuses = []
    while data:
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n", data)
        if not m:
            statuses.append("garbage")
            break
        statuses.append(int(m.group(1)))
        length = re.search(rb"(?im)^content-length: *(\d+)", m.group(2))
        if not length:
            break  # the body runs to the close (Go's error answers)
        data = data[m.end() + int(length.group(1)):]
    return statuses


def raw_exchange(port, request, source="127.0.0.1", wait=3.0):
    """Sends `request` on a new connection and returns the statuses of every response."""
    s = connect_from(source, port)
    try:
        s.sendall(request)
        return read_responses(s, time.monotonic() + wait)
    finally:
        s.close()


def timed_scrape(port, source, timeout=10.0, headers=b""):
    """A scrape from `source`: (status or None, seconds)."""
    start = time.monotonic()
    try:
        s = connect_from(source, port, timeout)
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n")
            statuses = read_responses(s, start + timeout)
        finally:
            s.close()
    except OSError:
        statuses = []
    return (statuses[0] if statuses else None), time.monotonic() - start


class Crowd:
    """Attacking connections: idle ones, and slow ones that send a header byte a second from a
    thread. Closed at the end, whatever happened."""

    def __init__(self, port):
        self.port = port
        self.socks = []
        self.slow = []
        self.stop = threading.Event()
        self.thread = None
        self.failed = 0

    def idle(self, source, count):
        for _ in range(count):
            try:
                self.socks.append(connect_from(source, self.port))
            except OSError:
                self.failed += 1

    def slowloris(self, sources):
        for source in sources:
            try:
                s = connect_from(source, self.port)
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                self.slow.append(s)
                self.socks.append(s)
            except OSError:
                self.failed += 1
        if not self.thread:
            self.thread = threading.Thread(target=self._trickle, daemon=True)
            self.thread.start()

    def _trickle(self):
        while not self.stop.wait(1.0):
            for s in list(self.slow):
                try:
                    s.send(b"a")
                except OSError:
                    self.slow.remove(s)

    def open_count(self):
        """How many of our connections the server still holds open (a closed one reads EOF)."""
        n = 0
        for s in self.socks:
            try:
                s.setblocking(False)
                n += s.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                n += 1
            except OSError:
                pass
            finally:
                s.setblocking(True)
        return n

    def close(self):
        self.stop.set()
        if self.thread:
            self.thread.join(5)
        for s in self.socks:
            s.close()
        self.socks = []


def wait_for_fds(pid, count, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(os.listdir("/proc/%d/fd" % pid)) >= count:
                return
        except OSError:
            return
        time.sleep(0.1)


def addresses(first, count):
    """127.0.<first>.1 onwards: `count` distinct client addresses."""
    return ["127.0.%d.%d" % (first + i // 250, 1 + i % 250) for i in range(count)]


def start_process_exporter():
    try:
        return h.start_process_exporter("-procnames", "sshd")
    except (OSError, RuntimeError):
        return None


class ConnectionFloodTest(unittest.TestCase):
    """The 'done when' of issue 12: during each attack, and all at once, a scrape from
    127.0.0.1 and one from a fresh address are answered in under a second, and RSS stays under
    64 MiB."""

    @classmethod
    def setUpClass(cls):
        raise_nofile()
        cls.server = h.start_proctrack()
        cls.fresh = iter(addresses(200, 250))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def check_scrapes(self, what, server=None, assert_ours=True):
        server = server or self.server
        results = {}
        for source in ("127.0.0.1", next(self.fresh)):
            status, seconds = timed_scrape(server.port, source)
            results[source] = (status, seconds)
        rss = rss_kib(server.proc.pid)
        if assert_ours:
            for source, (status, seconds) in results.items():
                self.assertEqual(status, 200, "%s: scrape from %s" % (what, source))
                self.assertLess(seconds, SCRAPE_SECONDS, "%s: scrape from %s" % (what, source))
            if not h.SANITIZED:
                self.assertLess(rss, RSS_LIMIT_KIB, what)
        return results, rss

    def report(self, what, ours, theirs):
        def fmt(r):
            if r is None:
                return "not run"
            res, rss = r
            return ", ".join("%s %s in %.3f s" % (src, st, sec) for src, (st, sec) in res.items()) + \
                ", RSS %.1f MiB" % (rss / 1024)
        print("\n  %s\n    proctrack:        %s\n    process-exporter: %s" % (what, fmt(ours), fmt(theirs)),
              file=sys.stderr)

    def attack(self, what, setup):
        crowd = Crowd(self.server.port)
        try:
            setup(crowd)
            time.sleep(1.5)  # the trickle has started
            # What is measured is a scrape during the attack, not how fast a machine shared with
            # other work drains the listen backlog: wait until the server holds the crowd.
            wait_for_fds(self.server.proc.pid, min(len(crowd.socks), 1500))
            ours = self.check_scrapes(what)
        finally:
            crowd.close()
        theirs = None
        # process-exporter's figures are reported, not checked: the ordinary build's run reports
        # them, the sanitized run checks only ours.
        pe = None if h.SANITIZED else start_process_exporter()
        if pe:
            crowd = Crowd(pe.port)
            try:
                setup(crowd)
                time.sleep(1.5)
                theirs = self.check_scrapes(what, pe, assert_ours=False)
            finally:
                crowd.close()
                pe.stop()
        self.report(what, ours, theirs)

    def test_1000_idle_connections_from_the_scraper_address(self):
        self.attack("1000 idle connections from 127.0.0.1", lambda c: c.idle("127.0.0.1", 1000))

    def test_16_idle_connections_from_each_of_50_addresses(self):
        def setup(c):
            for a in addresses(1, 50):
                c.idle(a, 16)
        self.attack("16 idle connections from each of 50 addresses", setup)

    def test_slowloris_from_200_addresses(self):
        self.attack("slowloris from 200 addresses", lambda c: c.slowloris(addresses(10, 200)))

    def test_all_at_once(self):
        def setup(c):
            c.idle("127.0.0.1", 1000)
            for a in addresses(1, 50):
                c.idle(a, 16)
            c.slowloris(addresses(10, 200))
        self.attack("all three at once", setup)

    @unittest.skipUnless(WRK, "wrk is not installed")
    def test_wrk_200_connections_get_only_200s(self):
        r = subprocess.run([WRK, "-t2", "-c200", "-d10s", "--timeout", "10s",
                            "http://127.0.0.1:%d/metrics" % self.server.port],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("Non-2xx", r.stdout)
        self.assertNotIn("Socket errors", r.stdout)
        requests = int(re.search(r"(\d+) requests in", r.stdout).group(1))
        self.assertGreater(requests, 200)
        print("\n  wrk -c200 -d10s: %d requests, all 200; RSS after %.1f MiB"
              % (requests, rss_kib(self.server.proc.pid) / 1024), file=sys.stderr)


class DeadlineTest(unittest.TestCase):
    """The request deadline does not move with activity: a connection that sends a byte a
    second is closed when one that sends nothing is."""

    def test_trickling_and_idle_connections_are_closed_at_the_deadline(self):
        server = h.start_proctrack("-web.request-timeout", "2s")
        crowd = Crowd(server.port)
        try:
            crowd.idle("127.0.0.2", 10)
            crowd.slowloris(addresses(30, 10))
            time.sleep(1.0)
            self.assertEqual(crowd.open_count(), 20)
            deadline = time.monotonic() + 15
            while crowd.open_count() and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(crowd.open_count(), 0)
            self.assertEqual(timed_scrape(server.port, "127.0.0.1")[0], 200)
            self.assertTrue(h.wait_for_log(server, "connections closed", timeout=15))
        finally:
            crowd.close()
            server.stop()

    def test_a_new_connection_pushes_out_the_longest_waiting_one(self):
        server = h.start_proctrack("-web.max-connections", "20", "-web.max-connections-per-ip", "5")
        crowd = Crowd(server.port)
        try:
            crowd.idle("127.0.0.3", 5)
            time.sleep(0.3)
            crowd.idle("127.0.0.3", 5)  # over the address's share: the first five go
            time.sleep(0.5)
            self.assertEqual(crowd.open_count(), 5)
            self.assertEqual([s.recv(1, socket.MSG_PEEK) for s in crowd.socks[:5]], [b""] * 5)
            for a in addresses(40, 20):  # over the total: the longest waiting go
                crowd.idle(a, 1)
            time.sleep(0.5)
            self.assertLessEqual(crowd.open_count(), 20)
            status, _ = timed_scrape(server.port, "127.0.0.3")
            self.assertEqual(status, 200)
        finally:
            crowd.close()
            server.stop()


# Each: what a client sends, the status Go's net/http (process-exporter) answers, ours.
FRAMING = [
    ("two Content-Lengths (0 then 30)",
     b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 30\r\n\r\n"
     b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("Content-Length and Transfer-Encoding",
     b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n", 400),
    ("HTTP/1.1 without Host", b"GET /metrics HTTP/1.1\r\n\r\n", 400),
    ("two Hosts", b"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    ("a NUL in a header value", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: b\x00c\r\n\r\n", 400),
    ("a NUL in a header name", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX\x00A: b\r\n\r\n", 400),
    ("a space before the colon", b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400),
    ("a header line without a colon", b"GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
    ("Transfer-Encoding: xchunked", b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 501),
    ("a space in the target", b"GET /me trics HTTP/1.1\r\nHost: x\r\n\r\n", 400),
]


class FramingTest(unittest.TestCase):
    """Ambiguous framing gets the status process-exporter gives, once, and the connection is
    closed: what follows is never read as a second request."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.start_proctrack()
        cls.pe = start_process_exporter()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        if cls.pe:
            cls.pe.stop()

    def test_ambiguous_requests_get_one_error_and_a_close(self):
        lines = []
        for what, request, want in FRAMING:
            with self.subTest(what):
                start = time.monotonic()
                got = raw_exchange(self.server.port, request)
                self.assertEqual(got, [want])
                # Closed by the server right after the answer, not held to a timeout.
                self.assertLess(time.monotonic() - start, 2.5)
            theirs = raw_exchange(self.pe.port, request) if self.pe else "not run"
            lines.append("    %-36s proctrack %-8s process-exporter %s" % (what, got, theirs))
        print("\n" + "\n".join(lines), file=sys.stderr)
        self.assertEqual(self.server.request("GET", "/metrics")[0], 200)

    def test_chunked_and_plain_bodies_still_work(self):
        got = raw_exchange(self.server.port,
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           b"Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        self.assertEqual(got, [200])
        # Pipelined on one connection: both answered, in order.
        got = raw_exchange(self.server.port,
                           b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                           b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(got, [200, 404])


def basic(user, password):
    return base64.b64encode(user + b":" + password)


class BasicAuthTest(unittest.TestCase):
    """Password guessing costs bcrypt once per distinct guess, within a budget; the scheme's
    case does not matter; a NUL in the credentials is refused."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pt-auth-")
        p = subprocess.run([os.path.join(h.HELPERS, "pt_bcrypt"), "s3cret", "10"],
                           capture_output=True, check=True, timeout=30)
        web = os.path.join(cls.dir, "web.yml")
        with open(web, "w") as f:
            f.write("basic_auth_users:\n  prometheus: %s\n" % p.stdout.decode().strip())
        cls.web = web
        cls.server = cls._start(h.free_port(), web)

    @staticmethod
    def _start(port, web):
        # Ready when it answers at all: 401 without credentials.
        argv = [h.PROCTRACK, "-web.listen-address", "127.0.0.1:%d" % port, "-web.config.file", web]
        server = h.Server.__new__(h.Server)
        server.port = port
        server.stderr = h.log_file()
        server.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=server.stderr)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if server.request("GET", "/metrics", timeout=2)[0] == 401:
                    return server
            except OSError:
                time.sleep(0.05)
        server.stop()
        raise RuntimeError("proctrack did not answer")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def status(self, authorization, server=None):
        server = server or self.server
        return server.request("GET", "/metrics", headers={"Authorization": authorization})[0]

    def guess(self, server, passwords):
        """One request per password, 8 at a time; returns {status: count} and the server's CPU
        seconds spent."""
        before = cpu_seconds(server.proc.pid)
        counts = {}
        lock = threading.Lock()
        todo = list(passwords)

        def run():
            while True:
                with lock:
                    if not todo:
                        return
                    pw = todo.pop()
                try:
                    st = self.status("Basic " + basic(b"prometheus", pw).decode(), server)
                except OSError:
                    st = None
                with lock:
                    counts[st] = counts.get(st, 0) + 1

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        return counts, cpu_seconds(server.proc.pid) - before

    def pe_guess(self, passwords):
        pe = None
        try:
            port = h.free_port()
            pe = self._start_pe(port)
            if not pe:
                return None
            return self.guess(pe, passwords)
        finally:
            if pe:
                pe.stop()

    def _start_pe(self, port):
        argv = [h.PROCESS_EXPORTER, "-web.listen-address", "127.0.0.1:%d" % port,
                "-web.config.file", self.web, "-procnames", "sshd"]
        server = h.Server.__new__(h.Server)
        server.port = port
        server.stderr = h.log_file()
        try:
            server.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=server.stderr)
        except OSError:
            return None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if server.request("GET", "/metrics", timeout=2)[0] == 401:
                    return server
            except OSError:
                time.sleep(0.05)
        server.stop()
        return None

    def test_the_same_wrong_password_1000_times(self):
        counts, cpu = self.guess(self.server, [b"wrong"] * 1000)
        self.assertEqual(counts, {401: 1000})
        self.assertLess(cpu, 10.0)
        theirs = self.pe_guess([b"wrong"] * 1000)
        print("\n  1000 x the same wrong password: proctrack %.2f s CPU %s; process-exporter %s"
              % (cpu, counts, "%.2f s CPU %s" % (theirs[1], theirs[0]) if theirs else "not run"),
              file=sys.stderr)

    def test_1000_different_wrong_passwords_stay_within_the_budget(self):
        server = self._start(h.free_port(), self.web)  # its budget spent, for no other test
        try:
            start = time.monotonic()
            counts, cpu = self.guess(server, [b"guess%d" % i for i in range(1000)])
            elapsed = time.monotonic() - start
        finally:
            server.stop()
        self.assertEqual(set(counts) - {401, 429}, set(), counts)
        self.assertGreater(counts.get(429, 0), 0)  # the budget was reached
        self.assertLess(cpu, 10.0)
        # 1 s of burst and a tenth of a core after it, and slack for the rest of the work
        # (without the budget, 1000 runs of bcrypt at cost 10 take a minute of CPU).
        self.assertLess(cpu, 3.0 + 0.1 * elapsed)
        print("\n  1000 different wrong passwords in %.1f s: proctrack %.2f s CPU %s"
              % (elapsed, cpu, counts), file=sys.stderr)

    def test_scheme_is_case_insensitive_and_nul_is_refused(self):
        good = basic(b"prometheus", b"s3cret").decode()
        for scheme in ("Basic", "basic", "BASIC"):
            self.assertEqual(self.status(scheme + " " + good), 200, scheme)
        self.assertEqual(self.status("Basic " + basic(b"prometheus", b"s3cret\x00x").decode()), 401)
        self.assertEqual(self.status("Basic " + basic(b"prometheus\x00", b"s3cret").decode()), 401)
        self.assertEqual(self.status("Bearer " + good), 401)


@unittest.skipUnless(os.geteuid() == 0 and SETPRIV and PRLIMIT, "needs root, setpriv and prlimit")
class ScarceResourcesTest(unittest.TestCase):
    """No thread is created per connection: scraping works with RLIMIT_NPROC exhausted, and 40
    concurrent scrapes fit in 64 MiB of address space."""

    def concurrent_scrapes(self, port, n):
        results = []
        lock = threading.Lock()

        def run():
            st, _ = timed_scrape(port, "127.0.0.1", timeout=30)
            with lock:
                results.append(st)

        threads = [threading.Thread(target=run) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return results

    def copy_binary(self, tmp):
        os.chmod(tmp, 0o755)
        binary = os.path.join(tmp, "proctrack")
        shutil.copy(h.PROCTRACK, binary)
        os.chmod(binary, 0o755)
        return binary

    def test_serves_with_rlimit_nproc_exhausted(self):
        tmp = tempfile.mkdtemp(prefix="pt-nproc-")
        server = None
        try:
            binary = self.copy_binary(tmp)
            port = h.free_port()
            # proctrack's own tasks as nobody: the main thread, the event thread and the worker.
            # Whatever else runs as nobody counts against the same limit.
            others = sum(self._uid_tasks(p) for p in os.listdir("/proc") if p.isdigit())
            limit = others + 3
            server = h.Server([PRLIMIT, "--nproc=%d:%d" % (limit, limit), SETPRIV, "--reuid=%d" % NOBODY,
                               "--regid=%d" % NOBODY, "--clear-groups", binary,
                               "-web.listen-address", "127.0.0.1:%d" % port], port)
            with open("/proc/%d/status" % server.proc.pid) as f:
                status = f.read()
            self.assertEqual(int(status.split("Uid:")[1].split()[0]), NOBODY)
            self.assertEqual(int(status.split("Threads:")[1].split()[0]), 3)
            results = self.concurrent_scrapes(port, 20)
            self.assertEqual(results, [200] * 20)
            with open("/proc/%d/status" % server.proc.pid) as f:
                self.assertEqual(int(f.read().split("Threads:")[1].split()[0]), 3)
        finally:
            if server:
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _uid_tasks(pid):
        try:
            with open("/proc/%s/status" % pid) as f:
                status = f.read()
        except OSError:
            return 0
        if int(status.split("Uid:")[1].split()[0]) != NOBODY:
            return 0
        return int(status.split("Threads:")[1].split()[0])

    @unittest.skipIf(h.SANITIZED, "ASan reserves terabytes of address space")
    def test_40_concurrent_scrapes_in_64_mib_of_address_space(self):
        port = h.free_port()
        server = h.Server(["/bin/sh", "-c", 'ulimit -v 65536 && exec "$0" "$@"', h.PROCTRACK,
                           "-web.listen-address", "127.0.0.1:%d" % port], port)
        try:
            results = self.concurrent_scrapes(port, 40)
            self.assertEqual(results, [200] * 40)
            self.assertEqual(self.concurrent_scrapes(port, 40), [200] * 40)
        finally:
            server.stop()


if __name__ == "__main__":
    h.main()

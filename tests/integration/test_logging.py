"""What proctrack logs, in both formats of -log.format: one line per event with ts, level and a fixed
msg, the variable parts in fields; start-up, SIGHUP reloads that succeed and fail, config errors
with FILE:LINE:COL, shutdown, -log.level filtering, -debug's per-process lines, and values (a config
path, a process name) with line breaks and quotes that must stay on their one escaped line."""

import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

VERSION = subprocess.run([h.PROCTRACK, "-version"], capture_output=True, text=True,
                         timeout=30).stdout.split()[2]

# Each run uses its own process names, so that another test run on the same host cannot add to
# what this one counts.
TAG = secrets.token_hex(3)
COMM_GROUPED = "pt-log" + TAG             # 12 bytes: comm holds 15
COMM_HOSTILE = b'pt"\n' + TAG.encode()    # a quote and a line break, 10 bytes

GOOD = """process_names:
  - name: grouped
    comm: [%s]
""" % COMM_GROUPED
GOOD_TWO_RULES = GOOD + """  - name: other
    comm: [pt-log-none]
"""
WITH_UNKNOWN_KEY = GOOD + "    colour: blue\n"
BROKEN = """process_names:
  - {name: a, comm: [pt-log-a]}
  - name: e
    cmdline: ['(unclosed']
"""

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def run(*args):
    return subprocess.run([h.PROCTRACK] + list(args), capture_output=True, text=True, timeout=30)


class LoggingCases:
    """The cases, run once per format by the subclasses below."""

    FORMAT = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pt-log-")
        # A config path with a quote and a line break: it appears in several fields.
        self.path = os.path.join(self.dir, 'con"f\nig.yml')
        self.servers = []
        self.workers = h.Workers()

    def tearDown(self):
        for s in self.servers:
            s.stop()
        self.workers.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, text):
        with open(self.path, "w") as f:
            f.write(text)

    def serve(self, *args):
        s = h.start_proctrack("-log.format", self.FORMAT, *args)
        self.servers.append(s)
        return s

    def parse_line(self, line):
        if self.FORMAT == "json":
            self.assertTrue(line.startswith("{") and line.endswith("}"), line)
            return json.loads(line)
        self.assertTrue(line.startswith("ts="), line)
        return h.parse_logfmt(line)

    def records(self, text):
        """Every line of `text` parsed in this format: a line that does not parse (half a line split
        by a value, or a line in the other format) fails the test."""
        self.assertTrue(text.endswith("\n"), repr(text))
        records = []
        now = datetime.datetime.now(datetime.timezone.utc)
        for line in text[:-1].split("\n"):
            try:
                record = self.parse_line(line)
            except ValueError as e:
                self.fail("%s: %r" % (e, line))
            self.assertEqual(list(record)[:3], ["ts", "level", "msg"], line)
            self.assertRegex(record["ts"], TIMESTAMP)
            ts = datetime.datetime.strptime(record["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
            self.assertLess(abs((ts.replace(tzinfo=datetime.timezone.utc) - now).total_seconds()), 600)
            self.assertIn(record["level"], ("debug", "info", "warn", "error"), line)
            # Nothing but the line break between lines is a control character.
            self.assertNotRegex(line, r"[\x00-\x1f\x7f]")
            records.append(record)
        return records

    def one(self, records, msg, **fields):
        found = [r for r in records if r["msg"] == msg]
        self.assertEqual(len(found), 1, "%r in %r" % (msg, records))
        for key, want in fields.items():
            self.assertEqual(str(found[0].get(key)), str(want), "%s of %r" % (key, found[0]))
        return found[0]

    def wait_for(self, server, msg, count=1):
        found = h.wait_for_log(server, msg, count=count, timeout=20)
        self.assertIsNotNone(found, "no %r after 20 s: %s" % (msg, server.log()))
        return found

    def test_startup_reload_and_shutdown(self):
        self.write(GOOD)
        s = self.serve("-config.path", self.path)
        self.wait_for(s, "serving")

        self.write(GOOD_TWO_RULES)
        s.proc.send_signal(signal.SIGHUP)
        self.wait_for(s, "config reloaded")

        self.write(BROKEN)
        s.proc.send_signal(signal.SIGHUP)
        self.wait_for(s, "config reload failed, keeping the current config")
        self.assertEqual(h.value(h.parse(s.scrape())[0], "proctrack_config_rules"), 2)

        self.assertEqual(s.stop(), 0)
        records = self.records(s.log())
        self.assertEqual([r["msg"] for r in records],
                         ["starting", "serving", "config reloaded",
                          "config reload failed, keeping the current config", "shutting down"])
        self.one(records, "starting", level="info", version=VERSION, config=self.path)
        serving = self.one(records, "serving", level="info", address="127.0.0.1:%d" % s.port,
                           port=s.port, path="/metrics", rules=1)
        self.assertGreaterEqual(int(serving["processes"]), 0)
        self.one(records, "config reloaded", level="info", config=self.path, rules=2)
        failed = self.one(records, "config reload failed, keeping the current config", level="error",
                          config=self.path)
        self.assertTrue(failed["err"].startswith(self.path + ":4:15: bad cmdline regex \"(unclosed\": "),
                        failed["err"])
        self.one(records, "shutting down", level="info", signal="SIGTERM")
        if self.FORMAT == "json":
            # Numbers are JSON numbers, text is JSON strings.
            self.assertIsInstance(serving["port"], int)
            self.assertIsInstance(serving["address"], str)

    def test_config_error_at_startup(self):
        self.write(BROKEN)
        r = run("-log.format", self.FORMAT, "-config.path", self.path,
                "-web.listen-address", "127.0.0.1:%d" % h.free_port())
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        records = self.records(r.stderr)
        self.assertEqual([x["msg"] for x in records], ["starting", "cannot load the config"])
        error = self.one(records, "cannot load the config", level="error", config=self.path)
        self.assertTrue(error["err"].startswith(self.path + ":4:15: bad cmdline regex"), error["err"])
        # The config path's line break and quote are escaped, never written as they are.
        self.assertEqual(r.stderr.count("\n"), 2)

    def test_config_warning(self):
        self.write(WITH_UNKNOWN_KEY)
        s = self.serve("-config.path", self.path, "-log.level=warn")
        s.stop()
        records = self.records(s.log())
        self.assertEqual([r["msg"] for r in records], ["config warning"])
        self.assertEqual(records[0]["level"], "warn")
        self.assertEqual(records[0]["warning"], self.path + ':4:5: unknown key "colour" ignored')

    def test_level_error_hides_the_info_lines(self):
        self.write(GOOD)
        s = self.serve("-config.path", self.path, "-log.level", "error")
        self.write(BROKEN)
        s.proc.send_signal(signal.SIGHUP)
        self.wait_for(s, "config reload failed, keeping the current config")
        self.assertEqual(s.stop(), 0)
        records = self.records(s.log())
        self.assertEqual([(r["level"], r["msg"]) for r in records],
                         [("error", "config reload failed, keeping the current config")])

    def test_debug_logs_new_processes_escaped(self):
        grouped = self.workers.start(COMM_GROUPED)
        hostile = self.workers.start(COMM_HOSTILE)
        self.write(GOOD)
        s = self.serve("-config.path", self.path, "-debug")
        self.wait_for(s, "serving")
        s.stop()
        records = self.records(s.log())
        self.assertTrue(all(r["level"] == "debug" for r in records
                            if r["msg"].startswith("new process")))
        joined = [r for r in records if r["msg"] == "new process joins a group"
                  and r["comm"] == COMM_GROUPED]
        self.assertEqual(len(joined), 1, records)
        self.assertEqual(str(joined[0]["pid"]), str(grouped.pid))
        self.assertEqual(joined[0]["group"], "grouped")
        self.assertEqual(joined[0]["rule"], "process_names[0] (%s:2:5)" % self.path)
        ignored = [r for r in records if r["msg"] == "new process matches no rule"
                   and r["comm"] == COMM_HOSTILE.decode()]
        self.assertEqual(len(ignored), 1, records)
        self.assertEqual(str(ignored[0]["pid"]), str(hostile.pid))
        self.assertNotIn("group", ignored[0])

    def test_debug_leaves_a_given_level_alone(self):
        self.workers.start(COMM_GROUPED)
        self.write(GOOD)
        s = self.serve("-config.path", self.path, "-debug", "-log.level=info")
        s.stop()
        msgs = [r["msg"] for r in self.records(s.log())]
        self.assertEqual(msgs, ["starting", "serving", "shutting down"])

    def test_config_check_report_stays_plain(self):
        self.write(BROKEN)
        r = run("-log.format", self.FORMAT, "-config.check", "-config.path", self.path)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith("proctrack: %s:4:15: bad cmdline regex" % self.path), r.stderr)
        self.write(GOOD)
        r = run("-log.format", self.FORMAT, "-config.check", "-config.path", self.path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(r.stdout, "%s: OK, 1 rules\n" % self.path)


    def test_evicted_connection(self):
        """A connection over -web.max-connections closes the one that waited longest, logged as one
        parsable warn line with the counts."""
        self.write(GOOD)
        s = self.serve("-config.path", self.path, "-web.max-connections", "1")
        idle = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        try:
            # The idle connection holds the only slot: a scrape pushes it out, and is answered.
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
                c.settimeout(10)
                c.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertTrue(c.recv(12).startswith(b"HTTP/1.1 200"))
            deadline = time.monotonic() + 20
            while not h.log_find(s.log(), "connections closed") and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            idle.close()
        s.stop()
        # One line per 10 s at most: a later one may count the closing of another connection.
        closed = [r for r in self.records(s.log()) if r["msg"] == "connections closed"]
        self.assertGreaterEqual(len(closed), 1, s.log())
        self.assertLessEqual(len(closed), 3, s.log())
        self.assertEqual({r["level"] for r in closed}, {"warn"})
        self.assertGreaterEqual(sum(int(r["to_make_room"]) for r in closed), 1, s.log())


class LogfmtTest(LoggingCases, unittest.TestCase):
    FORMAT = "logfmt"

    def test_logfmt_is_the_default(self):
        self.write(GOOD)
        s = h.start_proctrack("-config.path", self.path)
        self.servers.append(s)
        s.stop()
        self.assertEqual([r["msg"] for r in self.records(s.log())],
                         ["starting", "serving", "shutting down"])

    def test_quoting(self):
        """Values are bare unless they must be quoted; msg always is; the path is escaped."""
        self.write(GOOD)
        s = self.serve("-config.path", self.path)
        s.stop()
        lines = s.log().splitlines()
        self.assertRegex(lines[0], r'^ts=\S+ level=info msg="starting" version=%s config="%s"$'
                         % (re.escape(VERSION), re.escape(self.path.replace('"', '\\"').replace("\n", "\\n"))))
        self.assertRegex(lines[-1], r'^ts=\S+ level=info msg="shutting down" signal=SIGTERM$')


class JsonTest(LoggingCases, unittest.TestCase):
    FORMAT = "json"


class BadFlagValuesTest(unittest.TestCase):
    def test_bad_values_exit_2_with_a_message(self):
        level = "must be debug, info, warn or error"
        fmt = "must be logfmt or json"
        for args, message in (
                (["-log.level=verbose"], 'invalid value "verbose" for flag -log.level: ' + level),
                (["-log.level", "INFO"], 'invalid value "INFO" for flag -log.level: ' + level),
                (["-log.format=yaml"], 'invalid value "yaml" for flag -log.format: ' + fmt),
                (["--log.format", ""], 'invalid value "" for flag -log.format: ' + fmt),
                (["-log.level"], "flag needs an argument: -log.level")):
            with self.subTest(args=args):
                r = run("-web.listen-address", "127.0.0.1:%d" % h.free_port(), *args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertEqual(r.stderr.splitlines()[0], message)
                self.assertIn("\n  -log.level string\n", r.stderr)  # the usage follows


if __name__ == "__main__":
    h.main()

"""A pid reused within one clock tick (issue 11): two processes with one pid and one start time.

The pidreuse tool (tests/tools/pidreuse.c) makes them in a pid namespace with clone3's set_tid:
an idle process P1 (comm pt-reuse-idle) that proctrack sees in a scrape, then P2 (comm
pt-reuse-heavy) with P1's pid, born in the same tick, which burns CPU. P2 is a new process and its
CPU belongs to pt-reuse-heavy; taken for an exec of P1 it would land in pt-reuse-idle for life.
Rounds where the tick did not hold are void; too few valid rounds skip the test."""

import http.client
import os
import select
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

PIDREUSE = os.path.join(h.HELPERS, "pidreuse")
BURN_MS = 300
WANTED = 5  # same-tick rounds
MAX_ROUNDS = 60
TICK = 0.01  # USER_HZ
CONFIG = "process_names:\n  - name: '{{.Comm}}'\n    comm: [pt-reuse-idle, pt-reuse-heavy]\n"


def exit_accounting_flag():
    """Whether the binary has -exit-accounting (exit records from taskstats, or children's CPU)."""
    p = subprocess.run([h.PROCTRACK, "-h"], capture_output=True, timeout=30)
    return b"exit-accounting" in p.stdout + p.stderr


def cpu_seconds(samples, group):
    return sum(h.value(samples, "namedprocess_namegroup_cpu_seconds_total", groupname=group, mode=m) or 0.0
               for m in ("user", "system"))


def procs(samples, group):
    return h.value(samples, "namedprocess_namegroup_num_procs", groupname=group) or 0


def cpu_of(pid):
    """utime + stime of a live process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK  # (14) utime, (15) stime


class Tool:
    """The pidreuse tool, spoken to one line at a time."""

    def __init__(self):
        self.stderr = h.log_file()
        self.proc = subprocess.Popen([PIDREUSE, str(BURN_MS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)

    def read(self, kind):
        # One line at a time: the tool writes a line and waits for an answer, so nothing is left
        # in the pipe's reader buffer when select() looks.
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith(kind + " "):
            self.proc.kill()
            self.proc.wait()
            self.stderr.seek(0)
            raise RuntimeError("pidreuse: expected %s, got %r (exit %s): %s" % (
                kind, line, self.proc.returncode, self.stderr.read().decode(errors="replace")))
        return line.split()

    def say(self, word):
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.say("quit")
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.stderr.close()


@unittest.skipUnless(os.geteuid() == 0, "needs root: a pid namespace and clone3's set_tid")
class PidReuseTest(unittest.TestCase):
    def setUp(self):
        self.w = h.Workers()

    def tearDown(self):
        self.w.stop()

    def rounds(self, *flags):
        server = h.start_proctrack("-config.path", h.write_config(self.w.dir, CONFIG), *flags)
        tool = conn = None
        try:
            tool = Tool()
            # One connection for the whole test: the scrape between P1's birth and P2's must be
            # short for both to fall in one tick.
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            valid = void = 0
            for _ in range(MAX_ROUNDS):
                if valid == WANTED:
                    break
                _, p1, p1_start = tool.read("P1")
                conn.request("GET", "/metrics")
                resp = conn.getresponse()
                before_body = resp.read().decode()
                self.assertEqual(resp.status, 200)
                tool.say("go")
                _, p2, p2_start, same, _ = tool.read("P2")
                before = h.parse(before_body)[0]
                # Valid: P1 was in the scrape, and P2 has its pid and start tick.
                if same != "same_tick=1" or procs(before, "pt-reuse-idle") != 1:
                    void += 1
                    tool.say("next")
                    continue
                self.assertEqual((p1, p1_start), (p2, p2_start))
                heavy_cpu = cpu_of(int(p2))  # P2 sleeps after its burn: this is all it used
                after = h.parse(server.scrape())[0]
                tool.say("next")
                valid += 1
                heavy = cpu_seconds(after, "pt-reuse-heavy") - cpu_seconds(before, "pt-reuse-heavy")
                idle = cpu_seconds(after, "pt-reuse-idle") - cpu_seconds(before, "pt-reuse-idle")
                where = ("round %d, pid %s, start %s: P2 used %.2f s; pt-reuse-heavy grew %.2f s, "
                         "pt-reuse-idle %.2f s" % (valid, p2, p2_start, heavy_cpu, heavy, idle))
                self.assertGreaterEqual(heavy_cpu, BURN_MS / 1000 - 2 * TICK, where)
                # P2 was born while watched: all its CPU counts, in its own group.
                self.assertAlmostEqual(heavy, heavy_cpu, delta=TICK + 1e-6, msg=where)
                # P1 slept from its first scrape to its end: its group grows by at most a tick.
                self.assertLessEqual(idle, TICK + 1e-6, where)
                self.assertEqual(procs(after, "pt-reuse-heavy"), 1, where)
                self.assertEqual(procs(after, "pt-reuse-idle"), 0, where)
            if valid < WANTED:
                self.skipTest("only %d of %d rounds had P1 and P2 in one clock tick (%d void): the host is "
                              "too slow or busy to test a pid reused within a tick" % (valid, MAX_ROUNDS, void))
            sys.stderr.write("\n%s: %d same-tick rounds, %d void\n" % (self.id(), valid, void))
        finally:
            if conn:
                conn.close()
            if tool:
                tool.close()
            server.stop()

    def test_without_exit_records(self):
        self.rounds(*(["-exit-accounting=children"] if exit_accounting_flag() else []))

    def test_with_exit_records(self):
        if not exit_accounting_flag():
            self.skipTest("this proctrack has no -exit-accounting flag")
        self.rounds("-exit-accounting=taskstats")


if __name__ == "__main__":
    h.main()

"""process-exporter's flags, end to end against the built binary."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402


def num_procs(server, group):
    return h.value(h.parse(server.scrape())[0], "namedprocess_namegroup_num_procs", groupname=group)


def parent(pid):
    """The parent pid of `pid`, or None once it has gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class FlagsTest(unittest.TestCase):
    def setUp(self):
        self.w = h.Workers()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.close()
        self.w.stop()

    def serve(self, *args):
        s = h.start_proctrack(*args)
        self.servers.append(s)
        return s

    def config(self, text):
        return h.write_config(self.w.dir, text)

    def wrapper(self, comm):
        """A shell that waits for a line on stdin, then execs pt_load as `comm`."""
        path = self.w.binary("pt_load")
        p = subprocess.Popen(["/bin/sh", "-c", "read x; exec %s %s sleep" % (path, comm)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.w.procs.append(p)
        return p

    def exec_wrapper(self, p):
        p.stdin.write(b"go\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline().strip(), b"ready")

    def test_recheck_picks_up_a_process_after_exec(self):
        cfg = self.config("process_names:\n  - comm: [pt-payload]\n    name: payload\n")
        with_recheck = self.serve("-config.path", cfg, "-recheck")
        without = self.serve("-config.path", cfg)
        limited = self.serve("-config.path", cfg, "-recheck-with-time-limit", "1h")
        p = self.wrapper("pt-payload")
        for s in (with_recheck, without, limited):
            self.assertIsNone(num_procs(s, "payload"))  # seen as "sh", ignored
        self.exec_wrapper(p)
        self.assertEqual(num_procs(with_recheck, "payload"), 1)
        self.assertEqual(num_procs(limited, "payload"), 1)
        # Without -recheck an exec keeps the first classification, as in process-exporter.
        self.assertIsNone(num_procs(without, "payload"))

    def test_recheck_sees_an_exec_that_keeps_the_comm(self):
        # A program that execs itself with other arguments keeps its comm; the exec shows in the
        # code, stack and argument addresses of stat.
        marker = "pt-same-%d" % os.getpid()
        cfg = self.config("process_names:\n  - cmdline: ['%s']\n    name: same\n" % marker)
        s = self.serve("-config.path", cfg, "-recheck")
        child = "import time; print('ready', flush=True); time.sleep(60)"
        # The marker is passed reversed, so only the program after the exec matches.
        p = subprocess.Popen([sys.executable, "-c",
                              "import os, sys; sys.stdin.readline(); "
                              "os.execv(sys.executable, [sys.executable, '-c', %r, sys.argv[1][::-1]])"
                              % child, marker[::-1]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.w.procs.append(p)
        self.assertIsNone(num_procs(s, "same"))
        comm = open("/proc/%d/comm" % p.pid).read()
        self.exec_wrapper(p)
        self.assertEqual(open("/proc/%d/comm" % p.pid).read(), comm)
        self.assertEqual(num_procs(s, "same"), 1)

    def test_recheck_time_limit_expires(self):
        cfg = self.config("process_names:\n  - comm: [pt-payload]\n    name: payload\n")
        s = self.serve("-config.path", cfg, "-recheck-with-time-limit", "300ms")
        p = self.wrapper("pt-payload")
        self.assertIsNone(num_procs(s, "payload"))
        time.sleep(0.6)
        self.exec_wrapper(p)
        self.assertIsNone(num_procs(s, "payload"))

    def test_remove_empty_groups(self):
        cfg = self.config("process_names:\n  - comm: [pt-gone]\n    name: gone\n")
        removing = self.serve("-config.path", cfg, "-remove-empty-groups")
        keeping = self.serve("-config.path", cfg)
        p = self.w.start("pt-gone")
        self.assertEqual(num_procs(removing, "gone"), 1)
        self.assertEqual(num_procs(keeping, "gone"), 1)
        self.w.stop_one(p)
        self.assertIsNone(num_procs(removing, "gone"))
        samples = h.parse(keeping.scrape())[0]
        self.assertEqual(h.value(samples, "namedprocess_namegroup_num_procs", groupname="gone"), 0)
        self.assertIsNone(h.value(samples, "namedprocess_namegroup_oldest_start_time_seconds", groupname="gone"))

    def test_threads_and_smaps_off(self):
        gen = subprocess.Popen([os.path.join(h.HELPERS, "pt_loadgen"), "pt-lg-off",
                                os.path.join(self.w.dir, "lg.dat")], stdout=subprocess.PIPE)
        self.w.procs.append(gen)
        self.assertEqual(gen.stdout.readline().strip(), b"ready")
        cfg = self.config("process_names:\n  - comm: [pt-lg-off]\n")
        on = h.parse(self.serve("-config.path", cfg).scrape())[0]
        off = h.parse(self.serve("-config.path", cfg, "-threads=false", "-gather-smaps=false").scrape())[0]
        names_on = {k[0] for k in on}
        names_off = {k[0] for k in off}
        self.assertIn("namedprocess_namegroup_thread_count", names_on)
        self.assertFalse([n for n in names_off if n.startswith("namedprocess_namegroup_thread_")])
        self.assertIn("namedprocess_namegroup_threads_wchan", names_on)
        memtypes = {dict(k[1])["memtype"] for k in off if k[0] == "namedprocess_namegroup_memory_bytes"}
        self.assertEqual(memtypes, {"resident", "virtual", "swapped"})
        pss = h.value(on, "namedprocess_namegroup_memory_bytes", groupname="pt_loadgen",
                      memtype="proportionalResident")
        self.assertGreater(pss, 0)
        # Without the thread families, states still count every thread, as process-exporter does.
        states = sum(v for k, v in off.items() if k[0] == "namedprocess_namegroup_states")
        threads = sum(v for k, v in off.items() if k[0] == "namedprocess_namegroup_num_threads")
        self.assertGreater(threads, 2)  # pt_loadgen runs threads
        self.assertEqual(states, threads)

    def test_once_to_stdout(self):
        self.w.start("pt-once")
        cfg = self.config("process_names:\n  - comm: [pt-once]\n")
        r = subprocess.run([h.PROCTRACK, "-config.path", cfg, "-once-to-stdout-delay", "200ms"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        samples = h.parse(r.stdout)[0]
        self.assertEqual(h.value(samples, "namedprocess_namegroup_num_procs", groupname="pt_load"), 1)
        self.assertEqual(h.promtool_check(r.stdout)[0], 0)

    def test_numbers_out_of_range_exit_2_naming_the_flag(self):
        # Each used to be cut down by an unsigned cast: a timeout of 2^32 s became none at all,
        # 2^32 + 1 connections became one.
        cases = [
            (["-web.connection-timeout", "4294967296s"], "-web.connection-timeout", "must be at most 24h"),
            (["-web.max-connections", "4294967297"], "-web.max-connections", "must be between 1 and 1048576"),
            (["-web.max-connections-per-ip=18446744073709551616"], "-web.max-connections-per-ip",
             "value out of range"),
            (["-once-to-stdout-delay", "2562048h"], "-once-to-stdout-delay", "value out of range"),
        ]
        for args, flag, why in cases:
            r = subprocess.run([h.PROCTRACK, "-web.listen-address", "127.0.0.1:0"] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            first = r.stderr.splitlines()[0]
            self.assertEqual(first, 'invalid value "%s" for flag %s: %s' % (args[-1].split("=")[-1], flag, why))
            self.assertIn("Usage of", r.stderr)
            self.assertNotIn("serving", r.stderr)

    def test_once_to_stdout_delay_ends_on_sigterm_and_sigint(self):
        # The stop signals are blocked for the exporter's threads; the delay used to sleep through
        # them. Now either ends the wait at once, prints nothing, and proctrack dies of it.
        cfg = self.config("process_names:\n  - comm: [pt-once]\n")
        for sig in (signal.SIGTERM, signal.SIGINT):
            p = subprocess.Popen([h.PROCTRACK, "-config.path", cfg, "-once-to-stdout-delay", "10m"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                # Signal it in the wait itself (root can read the main thread's wchan); where the
                # wchan is hidden, after a second, when the first scan is long done.
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    try:
                        with open("/proc/%d/task/%d/wchan" % (p.pid, p.pid)) as f:
                            wchan = f.read()
                    except OSError:
                        wchan = ""
                    if "sigtimedwait" in wchan or wchan in ("", "0") and time.monotonic() > deadline - 9:
                        break
                    time.sleep(0.02)
                sent = time.monotonic()
                p.send_signal(sig)
                out, err = p.communicate(timeout=10)
                took = time.monotonic() - sent
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertEqual(p.returncode, -sig, err)
            self.assertLess(took, 5)
            self.assertEqual(out, b"")

    def test_legacy_flags_match_process_exporter(self):
        self.w.start("pt-plain")
        self.w.start("pt-plain")
        self.w.start("pt-map", "sleep", "--tag=blue")
        self.w.start("pt-map", "sleep", "--tag=red")
        self.w.start("pt-map", "sleep", "untagged")  # no capture: left out
        args = ["-procnames", "pt-plain,pt-map", "-namemapping", r"pt-map,--tag=(\S+)"]
        pt = self.serve(*args)
        pe = h.start_process_exporter(*args)
        self.servers.append(pe)
        pt_s = h.parse(pt.scrape())[0]
        pe_s = h.parse(pe.scrape())[0]
        self.assertEqual(h.groups(pt_s), {"pt-plain", "pt-map:blue", "pt-map:red"})
        self.assertEqual(h.groups(pt_s), h.groups(pe_s))
        for g in h.groups(pt_s):
            self.assertEqual(h.value(pt_s, "namedprocess_namegroup_num_procs", groupname=g),
                             h.value(pe_s, "namedprocess_namegroup_num_procs", groupname=g), g)

    def test_positional_argument_ends_the_flags_as_in_process_exporter(self):
        """Go's flag package stops at the first argument that is not a flag; process-exporter
        serves with the flags before it and ignores the rest, bad flags included."""
        self.w.start("pt-posarg")
        other = h.free_port()
        args = ["-procnames", "pt-posarg", "positional", "-web.listen-address",
                "127.0.0.1:%d" % other, "-no-such-flag"]
        pt = self.serve(*args)
        pe = h.start_process_exporter(*args)
        self.servers.append(pe)
        for server in (pt, pe):
            self.assertEqual(num_procs(server, "pt-posarg"), 1)
        self.assertEqual(pt.proc.poll(), None)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", other), timeout=1).close()
        warned = h.log_find(pt.log(), "arguments after the flags ignored", level="warn")
        self.assertEqual(len(warned), 1, pt.log())
        self.assertEqual((warned[0]["first"], warned[0]["count"]), ("positional", "4"))

    def test_namemapping_without_a_capture_group_as_in_process_exporter(self):
        """Taken by both; the mapped comm is then never tracked, even when -procnames lists it."""
        self.w.start("pt-nocap", "sleep", "--tag=blue")
        self.w.start("pt-cap", "sleep", "--tag=red")
        args = ["-procnames", "pt-nocap,pt-cap", "-namemapping", r"pt-nocap,--tag=\S+,pt-cap,--tag=(\S+)"]
        pt = self.serve(*args)
        pe = h.start_process_exporter(*args)
        self.servers.append(pe)
        pt_s, pe_s = h.parse(pt.scrape())[0], h.parse(pe.scrape())[0]
        self.assertEqual(h.groups(pt_s), {"pt-cap:red"})
        self.assertEqual(h.groups(pt_s), h.groups(pe_s))
        warned = h.log_find(pt.log(), "config warning", level="warn")
        self.assertEqual(len(warned), 1, pt.log())
        self.assertIn("has no capture group", warned[0]["warning"])

    def test_legacy_flag_errors_and_manual(self):
        cfg = self.config("process_names:\n  - comm: [x]\n")
        r = subprocess.run([h.PROCTRACK, "-config.path", cfg, "-procnames", "x"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(h.log_find(r.stderr, "-config.path cannot be used with -namemapping or -procnames",
                                        level="error")), 1, r.stderr)
        r = subprocess.run([h.PROCTRACK, "-namemapping", "a,b,c"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        logged = h.log_find(r.stderr, "cannot load the config", level="error", config="-procnames/-namemapping")
        self.assertEqual(len(logged), 1, r.stderr)
        self.assertIn("even number", logged[0]["err"])
        r = subprocess.run([h.PROCTRACK, "-man"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("-namemapping", r.stdout)

    def test_explain_says_why_each_process_is_where_it_is(self):
        # Other tests, run at the same time, start pt_loadgen too: this run's names hold its pid,
        # and its generator's child is the "pt-child" whose parent is that generator.
        lg = "pt-lgx%d" % os.getpid()
        gen = subprocess.Popen([os.path.join(h.HELPERS, "pt_loadgen"), lg,
                                os.path.join(self.w.dir, "ex.dat")], stdout=subprocess.PIPE)
        self.w.procs.append(gen)
        self.assertEqual(gen.stdout.readline().strip(), b"ready")
        lone = self.w.start("pt-lonely", "sleep", "--flag", "value")
        # Names and command lines with line breaks, terminal escapes and bytes that are not UTF-8
        # stay on their row, escaped.
        evil = self.w.start(b"pt-ev\n\x1b[2J", "sleep", b"a\nb\tc\xc2\x9bd\xff\\", argv0="x")
        cfg = self.config("process_names:\n  - comm: [%s]\n    name: lg\n" % lg)
        r = subprocess.run([h.PROCTRACK, "-config.path", cfg, "-explain"], capture_output=True,
                           text=True, errors="surrogateescape", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = r.stdout.rstrip("\n").split("\n")
        lines = {int(line.split()[0]): line for line in rows[1:]}
        self.assertTrue(r.stdout.startswith("PID"))
        self.assertRegex(lines[gen.pid], r"%s\s+lg\s+process_names\[0\] \(%s" % (lg, re.escape(cfg[:10])))
        child = [pid for pid, line in lines.items() if "pt-child" in line and parent(pid) == gen.pid]
        self.assertEqual(len(child), 1, rows)
        child = child[0]
        self.assertRegex(lines[child], r"lg\s+child of %d \(%s\)" % (gen.pid, lg))
        self.assertRegex(lines[lone.pid], r"pt-lonely\s+-\s+no rule matched\s+\S*pt_load pt-lonely sleep --flag value")
        self.assertRegex(lines[evil.pid], r"^%d\s+%s\s" % (evil.pid, re.escape(r"pt-ev\n\x1b[2J")))
        self.assertTrue(lines[evil.pid].endswith(r"  x pt-ev\n\x1b[2J sleep a\nb\tc\xc2\x9bd\xff\\"),
                        lines[evil.pid])
        for line in rows:
            self.assertNotRegex(line, r"[\x00-\x1f\x7f\x80-\x9f\ufffd\udc80-\udcff]")
        # A command line, or "[comm]" without one (another process's last argument may be a
        # space: only this test's own are looked at).
        for pid in (gen.pid, child, lone.pid, evil.pid):
            self.assertNotEqual(lines[pid][-1], " ", lines[pid])
        kernel = [line for line in rows[1:] if re.match(r"\d+\s+kthreadd ", line)]
        for line in kernel:  # (none in a container's pid namespace)
            self.assertTrue(line.endswith("  [kthreadd]"), line)

    def test_debug_logs_each_new_process(self):
        self.w.start("pt-dbg")
        self.w.start(b"pt-d\x1b[1m\nz")
        cfg = self.config("process_names:\n  - comm: [pt-dbg]\n    name: dbg\n")
        s = self.serve("-config.path", cfg, "-debug")
        s.scrape()
        log = s.log()
        joined = h.log_find(log, "new process joins a group", level="debug", comm="pt-dbg", group="dbg")
        self.assertEqual(len(joined), 1, log)
        self.assertEqual(joined[0]["rule"], "process_names[0] (%s:2:5)" % cfg)
        self.assertTrue(h.log_find(log, "new process matches no rule", level="debug"), log)
        # The name with a terminal escape and a line break stays on its line, escaped.
        evil = h.log_find(log, "new process matches no rule", comm="pt-d\x1b[1m\nz")
        self.assertEqual(len(evil), 1, log)
        self.assertIn(r'comm="pt-d\u001b[1m\nz"', log)
        self.assertNotIn("\x1b", log)


if __name__ == "__main__":
    h.main()

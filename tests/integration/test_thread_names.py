"""Thread-name churn: a process whose 1,000 threads each take a new name every 50 ms (the attack
of issue 12, which grew proctrack by some 16 MiB and its scrapes by half a second a minute). For
a bounded time (THREAD_NAMES_SECONDS, 60 by default) proctrack is scraped every second: no scrape
fails, the group never shows more thread names than -threads.max-names and the overflow name,
every thread is counted under some name, and memory stays flat after a warm-up."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

TOOL = os.path.join(h.HELPERS, "threadnames")
DURATION = float(os.environ.get("THREAD_NAMES_SECONDS", "60"))
THREADS = 1000
CAP = 256  # -threads.max-names's default
OVERFLOW = "(other thread names)"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ThreadNamesTest(unittest.TestCase):
    def test_renaming_threads_cost_bounded_memory_and_series(self):
        w = h.Workers()
        # A comm of its own: another process in the group (bench/threadnames.py's, a helper of an
        # earlier run still exiting) would make the thread counts disagree.
        comm = "pt-tn%d" % (os.getpid() % 1000000)
        tool = subprocess.Popen([TOOL, comm, str(THREADS), "50", str(int(DURATION) + 120)],
                                stdout=subprocess.PIPE)
        server = None
        try:
            self.assertEqual(tool.stdout.readline().strip(), b"ready")
            cfg = h.write_config(w.dir, "process_names:\n  - comm: [%s]\n    name: churn\n" % comm)
            server = h.start_proctrack("-config.path", cfg)
            rss = []
            scrapes = 0
            overflowed = 0
            start = time.monotonic()
            while time.monotonic() - start < DURATION:
                began = time.monotonic()
                samples = h.parse(server.scrape())[0]
                scrapes += 1
                names = {labels: v for (name, labels), v in samples.items()
                         if name == "namedprocess_namegroup_thread_count"
                         and dict(labels).get("groupname") == "churn"}
                self.assertLessEqual(len(names), CAP + 1)
                by_name = {dict(labels)["threadname"]: v for labels, v in names.items()}
                if by_name.get(OVERFLOW):
                    overflowed += 1
                # Every live thread is under some name, the cap notwithstanding.
                self.assertEqual(sum(by_name.values()),
                                 h.value(samples, "namedprocess_namegroup_num_threads", groupname="churn"))
                # Warm-up: the table fills in the first scans, the allocator settles in a few more.
                if time.monotonic() - start > DURATION / 3 and not rss:
                    rss.append(rss_kib(server.proc.pid))
                time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
            rss.append(rss_kib(server.proc.pid))
            self.assertGreater(scrapes, 10)
            # Far more names than the cap were live at once: the overflow name was in use.
            self.assertGreater(overflowed, scrapes // 2)
            if not h.SANITIZED:
                # Without the cap this grew by 16 MiB a minute.
                self.assertLess(rss[-1] - rss[0], 4096, rss)
            self.assertEqual(server.stop(), 0)
        finally:
            if server:
                server.stop()
            tool.terminate()
            tool.wait()
            tool.stdout.close()
            w.stop()


if __name__ == "__main__":
    h.main()

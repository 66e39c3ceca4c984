"""Churn and races: processes exit and start by the hundred every second and threads come and go
while proctrack is scraped without pause, for a bounded time. No scrape fails, nothing that merely
exited counts as an error, no group counter decreases, and memory stays flat."""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

SPAWN = os.path.join(os.path.dirname(h.PROCTRACK), "bench", "spawn_idle")
DURATION = float(os.environ.get("CHURN_SECONDS", "8"))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def errors(samples):
    total = 0
    for (name, _labels), v in samples.items():
        if name in ("namedprocess_scrape_procread_errors", "namedprocess_scrape_partial_errors",
                    "namedprocess_scrape_errors"):
            total += v
    return total


class ChurnTest(unittest.TestCase):
    def test_scrapes_under_process_and_thread_churn(self):
        w = h.Workers()
        spawner = subprocess.Popen([SPAWN, "-g", "5", "-c", "300", "-l", "300", "300"],
                                   stdout=subprocess.PIPE)
        server = None
        try:
            self.assertEqual(spawner.stdout.readline().strip(), b"ready")
            w.start("pt-thrchurn", "threadchurn")
            cfg = h.write_config(w.dir, "process_names:\n  - name: '{{.Comm}}'\n"
                                        "    comm: [bench-0, bench-1, bench-2, bench-3, bench-4, pt-thrchurn]\n")
            server = h.start_proctrack("-config.path", cfg)
            first = h.parse(server.scrape())[0]
            base_errors = errors(first)
            counters = {}
            rss = []
            scrapes = 0
            start = time.monotonic()
            while time.monotonic() - start < DURATION:
                samples = h.parse(server.scrape())[0]
                scrapes += 1
                for (name, labels), v in samples.items():
                    if name.endswith("_total") and name.startswith("namedprocess_namegroup_"):
                        key = (name, labels)
                        self.assertGreaterEqual(v, counters.get(key, 0), key)
                        counters[key] = v
                if time.monotonic() - start > 2 and not rss:
                    rss.append(rss_kib(server.proc.pid))  # after warm-up
            rss.append(rss_kib(server.proc.pid))
            last = h.parse(server.scrape())[0]
            self.assertGreater(scrapes, 10)
            if os.geteuid() == 0:
                # As root the exits are counted from the kernel's records, none lost.
                self.assertEqual(h.value(last, "proctrack_exit_accounting", path="taskstats"), 1)
                self.assertGreater(h.value(last, "proctrack_exit_records_total"), 1000)
                self.assertEqual(h.value(last, "proctrack_exit_record_overruns_total"), 0)
            # Exits in the middle of a read are not errors.
            self.assertEqual(errors(last), base_errors)
            # The churning groups are there and full.
            procs = sum(h.value(last, "namedprocess_namegroup_num_procs", groupname="bench-%d" % i) or 0
                        for i in range(5))
            self.assertGreater(procs, 250)
            self.assertGreater(h.value(last, "namedprocess_namegroup_cpu_seconds_total",
                                       groupname="pt-thrchurn", mode="user"), 0)
            # Memory follows the live processes, not the history (~thousands born and gone).
            if not h.SANITIZED:
                self.assertLess(rss[-1] - rss[0], 2048, rss)
        finally:
            if server:
                server.stop()
            spawner.terminate()
            spawner.wait(timeout=60)
            spawner.stdout.close()
            w.stop()


if __name__ == "__main__":
    h.main()

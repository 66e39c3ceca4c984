"""Concurrent scrapes share a running scan instead of queueing scans behind each other."""

import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

SPAWN = os.path.join(os.path.dirname(h.PROCTRACK), "bench", "spawn_idle")


def scans_total(body):
    return h.value(h.parse(body)[0], "proctrack_scans_total")


class ConcurrencyTest(unittest.TestCase):
    def test_concurrent_scrapes_share_scans(self):
        # Enough processes that a scan takes long enough for the scrapes to overlap.
        spawner = subprocess.Popen([SPAWN, "1500", "1", "20"], stdout=subprocess.PIPE)
        server = None
        try:
            self.assertEqual(spawner.stdout.readline().strip(), b"ready")
            server = h.start_proctrack()
            before = scans_total(server.scrape())
            n = 6
            for attempt in range(3):
                barrier = threading.Barrier(n)
                results = [None] * n

                def scrape(i):
                    barrier.wait()
                    results[i] = server.request("GET", "/metrics")

                threads = [threading.Thread(target=scrape, args=(i,)) for i in range(n)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(60)
                self.assertTrue(all(r and r[0] == 200 for r in results))
                bodies = [r[2].decode() for r in results]
                seen = {scans_total(b) for b in bodies}
                after = scans_total(server.scrape())
                if len(seen) < n:
                    break
            # Some scrapes got the same scan (the same body), and fewer scans ran than scrapes.
            self.assertLess(len(seen), n)
            self.assertLess(after - before, (attempt + 1) * n + 1)
            shared = max(bodies.count(b) for b in bodies)
            self.assertGreaterEqual(shared, 2)
        finally:
            if server:
                server.stop()
            spawner.terminate()
            spawner.wait(timeout=60)
            spawner.stdout.close()


if __name__ == "__main__":
    h.main()

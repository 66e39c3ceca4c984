"""proctrack under valgrind through a loop of scrapes with process churn and a config reload, then
SIGTERM: no memory error and nothing definitely or indirectly lost."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

VALGRIND = shutil.which("valgrind")
SPAWN = os.path.join(os.path.dirname(h.PROCTRACK), "bench", "spawn_idle")


@unittest.skipUnless(VALGRIND and not h.SANITIZED, "needs valgrind and an ordinary build")
class ValgrindTest(unittest.TestCase):
    def test_scrape_loop_leaks_nothing(self):
        spawner = subprocess.Popen([SPAWN, "-g", "3", "-c", "50", "-t", "2", "-l", "300", "60"],
                                   stdout=subprocess.PIPE)
        w = h.Workers()
        log = tempfile.NamedTemporaryFile(prefix="pt-vg-", suffix=".log", delete=False)
        log.close()
        server = None
        try:
            self.assertEqual(spawner.stdout.readline().strip(), b"ready")
            w.start("pt-vg", "threadchurn")
            port = h.free_port()
            server = h.Server([VALGRIND, "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                               "--error-exitcode=99", "--log-file=" + log.name, h.PROCTRACK,
                               "-web.listen-address", "127.0.0.1:%d" % port, "-web.enable-lifecycle"],
                              port, timeout=60)
            for i in range(15):
                self.assertEqual(server.request("GET", "/metrics", {"Accept-Encoding": "gzip"}, timeout=30)[0], 200)
                if i == 7:
                    self.assertEqual(server.request("POST", "/-/reload", timeout=30)[0], 200)
            self.assertEqual(server.request("GET", "/", timeout=30)[0], 200)
            self.assertEqual(server.request("GET", "/nope", timeout=30)[0], 404)
            server.proc.send_signal(signal.SIGTERM)
            code = server.proc.wait(timeout=120)
            with open(log.name) as f:
                report = f.read()
            self.assertEqual(code, 0, report[-3000:])
            self.assertIn("ERROR SUMMARY: 0 errors", report)
        finally:
            if server:
                server.stop()
            spawner.terminate()
            spawner.wait(timeout=60)
            spawner.stdout.close()
            w.stop()
            os.unlink(log.name)


if __name__ == "__main__":
    h.main()

"""Every broken config stops start-up before the port is bound, logged with FILE:LINE:COLUMN: reason,
and exit status 2 — never a crash, a hang, or a server running on half a config."""

import glob
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

BAD = os.path.join(h.FIXTURES, "config", "bad")


class BadConfigsTest(unittest.TestCase):
    def check(self, path):
        port = h.free_port()
        r = subprocess.run([h.PROCTRACK, "-config.path", path, "-web.listen-address", "127.0.0.1:%d" % port],
                           capture_output=True, timeout=30)
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 2, "%s: %s" % (path, err))
        logged = h.log_find(err, "cannot load the config", level="error", config=path)
        self.assertEqual(len(logged), 1, "%s: %s" % (path, err))
        self.assertRegex(logged[0]["err"], r"^%s:\d+:\d+: \S" % re.escape(path))
        self.assertNotIn("Sanitizer", err)

    def test_corpus(self):
        files = sorted(glob.glob(os.path.join(BAD, "*")))
        self.assertGreaterEqual(len(files), 30)
        for path in files:
            with self.subTest(path=os.path.basename(path)):
                self.check(path)

    def test_huge_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "huge.yml")
            with open(path, "w") as f:
                f.write("process_names:\n" + "  - comm: [x]\n" * 1500000)
            self.check(path)

    def test_random_bytes(self):
        with tempfile.TemporaryDirectory() as d:
            for seed in range(20):
                path = os.path.join(d, "random%d.yml" % seed)
                with open(path, "wb") as f:
                    f.write(bytes((seed * 7919 + i * 104729) % 256 for i in range(4096)))
                self.check(path)


if __name__ == "__main__":
    h.main()

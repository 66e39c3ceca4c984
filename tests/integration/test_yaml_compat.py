"""proctrack and the real process-exporter (Debian's 0.7.10, yaml.v2 2.4.0) side by side on configs
that use YAML as yaml.v2 reads it (aliases, merge keys, duplicate keys, tags, empty selectors), and
on processes whose argv is not valid UTF-8, which Go's regexp reads with each bad byte as U+FFFD.
The same configs must be accepted or refused by both, and put the same processes in the same
groups. tests/unit/test_rules_yaml.c holds many more cases, each checked the same way by hand."""

import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

ACCEPTED = [
    # (config, the groups of yc-alpha and yc-beta, None for no group)
    ("x: &c [yc-alpha]\nprocess_names:\n - name: ycA\n   comm: *c\n", ("ycA", None)),
    ("x: &m {name: ycM, comm: [yc-beta]}\nprocess_names:\n - *m\n", (None, "ycM")),
    ("b: &b {name: ycBase, comm: [yc-alpha]}\nprocess_names:\n - <<: *b\n   name: ycMine\n",
     ("ycMine", None)),
    ("b: &b {name: ycBase, comm: [yc-alpha]}\nprocess_names:\n - name: ycMine\n   <<: *b\n",
     ("ycBase", None)),
    ("a: &a {name: ycA, comm: [yc-alpha]}\nb: &b {name: ycB, comm: [yc-beta]}\n"
     "process_names:\n - <<: [*a, *b]\n", ("ycA", None)),
    ("process_names:\n - name: yc1\n   name: yc2\n   comm: [yc-alpha]\n   comm: [yc-beta]\n",
     (None, "yc2")),
    ("process_names:\n - name: ycNever\n   comm: []\n - name: ycNext\n   comm: [yc-alpha]\n"
     " - name: !!binary eWNCaW4=\n   exe: [yc-beta]\n", ("ycNext", "ycBin")),
    ("process_names:\n - name: 0x1F\n   comm: [yc-alpha]\n - name: ~\n   comm: [yc-beta]\n",
     ("0x1F", "yc-beta")),
]

REFUSED = [
    # (config, the start of proctrack's reason after FILE:LINE:COL)
    ("process_names:\n - name: yc\n   comm:\n", "2:4: no matchers provided"),
    ("process_names:\n - comm: *nope\n", "2:10: unknown anchor 'nope' referenced"),
    ("process_names:\n - <<: ~\n   comm: [yc-alpha]\n", "2:8: a merge key (<<) needs a mapping"),
    ("process_names:\n - name: !!int abc\n   comm: [yc-alpha]\n",
     r'2:10: \"abc\" is not a valid !!int'),  # as logfmt quotes it
    ("a: &a {name: x, comm: [y]}\nb: &b {<<: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]}\n"
     "c: &c {<<: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]}\nd: &d {<<: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]}\n"
     "process_names:\n - <<: *d\n", "1:"),
]

UTF8_CONFIG = """process_names:
  - name: dot
    cmdline: ['^/opt/x.z ']
  - name: three
    cmdline: ['^/opt/s...e ']
  - name: plus
    cmdline: ['^/opt/p.+$']
  - name: ascii
    cmdline: ['^/opt/a[[:ascii:]]+$']
"""


def worker_groups(samples, names):
    """The groups whose name is in `names`."""
    return {g for g in h.groups(samples) if g in names}


@unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
class YamlCompatTest(unittest.TestCase):
    def both(self, config_path):
        pt = h.start_proctrack("-config.path", config_path)
        try:
            pe = h.start_process_exporter("-config.path", config_path)
        except Exception:
            pt.stop()
            raise
        try:
            time.sleep(0.2)
            return h.parse(pt.scrape())[0], h.parse(pe.scrape())[0]
        finally:
            pt.stop()
            pe.stop()

    def test_same_configs_accepted_with_the_same_groups(self):
        w = h.Workers()
        try:
            w.start("yc-alpha")
            w.start("yc-beta", exe_name="yc-beta")
            for config, (alpha, beta) in ACCEPTED:
                path = h.write_config(w.dir, config)
                pt, pe = self.both(path)
                want = {g for g in (alpha, beta) if g}
                names = {"ycA", "ycM", "ycBase", "ycMine", "ycB", "yc1", "yc2", "ycNever", "ycNext",
                         "ycBin", "0x1F", "yc-alpha", "yc-beta"}
                self.assertEqual(worker_groups(pe, names), want, "process-exporter on\n" + config)
                self.assertEqual(worker_groups(pt, names), want, "proctrack on\n" + config)
        finally:
            w.stop()

    def test_same_configs_refused_with_a_position(self):
        d = h.Workers()
        try:
            for config, reason in REFUSED:
                path = h.write_config(d.dir, config)
                pe = subprocess.run([h.PROCESS_EXPORTER, "-config.path", path,
                                     "-web.listen-address", "127.0.0.1:%d" % h.free_port()],
                                    capture_output=True, timeout=20)
                self.assertNotEqual(pe.returncode, 0, "process-exporter accepted\n" + config)
                pt = subprocess.run([h.PROCTRACK, "-config.path", path,
                                     "-web.listen-address", "127.0.0.1:%d" % h.free_port()],
                                    capture_output=True, timeout=20)
                err = pt.stderr.decode("utf-8", "replace")
                self.assertEqual(pt.returncode, 2, err)
                self.assertIn("%s:%s" % (path, reason), err)
        finally:
            d.stop()

    def test_invalid_utf8_argv_matches_as_in_go(self):
        w = h.Workers()
        try:
            w.start("yc-dot", argv0=b"/opt/x\xffz")
            w.start("yc-three", argv0=b"/opt/s\xed\xa0\x80e")
            w.start("yc-plus", argv0=b"/opt/p\xfe\xc3\xa9")
            w.start("yc-ascii", argv0=b"/opt/a\xff")
            path = h.write_config(w.dir, UTF8_CONFIG)
            pt, pe = self.both(path)
            names = {"dot", "three", "plus", "ascii"}
            self.assertEqual(worker_groups(pe, names), {"dot", "three", "plus"})
            self.assertEqual(worker_groups(pt, names), {"dot", "three", "plus"})
        finally:
            w.stop()

    def test_capture_of_invalid_utf8_is_exported_as_valid_utf8(self):
        # process-exporter's scrape fails here (client_golang refuses the label value); proctrack
        # keeps the original bytes in the capture, as Go does, and writes each bad one as U+FFFD.
        w = h.Workers()
        pt = None
        try:
            w.start("yc-cap", argv0=b"/opt/q\xfe\xc3\xa9")
            path = h.write_config(w.dir, 'process_names:\n  - name: "cap-{{.Matches.all}}"\n'
                                         "    cmdline: ['^/opt/(?P<all>q[^ ]+) yc-cap']\n")
            pt = h.start_proctrack("-config.path", path)
            time.sleep(0.2)
            self.assertIn("cap-q\ufffd\u00e9", h.groups(h.parse(pt.scrape())[0]))
        finally:
            if pt:
                pt.stop()
            w.stop()


if __name__ == "__main__":
    h.main()

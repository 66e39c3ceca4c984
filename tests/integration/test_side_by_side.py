"""proctrack and the real process-exporter (Debian's package) on the same config and the same
processes: the same group names and the same process counts per group."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

# One rule of every kind: comm, exe by basename and by full path, cmdline with named captures,
# the default ExeBase name, and the Username, PID-free templates.
CONFIG = """
process_names:
  - name: "{{.Comm}}"
    comm: [sbs-comm-a, sbs-comm-b]
  - exe: [sbs-exe]
  - name: "fullpath"
    exe: ['%(full)s']
  - name: "svc-{{.Matches.svc}}-{{.Matches.zone}}"
    cmdline: ['--svc=(?P<svc>[a-z]+)', 'zone=(?P<zone>\\d+)']
  - name: "{{.ExeBase}}:{{.Username}}"
    comm: [sbs-user]
  - name: "ci-{{.Comm}}"
    cmdline: ['(?i)SBS-CASE']
"""


@unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
class SideBySideTest(unittest.TestCase):
    def test_same_groups_and_counts_as_process_exporter(self):
        w = h.Workers()
        pt = pe = None
        try:
            full = w.binary("sbs-full")
            w.start("sbs-comm-a")
            w.start("sbs-comm-a")
            w.start("sbs-comm-b")
            w.start("sbs-x1", exe_name="sbs-exe")
            w.start("sbs-x2", exe_name="sbs-exe")
            w.start("sbs-x3", exe_name="sbs-full")
            w.start("sbs-svc", "sleep", "--svc=api", "zone=12")
            w.start("sbs-svc", "sleep", "--svc=api", "zone=12")
            w.start("sbs-svc", "sleep", "--svc=db", "zone=3")
            w.start("sbs-svc", "sleep", "--svc=db")  # second regex fails: no group
            w.start("sbs-user", exe_name="sbs-user-bin")
            w.start("sbs-case", "sleep", "sbs-Case")
            w.start("sbs-none")
            config = h.write_config(w.dir, CONFIG % {"full": full})

            pt = h.start_proctrack("-config.path", config)
            pe = h.start_process_exporter("-config.path", config)
            time.sleep(0.2)
            pt_samples = h.parse(pt.scrape())[0]
            pe_samples = h.parse(pe.scrape())[0]

            pt_groups = h.groups(pt_samples)
            pe_groups = h.groups(pe_samples)
            self.assertEqual(pt_groups, pe_groups)
            self.assertGreaterEqual(len(pt_groups), 8)
            for g in sorted(pt_groups):
                n_pt = h.value(pt_samples, "namedprocess_namegroup_num_procs", groupname=g)
                n_pe = h.value(pe_samples, "namedprocess_namegroup_num_procs", groupname=g)
                self.assertEqual(n_pt, n_pe, "num_procs of %s" % g)
                t_pt = h.value(pt_samples, "namedprocess_namegroup_num_threads", groupname=g)
                t_pe = h.value(pe_samples, "namedprocess_namegroup_num_threads", groupname=g)
                self.assertEqual(t_pt, t_pe, "num_threads of %s" % g)
                o_pt = h.value(pt_samples, "namedprocess_namegroup_oldest_start_time_seconds", groupname=g)
                o_pe = h.value(pe_samples, "namedprocess_namegroup_oldest_start_time_seconds", groupname=g)
                self.assertLessEqual(abs(o_pt - o_pe), 1, "oldest start of %s" % g)

            # The same group families with the same label names.
            pe_fam = h.families(pe_samples)
            pt_fam = h.families(pt_samples)
            for name in pt_fam:
                self.assertIn(name, pe_fam)
                self.assertEqual(pt_fam[name], pe_fam[name], name)
        finally:
            for s in (pt, pe):
                if s:
                    s.close()
            w.stop()

    def test_go_templates_render_the_same_names(self):
        """Name templates beyond fields: process-exporter's text/template output, byte for byte,
        including what Go renders oddly (<no value>, a name cut at an evaluation error)."""
        templates = [
            "{{.Matches}}",
            "{{.Matches.nope}}",
            "x{{.Nope}}y",
            "{{printf \"%.3s-%05d|%q|%v\" .Comm 42 .Matches.svc .StartTime.Month}}",
            "{{if eq .Comm \"sbt1\"}}A{{else if eq .Comm \"sbt4\"}}B{{else}}C{{end}}",
            "{{range $i, $c := .Cgroups}}{{if $i}},{{end}}{{$c}}{{end}}",
            "{{.StartTime.Format \"2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM\"}}|{{.StartTime}}"
            "|{{.StartTime.Unix}}",
            "{{- /* c */ -}} {{len .Cgroups}} {{js \"<a'>\"}} {{urlquery \"a b/c\"}} {{html \"<&>\"}}",
            "{{$v := index .Matches \"svc\"}}{{$v | len}}{{with .Matches.svc}}={{.}}{{end}}",
            "{{.}}",
            "{{print 1 2 \"a\" 3.5 nil}}|{{and .PID 0}}|{{or \"\" .Comm}}|{{slice .Comm 1 3}}|{{index .Comm 0}}",
        ]
        w = h.Workers()
        pt = pe = None
        try:
            lines = ["process_names:"]
            for i, t in enumerate(templates):
                w.start("sbt%d" % i, "sleep", "--svc=api", "zone=12")
                lines.append("  - name: %s" % json.dumps("T%d|%s" % (i, t)))
                lines.append("    comm: [sbt%d]" % i)
                lines.append("    cmdline: ['--svc=(?P<svc>\\w+) (zone)=(\\d+)']")
            config = h.write_config(w.dir, "\n".join(lines) + "\n")
            pt = h.start_proctrack("-config.path", config)
            pe = h.start_process_exporter("-config.path", config)
            time.sleep(0.2)
            pt_names = sorted(h.groups(h.parse(pt.scrape())[0]))
            pe_names = sorted(h.groups(h.parse(pe.scrape())[0]))
            self.assertEqual(len(pe_names), len(templates))
            self.assertIn("T1|<no value>", pe_names)
            self.assertIn("T2|x", pe_names)
            self.assertEqual(pt_names, pe_names)
        finally:
            for s in (pt, pe):
                if s:
                    s.close()
            w.stop()


if __name__ == "__main__":
    h.main()

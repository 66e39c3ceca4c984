"""The Debian package: cpack builds it from the build tree, and what it holds works when unpacked
into a scratch root (binary, config, unit, man page, Depends)."""

import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

BUILD_DIR = os.environ.get("BUILD_DIR", "build")
TIMEOUT = 240


@unittest.skipIf(h.SANITIZED, "a package of a sanitizer build is not one anyone installs")
class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-pkg-")
        out = os.path.join(cls.tmp, "out")
        # -B keeps cpack's staging tree and the .deb out of the build directory.
        r = subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=BUILD_DIR, capture_output=True,
                           text=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        if len(debs) != 1:
            raise AssertionError("expected one .deb, found %r" % debs)
        cls.deb = os.path.join(out, debs[0])
        cls.root = os.path.join(cls.tmp, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.root, rel)

    def info(self, *fields):
        r = subprocess.run(["dpkg-deb", "-f", self.deb] + list(fields), capture_output=True, text=True,
                           timeout=60, check=True)
        return r.stdout

    def test_binary_runs_from_the_scratch_root(self):
        binary = self.path("usr/bin/proctrack")
        self.assertTrue(os.access(binary, os.X_OK))
        r = subprocess.run([binary, "-version"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("proctrack", r.stdout + r.stderr)
        self.assertIn(self.info("Version").strip(), r.stdout + r.stderr)

    def test_config_is_a_valid_conffile(self):
        config = self.path("etc/proctrack/config.yml")
        r = subprocess.run([self.path("usr/bin/proctrack"), "-config.check", "-config.path", config],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        control = os.path.join(self.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", self.deb, control], check=True, timeout=60)
        with open(os.path.join(control, "conffiles")) as f:
            self.assertIn("/etc/proctrack/config.yml", f.read().split())
        postinst = os.path.join(control, "postinst")
        self.assertTrue(os.access(postinst, os.X_OK))
        with open(postinst) as f:
            self.assertIn("adduser --system --group --no-create-home", f.read())
        r = subprocess.run(["sh", "-n", postinst], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_unit_file_runs_the_packaged_paths(self):
        with open(self.path("lib/systemd/system/proctrack.service")) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/bin/proctrack -config.path /etc/proctrack/config.yml", unit)
        self.assertIn("User=proctrack", unit)
        # The exit records need CAP_NET_ADMIN and a netlink socket.
        self.assertIn("CAP_NET_ADMIN", unit.split("AmbientCapabilities=")[1].split("\n")[0])
        self.assertIn("AF_NETLINK", unit.split("RestrictAddressFamilies=")[1].split("\n")[0])

    def test_docs_present(self):
        for name in ("README.md", "BENCHMARKS.md"):
            self.assertTrue(os.path.isfile(self.path("usr/share/doc/proctrack/" + name)), name)

    def test_man_page_renders_and_documents_every_flag(self):
        man = self.path("usr/share/man/man1/proctrack.1.gz")
        with gzip.open(man, "rt") as f:
            roff = f.read()
        self.assertTrue(roff.startswith(".TH PROCTRACK 1"))
        self.assertNotIn("@PROJECT_VERSION@", roff)
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "CONFIGURATION", "SIGNALS",
                        "FILES", "EXIT STATUS", "SEE ALSO"):
            self.assertIn(".SH " + section + "\n", roff)
        # Every flag `proctrack -h` lists appears in OPTIONS (roff spells '-' as '\-').
        r = subprocess.run([h.PROCTRACK, "-h"], capture_output=True, text=True, timeout=30)
        flags = [line.split()[0] for line in r.stderr.splitlines() + r.stdout.splitlines()
                 if line.startswith("  -")]
        self.assertGreater(len(flags), 20)
        options = roff.split(".SH OPTIONS")[1].split(".SH ")[0].replace("\\-", "-")
        for flag in flags:
            self.assertRegex(options, r"\.B[I]? %s(\s|$)" % flag.replace(".", r"\."), flag)

        if shutil.which("groff"):
            r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=roff, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(r.stderr, "")
        if shutil.which("man"):
            env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0")
            r = subprocess.run(["man", "-l", man], capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            # man may print bold as "S\bSI\bI..." when stdout is not a terminal.
            self.assertIn("SIGHUP", re.sub(".\b", "", r.stdout))

    def test_depends_lists_the_shared_libraries(self):
        r = subprocess.run(["dpkg-deb", "-I", self.deb], capture_output=True, text=True, timeout=60, check=True)
        depends = [line for line in r.stdout.splitlines() if line.strip().startswith("Depends:")]
        self.assertEqual(len(depends), 1, r.stdout)
        for pkg in ("libyaml-0-2", "libmicrohttpd12", "libpcre2-8-0", "zlib1g", "libgnutls30", "libcrypt1",
                    "adduser"):
            self.assertIn(pkg, depends[0])
        # Every library the binary links directly (DT_NEEDED) comes from a package it depends on;
        # what those pull in (p11-kit under gnutls, ...) their own packages depend on.
        if shutil.which("ldd") and shutil.which("readelf") and shutil.which("dpkg-query"):
            binary = self.path("usr/bin/proctrack")
            r = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, timeout=60)
            needed = set(re.findall(r"\(NEEDED\).*\[(.+)\]", r.stdout))
            self.assertIn("libyaml-0.so.2", needed)
            r = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=60)
            for line in r.stdout.splitlines():
                parts = line.split("=>")
                if len(parts) != 2 or not parts[1].strip().startswith("/") or parts[0].strip() not in needed:
                    continue
                lib = parts[1].split()[0]
                q = subprocess.run(["dpkg-query", "-S", lib], capture_output=True, text=True, timeout=60)
                if q.returncode != 0:
                    q = subprocess.run(["dpkg-query", "-S", os.path.realpath(lib)], capture_output=True,
                                       text=True, timeout=60)
                if q.returncode != 0:
                    continue  # not from a package here (e.g. a sanitizer build's runtime)
                owner = q.stdout.split(":")[0]
                self.assertIn(owner, depends[0], lib)


if __name__ == "__main__":
    h.main()

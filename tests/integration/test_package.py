"""The Debian package: cpack builds it from the build tree, lintian finds nothing wrong with it, what
it holds works when unpacked into a scratch root (binary, config, unit, man page, Depends), and,
when run as root, installing it enables the service and purging it leaves nothing behind."""

import fcntl
import gzip
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

BUILD_DIR = os.environ.get("BUILD_DIR", "build")
TIMEOUT = 240
UNIT = "lib/systemd/system/proctrack.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/proctrack.service"


def default_args(path):
    """The words of ARGS in an /etc/default file, split as systemd's $ARGS splits them."""
    with open(path) as f:
        for line in f:
            if line.startswith("ARGS="):
                words = shlex.split(line[len("ARGS="):])
                return words[0].split() if words else []
    raise AssertionError("no ARGS= in " + path)


def verify_unit(path):
    """What systemd-analyze finds wrong with a unit file, but for the binary not being installed."""
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True,
                       timeout=60)
    return [line for line in r.stderr.splitlines() if "/usr/bin/proctrack is not executable" not in line]


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
        subprocess.run(["dpkg-deb", "-e", cls.deb, os.path.join(cls.tmp, "control")], check=True, timeout=60)

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

    def control(self, name):
        with open(os.path.join(self.tmp, "control", name)) as f:
            return f.read()

    def test_lintian_reports_no_errors_or_warnings(self):
        # -I --pedantic shows every tag; errors and warnings, the default profile's, must be none.
        r = subprocess.run(["lintian", "--pedantic", "-I", "--tag-display-limit", "0", self.deb],
                           capture_output=True, text=True, timeout=TIMEOUT)
        tags = [line for line in r.stdout.splitlines() if re.match(r"[EWIPX]: proctrack", line)]
        self.assertEqual([t for t in tags if t[0] in "EW"], [], r.stdout + r.stderr)
        self.assertEqual([t for t in tags if ": hardening-" in t], [], r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_binary_is_stripped_and_hardened(self):
        binary = self.path("usr/bin/proctrack")
        r = subprocess.run(["readelf", "-W", "-S", "-d", "-l", "--dyn-syms", binary], capture_output=True,
                           text=True, timeout=60, check=True)

        def has(pattern):
            return re.search(pattern, r.stdout) is not None

        self.assertFalse(has(r"\.symtab|\.debug_info|\.comment"), "not stripped")
        self.assertTrue(has(r"\(FLAGS_1\).*\bNOW\b.*\bPIE\b"), "no bindnow or not PIE")
        self.assertTrue(has(r"\bGNU_RELRO\b"), "no relro")
        self.assertTrue(has(r"\b__stack_chk_fail\b"), "no -fstack-protector-strong")
        self.assertTrue(has(r"\b__(?!stack_)\w+_chk\b"), "no _FORTIFY_SOURCE")

    def test_config_default_file_and_scripts(self):
        config = self.path("etc/proctrack/config.yml")
        r = subprocess.run([self.path("usr/bin/proctrack"), "-config.check", "-config.path", config],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(default_args(self.path("etc/default/proctrack")),
                         ["-config.path", "/etc/proctrack/config.yml"])
        self.assertEqual(sorted(self.control("conffiles").split()),
                         ["/etc/default/proctrack", "/etc/proctrack/config.yml"])
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.tmp, "control", script)
            self.assertTrue(os.access(path, os.X_OK), script)
            r = subprocess.run(["sh", "-n", path], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_changelog_and_copyright(self):
        with gzip.open(self.path("usr/share/doc/proctrack/changelog.gz"), "rt") as f:
            first = f.readline()
        self.assertTrue(first.startswith("proctrack (%s) " % self.info("Version").strip()), first)
        with open(self.path("usr/share/doc/proctrack/copyright")) as f:
            copyright = f.read()
        self.assertTrue(copyright.startswith(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"))
        self.assertIn("\nFiles: *\n", copyright)
        maintainer = self.info("Maintainer").strip()
        self.assertRegex(maintainer, r"^[^<]+ <[^@>]+@[a-z0-9-]+(\.[a-z0-9-]+)+>$")
        self.assertNotRegex(maintainer, r"@(localhost|.*\.(local|localdomain|example))>")

    def test_unit_file_runs_the_packaged_paths(self):
        with open(self.path(UNIT)) as f:
            unit = f.read()
        self.assertIn("\nDocumentation=man:proctrack(1) https://", unit)
        self.assertIn("\nEnvironmentFile=-/etc/default/proctrack\n", unit)
        self.assertIn("\nExecStart=/usr/bin/proctrack $ARGS\n", unit)
        self.assertIn("\nUser=proctrack\n", unit)
        self.assertIn("\nWantedBy=multi-user.target\n", unit)
        # The exit records need CAP_NET_ADMIN and a netlink socket.
        self.assertIn("CAP_NET_ADMIN", unit.split("AmbientCapabilities=")[1].split("\n")[0])
        self.assertIn("AF_NETLINK", unit.split("RestrictAddressFamilies=")[1].split("\n")[0])
        if shutil.which("systemd-analyze"):
            self.assertEqual(verify_unit(self.path(UNIT)), [])

    def test_docs_present(self):
        for name in ("README.md", "BENCHMARKS.md"):
            self.assertTrue(os.path.isfile(self.path("usr/share/doc/proctrack/" + name)), name)

    def test_man_page_renders_and_documents_every_flag(self):
        man = self.path("usr/share/man/man1/proctrack.1.gz")
        with gzip.open(man, "rt") as f:
            roff = f.read()
        self.assertTrue(roff.startswith('.TH PROCTRACK 1 "" "proctrack %s"' % self.info("Version").strip()),
                        roff.split("\n")[0])
        self.assertNotIn("@", roff)  # no configure_file placeholder left
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
                    "libjansson4", "adduser"):
            self.assertIn(pkg, depends[0])
        # dpkg-shlibdeps' minimum versions, as a package built by debhelper carries them.
        self.assertRegex(depends[0], r"\blibc6 \(>= [0-9.]+\)")
        self.assertRegex(depends[0], r"\blibmicrohttpd12 \(>= [0-9.]+\)")
        self.assertEqual(self.info("Section").strip(), "net")
        self.assertEqual(self.info("Priority").strip(), "optional")
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

    def installed(self):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Status}", "proctrack"], capture_output=True, text=True,
                           timeout=60)
        return r.stdout.strip()

    def dpkg(self, *args):
        # apt-get waits for the dpkg lock that another apt-get on the machine may hold.
        r = subprocess.run(["apt-get", "-y", "-qq", "-o", "DPkg::Lock::Timeout=300"] + list(args),
                           capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "installs the package: root only")
    def test_install_enables_and_purge_removes(self):
        # One at a time on this machine (other checkouts run this test too), and never over a
        # proctrack someone installed.
        with open("/run/lock/proctrack-test-package.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.installed():
                self.skipTest("proctrack is installed here: " + self.installed())
            try:
                pwd.getpwnam("proctrack")
                had_user = True
            except KeyError:
                had_user = False
            # Where systemd runs, the postinst would start the service: deny it, as scripts/deps.sh.
            policy = "/usr/sbin/policy-rc.d"
            own_policy = not os.path.exists(policy)
            if own_policy:
                with open(policy, "w") as f:
                    f.write("#!/bin/sh\nexit 101\n")
                os.chmod(policy, 0o755)
            try:
                self.check_install_and_purge()
            finally:
                if self.installed():
                    subprocess.run(["dpkg", "--purge", "proctrack"], capture_output=True, timeout=300)
                # Whatever a failed purge left of the enabled state.
                subprocess.run(["deb-systemd-helper", "purge", "proctrack.service"], capture_output=True,
                               timeout=60, env=dict(os.environ, DPKG_MAINTSCRIPT_PACKAGE="proctrack"))
                if not had_user:
                    subprocess.run(["userdel", "proctrack"], capture_output=True, timeout=60)
                    subprocess.run(["groupdel", "proctrack"], capture_output=True, timeout=60)
                if own_policy:
                    os.unlink(policy)

    def check_install_and_purge(self):
        self.dpkg("install", self.deb)
        self.assertEqual(self.installed(), "install ok installed")
        # Enabled as dh_installsystemd enables Debian's exporters, systemd running or not.
        self.assertEqual(os.readlink(WANTS), "/" + UNIT)
        user = pwd.getpwnam("proctrack")
        self.assertLess(user.pw_uid, 1000)
        self.assertEqual(user.pw_dir, "/nonexistent")
        if shutil.which("systemd-analyze"):
            self.assertEqual(verify_unit("/" + UNIT), [])
        if shutil.which("man"):
            r = subprocess.run(["man", "-w", "proctrack"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.stdout.strip(), "/usr/share/man/man1/proctrack.1.gz", r.stderr)

        # What the unit runs: ARGS from the default file, as the proctrack user; the packaged
        # config's catch-all group sees this test's process.
        args = default_args("/etc/default/proctrack")
        port = h.free_port()
        server = h.Server(["setpriv", "--reuid=proctrack", "--regid=proctrack", "--clear-groups", "--",
                           "/usr/bin/proctrack"] + args + ["-web.listen-address", "127.0.0.1:%d" % port], port)
        try:
            samples, _ = h.parse(server.scrape())
        finally:
            server.stop()
        self.assertGreater(sum(v for (name, _), v in samples.items()
                               if name == "namedprocess_namegroup_num_procs"), 0)

        # An administrator's disable survives an upgrade (here: the same version again).
        subprocess.run(["systemctl", "disable", "proctrack.service"], check=True, capture_output=True,
                       timeout=60)
        self.assertFalse(os.path.lexists(WANTS))
        self.dpkg("install", "--reinstall", self.deb)
        self.assertFalse(os.path.lexists(WANTS))

        self.dpkg("purge", "proctrack")
        self.assertEqual(self.installed(), "")
        for path in ("/usr/bin/proctrack", "/etc/default/proctrack", "/etc/proctrack", "/" + UNIT, WANTS,
                     "/var/lib/systemd/deb-systemd-helper-enabled/proctrack.service.dsh-also",
                     "/var/lib/systemd/deb-systemd-helper-masked/proctrack.service"):
            self.assertFalse(os.path.lexists(path), path)


if __name__ == "__main__":
    h.main()

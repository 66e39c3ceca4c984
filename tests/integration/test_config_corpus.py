"""Every config of tests/fixtures/corpus/, run by proctrack and by the real process-exporter (Debian's
0.7.10) on the same live processes: both accept it or both refuse it, and both report the same
group names with the same num_procs. A config whose header has a `# deliberate:` line may differ
(the line says why), but never by proctrack refusing a config that process-exporter takes.

Header lines of a corpus file (comments at its top):
  # source: where the config comes from
  # compare: workers   only the groups whose name holds "ctw" are compared (catch-all configs, which
                       also group the host's other processes)
  # args: ...          the command line instead of `-config.path FILE` ({config} is the file)
  # deliberate: ...    a documented difference
In the config, @DIR@ stands for the directory of the workers' executables."""

import concurrent.futures
import glob
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

CORPUS = os.path.join(h.FIXTURES, "corpus")
MARK = "ctw"
NAMELESS_UID = 54321  # a uid that /etc/passwd has no name for
# Configs run at once (each by both exporters): the whole corpus stays within about a minute on
# a busy 2-core machine.
PARALLEL = 4


def read_header(path):
    header = {"source": [], "compare": "all", "args": None, "deliberate": []}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("#"):
                break
            key, sep, rest = line[1:].strip().partition(":")
            if not sep:
                continue
            rest = rest.strip()
            if key in ("source", "deliberate"):
                header[key].append(rest)
            elif key == "compare":
                header["compare"] = rest
            elif key == "args":
                header["args"] = shlex.split(rest)
    return header


class Fleet(h.Workers):
    """The workers every config is run against: varied comm, argv[0] (absolute, relative, empty,
    ending in "/"), arguments with spaces, control characters, unicode and invalid UTF-8, empty
    arguments, a rewritten argv, three users (one without a name), a child that matches nothing
    itself, a zombie. All names hold "ctw", and every config's selectors name them, so no other
    process of the host joins their groups."""

    def __init__(self):
        super().__init__()
        os.chmod(self.dir, 0o755)  # the unprivileged worker executes from here

    def spawn(self, exe_name, comm, *args, mode="sleep", argv0=None, user=None):
        path = self.binary(exe_name)
        argv = [path if argv0 is None else argv0, comm, mode] + list(args)
        preexec = None
        if user is not None:  # a name, or a bare uid (with the same gid)
            uid, gid = (user, user) if isinstance(user, int) else pwd.getpwnam(user)[2:4]

            def preexec():
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
        p = subprocess.Popen(argv, executable=path, cwd=self.dir, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, preexec_fn=preexec)
        self.procs.append(p)
        line = p.stdout.readline()
        assert line.strip() == b"ready", "worker %s did not start: %r" % (comm, line)
        return p

    def spawn_parent_and_child(self):
        """ctw-parent, whose child ctw-kid matches no rule of its own: with -children, it joins
        the group of its parent."""
        parent, kid = self.binary("ctw-par"), self.binary("ctw-kid")
        script = '"$1" ctw-kid sleep & exec "$2" ctw-parent sleep'
        p = subprocess.Popen(["/bin/sh", "-c", script, "sh", kid, parent], cwd=self.dir,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        for _ in range(2):
            line = p.stdout.readline()
            assert line.strip() == b"ready", "parent/child did not start: %r" % line
        deadline = time.monotonic() + 5
        while True:  # the kid is the parent's child once the shell has exec'd into ctw-parent
            with open("/proc/%d/comm" % p.pid) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = [int(k) for k in f.read().split()]
            if comm == "ctw-parent" and kids:
                self.kids = kids
                break
            assert time.monotonic() < deadline, "ctw-parent did not settle"
            time.sleep(0.01)

    def spawn_zombie_parent(self):
        """ctw-zparent, whose child ctw-zombie (a copy of true) has exited unreaped: a zombie,
        with its comm but no command line."""
        zombie = os.path.join(self.dir, "ctw-zombie")
        shutil.copy(shutil.which("true"), zombie)
        parent = self.binary("ctw-zpar")
        script = '"$1" & exec "$2" ctw-zparent sleep'
        p = subprocess.Popen(["/bin/sh", "-c", script, "sh", zombie, parent], cwd=self.dir,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        assert p.stdout.readline().strip() == b"ready", "ctw-zparent did not start"
        deadline = time.monotonic() + 5
        while True:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = [int(k) for k in f.read().split()]
            states = []
            for k in kids:
                with open("/proc/%d/stat" % k) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            if states == ["Z"]:
                break
            assert time.monotonic() < deadline, "no zombie under ctw-zparent: %r" % states
            time.sleep(0.01)

    def stop(self):
        for pid in getattr(self, "kids", []):
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
        super().stop()


def start_fleet():
    w = Fleet()
    try:
        other_user = "nobody" if os.geteuid() == 0 else None
        w.spawn("ctw-alpha", "ctw-alpha")
        w.spawn("ctw-alpha", "ctw-alpha")
        w.spawn("ctw-bin", "ctw-beta", "--svc=api", "zone=12")
        w.spawn("ctw-bin", "ctw-beta", "--svc=db", "zone=3")
        w.spawn("ctw-bin", "ctw-beta", "--svc=db")
        w.spawn("ctw-bin", "ctw-spaces", "hello world", "two  spaces", argv0="./ctw-bin")
        w.spawn("ctw-uni", "ctw-unicode", "--name=café", "日本語")
        w.spawn("ctw-bad", "ctw-badutf8", b"--x=\xff\xfe", b"/opt/x\xffz")
        w.spawn("ctw-user", "ctw-nobody", "--as=other", user=other_user)
        w.spawn("ctw-nouser", "ctw-nouser", user=NAMELESS_UID if os.geteuid() == 0 else None)
        w.spawn("ctw-ctrl", "ctw-ctrl", "vt-a\x0bb", "cr-c\rd")
        w.spawn("ctw-empty", "ctw-emptyargs", "x", "", "y", "", "")
        w.spawn("ctw-rw", "ctw-rewrite", "ctw-rewrite: worker process -c /etc/ctw.conf", mode="rewrite")
        w.spawn("ctw-very-long-executable-name", "ctw-longcommname-x")
        w.spawn("ctw-python3", "ctw-python3", "-u", "/srv/ctw/app.py", "--init=arg1")
        w.spawn("ctw-python3", "ctw-python3", "-u", "/srv/ctw/app.py", "--init=arg2")
        w.spawn("ctw-java", "ctw-java", "-Xmx1g", "-Dprocess_name=ctw_proc", "-jar", "/opt/ctw/app.jar")
        w.spawn("ctw-postmaster", "ctw-postmaster", "-D", "/data/ctwpg")
        w.spawn("ctw-exporter", "ctw-exporter", "-config.path", "/etc/ctw/x.yml")
        w.spawn("ctw-web", "ctw web 1")
        w.spawn("ctw-upper", "ctw-UPPER", "CTW-CASE")
        w.spawn_parent_and_child()
        w.spawn_zombie_parent()
        w.spawn("ctw-noargv0", "ctw-noargv0", argv0="")
        w.spawn("ctw-sdir", "ctw-slash", argv0="/opt/ctw/ctw-sdir/")
    except BaseException:
        w.stop()
        raise
    return w


_ports_lock = threading.Lock()
_ports_given = set()


def unique_port():
    """A free port not handed out before in this run: the kernel may offer one port twice in a
    row, and an exporter started on a port another config's exporter still holds would fail to
    bind while its readiness probe reached the other one."""
    with _ports_lock:
        while True:
            port = h.free_port()
            if port not in _ports_given:
                _ports_given.add(port)
                return port


def run_one(start, args):
    """Starts an exporter, scrapes it once and stops it: ("accepted", {group: num_procs}),
    ("refused", log) when it stops at start-up, or ("crashed", log) when it panics once serving
    (process-exporter does on a group name that is not valid UTF-8)."""
    try:
        server = start(*args, port=unique_port())
    except RuntimeError as e:
        return ("crashed" if "panic:" in str(e) else "refused"), str(e)
    try:
        try:  # the readiness probe already scraped once
            text = server.scrape()
        except (OSError, AssertionError):
            server.stop()
            return "crashed", server.log()
        # Still running: what answered was this exporter.
        assert server.proc.poll() is None, "exporter exited while serving: %s" % server.log()
        samples = h.parse(text)[0]
        procs = {}
        for (name, labels), v in samples.items():
            if name == "namedprocess_namegroup_num_procs":
                procs[dict(labels)["groupname"]] = v
        return "accepted", procs
    finally:
        server.close()


def worker_panic(log):
    """Whether process-exporter's panic names a label value of the workers."""
    panic = next((l for l in log.splitlines() if l.startswith("panic:")), "")
    return MARK in panic


def run_config(path, dir_):
    header = read_header(path)
    with open(path, "rb") as f:
        text = f.read().replace(b"@DIR@", dir_.encode())
    config = os.path.join(dir_, "cfg-" + os.path.basename(path))
    with open(config, "wb") as f:
        f.write(text)
    args = header["args"] or ["-config.path", "{config}"]
    args = [a.replace("{config}", config) for a in args]
    catch_all = header["compare"] == "workers"
    if catch_all:
        # process-exporter panics on a thread name that is not UTF-8 in any group it reports: a
        # catch-all config reports the host's other processes too, so it goes without threads.
        args.append("-threads=false")
    for _ in range(5):
        pe = run_one(h.start_process_exporter, args)
        # ... and on such a group name: a process of the host (another test's) is noise to wait
        # out, a worker is what the config is about.
        if not (catch_all and pe[0] == "crashed" and not worker_panic(pe[1])):
            break
        time.sleep(1)
    else:
        pe = ("noise", pe[1])
    pt = run_one(h.start_proctrack, args)
    if catch_all:
        for result in (pe, pt):
            if result[0] == "accepted":
                for g in [g for g in result[1] if MARK not in g]:
                    del result[1][g]
    return header, pe, pt


def difference(pe, pt):
    """None when both exporters agree, else a one-line account of how they differ."""
    if pe[0] != pt[0]:
        lines = (pt[1] if pt[0] != "accepted" else pe[1]).strip().splitlines()
        why = next((l for l in lines if l.startswith("panic:") or "level=error" in l), lines[0])
        return "process-exporter %s, proctrack %s: %s" % (pe[0], pt[0], why[:300])
    if pe[0] != "accepted":
        return None
    if pe[1] == pt[1]:
        return None
    only_pe = {g: n for g, n in pe[1].items() if pt[1].get(g) != n}
    only_pt = {g: n for g, n in pt[1].items() if pe[1].get(g) != n}
    return "groups differ: process-exporter %r, proctrack %r" % (only_pe, only_pt)


@unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
class ConfigCorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = sorted(glob.glob(os.path.join(CORPUS, "*.yml")))
        cls.fleet = start_fleet()
        cls.results = {}
        try:
            with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
                futures = {pool.submit(run_config, p, cls.fleet.dir): p for p in cls.files}
                for fut in concurrent.futures.as_completed(futures):
                    cls.results[os.path.basename(futures[fut])] = fut.result()
        finally:
            cls.fleet.stop()

    def test_corpus_size_and_headers(self):
        self.assertGreaterEqual(len(self.files), 60)
        for name, (header, _, _) in self.results.items():
            self.assertTrue(header["source"], "%s has no '# source:' line" % name)

    def test_process_exporter_sees_the_workers(self):
        """The comparison means something only if the configs do select the workers: most
        configs give process-exporter at least one group."""
        with_groups = [n for n, (_, pe, _) in self.results.items() if pe[0] == "accepted" and pe[1]]
        self.assertGreaterEqual(len(with_groups), 45, sorted(with_groups))

    def test_same_verdict_and_groups_as_process_exporter(self):
        report = []
        for name in sorted(self.results):
            header, pe, pt = self.results[name]
            diff = difference(pe, pt)
            deliberate = header["deliberate"]
            with self.subTest(config=name):
                if pe[0] == "noise":
                    self.skipTest("process-exporter kept panicking on another process of the host: %s"
                                  % pe[1])
                if diff and deliberate:
                    self.assertFalse(pe[0] == "accepted" and pt[0] != "accepted",
                                     "%s: proctrack %s a config process-exporter takes: %s"
                                     % (name, pt[0], diff))
                    report.append("%s: deliberate: %s" % (name, diff))
                    continue
                self.assertIsNone(diff, "%s: %s" % (name, diff))
                # A documented difference that no longer shows is stale.
                self.assertFalse(deliberate, "%s: marked deliberate but both agree" % name)
        if os.environ.get("CORPUS_VERBOSE"):
            for name in sorted(self.results):
                _, pe, pt = self.results[name]
                print("%s\n  pe %s %r\n  pt %s %r" % (name, pe[0], pe[1], pt[0], pt[1]), file=sys.stderr)
        if report:
            print("\n".join(report), file=sys.stderr)


if __name__ == "__main__":
    h.main()

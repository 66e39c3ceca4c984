"""The whole exposition, byte for byte: fixture trees (a plain host, the same with -threads=false
and without smaps, and a PVE host) scraped three times — the baseline, growth with a new process,
then an exit, a pid reuse and a VM restart — and compared with tests/golden/<case>.prom.

Only what depends on the clock or the build is masked: the scan's duration, the time of the last
config load, proctrack's own process_* values and the revision, branch and compiler of
proctrack_build_info. To accept a deliberate change of the output:
    GOLDEN_UPDATE=1 python3 tests/integration/test_golden.py
and review the diff of tests/golden/ like any other change."""

import difflib
import os
import re
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from pve_tree import Host, read_cmdline_fixture  # noqa: E402

GOLDEN = os.path.join(os.environ.get("SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", "..")),
                      "tests", "golden")
PVE = os.path.join(h.FIXTURES, "pve")
QEMU = "/usr/bin/qemu-system-x86_64"
# A start time far beyond any real uptime: the process was born after the first scan, so its
# whole usage counts, and the output does not depend on this machine's uptime.
LATE = 10 ** 11

CLOCK_VALUES = re.compile(r"^(proctrack_scrape_duration_seconds|"
                          r"proctrack_config_last_reload_success_timestamp_seconds|"
                          r"process_[a-z_]+) \S+$", re.M)
BUILD_LABELS = re.compile(r'^proctrack_build_info\{branch="[^"]*",compiler="[^"]*",revision="[^"]*",',
                          re.M)

PLAIN_CONFIG = r"""
process_names:
  - name: "db:{{.Matches.db}}"
    cmdline: ['postgres: (?P<db>\w+) ']
  - name: web
    comm: [nginx]
  - name: "{{.ExeBase}}:{{.Username}}"
    exe: [/usr/bin/bash]
  - name: "{{.Comm}}"
    comm: [awk]
"""


def mask(text):
    text = BUILD_LABELS.sub('proctrack_build_info{branch="<b>",compiler="<c>",revision="<r>",', text)
    return CLOCK_VALUES.sub(lambda m: m.group(1) + " <clock>", text)


def plain_host(root):
    host = Host(root)
    nginx_threads = [(100, "nginx", {"vol": 10, "utime": 50}), (102, "worker", {"vol": 3, "utime": 7}),
                     (103, "worker", {"vol": 4, "utime": 8, "state": "R"})]
    host.process(100, "nginx", ["nginx: master process /usr/sbin/nginx"], "/usr/sbin/nginx",
                 threads=nginx_threads, utime=65, stime=12, minflt=300, majflt=2, rss=1000,
                 vsize=50000000, vol=17, nonvol=2, read_bytes=4096, write_bytes=512, swap_kb=8)
    host.process(101, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", ppid=100, utime=5)
    host.process(200, "bash", ["/usr/bin/bash"], "/usr/bin/bash", utime=3, vol=40, nonvol=1)
    host.process(201, "sleep", ["sleep", "1000"], "/usr/bin/sleep", ppid=200, state="S")
    host.process(300, "postgres", ["postgres: main idle"], "/usr/lib/postgresql/15/bin/postgres",
                 utime=1000, stime=500, read_bytes=1 << 30, write_bytes=1 << 20, rss=25000, vol=9)
    host.process(301, "postgres", ["postgres: other idle"], "/usr/lib/postgresql/15/bin/postgres",
                 utime=1, rss=20000)
    host.process(400, "kworker/0:1", [], "", utime=2)
    return host


def plain_growth(host):
    nginx_threads = [(100, "nginx", {"vol": 15, "utime": 60}), (102, "worker", {"vol": 9, "utime": 20}),
                     (104, "worker", {"vol": 2, "utime": 1, "start": LATE})]
    host.process(100, "nginx", ["nginx: master process /usr/sbin/nginx"], "/usr/sbin/nginx",
                 threads=nginx_threads, utime=81, stime=20, minflt=350, majflt=3, rss=1100,
                 vsize=50000000, vol=26, nonvol=3, read_bytes=8192, write_bytes=1024, swap_kb=16)
    host.process(101, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", ppid=100, utime=9)
    host.process(200, "bash", ["/usr/bin/bash"], "/usr/bin/bash", utime=4, vol=45, nonvol=1)
    host.process(202, "make", ["make", "-j2"], "/usr/bin/make", ppid=200, start=LATE, utime=70,
                 stime=30, minflt=5000, rss=300)
    host.process(300, "postgres", ["postgres: main idle"], "/usr/lib/postgresql/15/bin/postgres",
                 utime=1100, stime=520, read_bytes=(1 << 30) + 4096, write_bytes=1 << 21, rss=25000,
                 vol=12)
    host.process(301, "postgres", ["postgres: other idle"], "/usr/lib/postgresql/15/bin/postgres",
                 utime=1, rss=20000)


def plain_exits(host):
    host.remove(202)  # make exited
    host.remove(301)  # the pid of postgres "other" is reused by an unrelated program
    host.process(301, "awk", ["awk", "{print}"], "/usr/bin/awk", start=LATE + 5, utime=11, stime=2)
    host.process(101, "nginx", ["nginx: worker process"], "/usr/sbin/nginx", ppid=100, utime=6)


def pve_host(root):
    host = Host(root)
    argv_a = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
    argv_b = read_cmdline_fixture(os.path.join(PVE, "cmdline-b.txt"))
    threads = [(5000, "kvm", {"vol": 5})] + [(5010 + i, "CPU %d/KVM" % i, {"vol": 10}) for i in range(4)]
    host.process(5000, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope", threads=threads, utime=1000,
                 stime=200, blkio=5, guest=900, read_bytes=4096, write_bytes=8192, rchar=10000,
                 wchar=20000, syscr=100, syscw=200, vmrss_kb=2000000, rss=500000, vsize=3000000000)
    host.process(5001, "swtpm", ["swtpm", "socket", "--terminate"], "/usr/bin/swtpm",
                 "0::/qemu.slice/100.scope", utime=10)
    host.process(6000, "kvm", argv_b, QEMU + " (deleted)", "0::/qemu.slice/103.scope", utime=50,
                 vmrss_kb=1000)
    host.process(8000, "kvm", ["/usr/bin/kvm", "-id", "104", "-name", "mig,debug-threads=on",
                               "-smp", "2,sockets=1,cores=2,maxcpus=2", "-m", "1024",
                               "-incoming", "defer", "-S"], QEMU, "0::/qemu.slice/104.scope")
    host.process(9000, "pvedaemon", ["pvedaemon"], "/usr/bin/perl", utime=77)
    host.config(100, "cores: 4\ncpu: x86-64-v2-AES\nmemory: 2048\nname: s\n"
                "net0: virtio=BC:24:11:5F:A8:91,bridge=vmbr0,firewall=1,queues=4\n"
                "net1: e1000=BC:24:11:5F:A8:92\nsockets: 1\ntags: prod;web\n")
    with open(os.path.join(PVE, "103.conf")) as f:
        host.config(103, f.read())
    host.config(101, "memory: 1024\nname: stopped\n")  # configured, never running
    host.pools("pool:prod/web::100,101::\npool:lab::103,201::\n")
    host.tap("tap100i0", rx_bytes=1000, tx_bytes=2000, rx_packets=10, tx_packets=20)
    host.tap("tap103i0", rx_bytes=5, tx_bytes=6)
    host.scope(100, cpu_some_us=1000000, cpu_full_us=500000, io_some_us=200000, memory_current=2100000000)
    host.scope(103, cpu_some_us=10, memory_current=1000)
    # Container 200: its lxc-start monitor and its init, as pve-container lays them out.
    host.lxc_config(200, "arch: amd64\ncores: 2\nhostname: dns\nmemory: 1024\nostype: alpine\n"
                         "swap: 512\ntags: infra\nunprivileged: 1\n")
    host.process(7000, "lxc-start", ["[lxc monitor] /var/lib/lxc 200"], "/usr/bin/lxc-start",
                 "0::/lxc.monitor/200", utime=3)
    host.process(7001, "init", ["/sbin/init"], "/sbin/init", "0::/lxc/200/ns", ppid=7000, utime=40)
    host.lxc_cgroup(200, user_usec=400000, system_usec=100000, memory_current=90000000,
                    swap_current=4096, anon=60000000, file=20000000, cpu_some_us=1000,
                    io="8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n")
    host.tap("veth200i0", rx_bytes=100, tx_bytes=200, rx_packets=1, tx_packets=2)
    host.lxc_config(201, "hostname: backup\nostype: debian\ntemplate: 1\n")  # configured, stopped
    return host


def pve_growth(host):
    argv_a = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
    threads = [(5000, "kvm", {"vol": 6})] + [(5010 + i, "CPU %d/KVM" % i, {"vol": 12}) for i in range(4)]
    host.process(5000, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope", threads=threads, utime=1150,
                 stime=260, blkio=9, guest=1040, read_bytes=8192, write_bytes=16384, rchar=10500,
                 wchar=20600, syscr=105, syscw=206, vmrss_kb=2000000, rss=500000, vsize=3000000000)
    host.tap("tap100i0", rx_bytes=1300, tx_bytes=2500, rx_packets=13, tx_packets=25, rx_dropped=1,
             multicast=7, tx_carrier_errors=1)
    host.scope(100, cpu_some_us=3000000, cpu_full_us=1000000, io_some_us=200000, memory_current=2200000000)
    host.config(104, "memory: 1024\nname: mig\ncores: 2\n")  # migration finished
    host.lxc_cgroup(200, user_usec=700000, system_usec=150000, memory_current=95000000,
                    swap_current=4096, anon=61000000, file=20000000, cpu_some_us=3000,
                    io="8:0 rbytes=8192 wbytes=8192 rios=2 wios=2 dbytes=0 dios=0\n"
                       "253:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")
    host.tap("veth200i0", rx_bytes=150, tx_bytes=260, rx_packets=2, tx_packets=3)


def pve_restart(host):
    argv_a = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
    host.remove(5000)
    threads = [(5100, "kvm", {"vol": 1, "start": LATE})] + [
        (5110 + i, "CPU %d/KVM" % i, {"vol": 1, "start": LATE}) for i in range(4)]
    host.process(5100, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope", threads=threads, utime=30,
                 stime=5, guest=20, read_bytes=1000, rchar=100, syscr=1, vmrss_kb=1000000, start=LATE)
    host.tap("tap100i0", rx_bytes=40, tx_bytes=70, rx_packets=1, tx_packets=2)
    host.scope(100, cpu_some_us=500000, memory_current=1000000000)


class GoldenTest(unittest.TestCase):
    maxDiff = None

    def render(self, build, steps, *flags, config=None):
        tmp = tempfile.mkdtemp(prefix="pt-golden-")
        server = None
        try:
            host = build(tmp)
            args = list(host.flags()) + list(flags)
            if config:
                args += ["-config.path", h.write_config(tmp, config)]
            server = h.start_proctrack(*args)
            out = []
            for i, step in enumerate([None] + steps):
                if step:
                    step(host)
                out.append("#### scrape %d\n" % (i + 1) + mask(server.scrape()))
            return "".join(out)
        finally:
            if server:
                server.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    def check(self, case, text):
        path = os.path.join(GOLDEN, case + ".prom")
        if os.environ.get("GOLDEN_UPDATE") == "1":
            with open(path, "w") as f:
                f.write(text)
        with open(path) as f:
            want = f.read()
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                "tests/golden/" + case + ".prom", "now"))
            self.fail("exposition differs from the golden file:\n" + diff)

    def test_plain(self):
        self.check("plain", self.render(plain_host, [plain_growth, plain_exits], config=PLAIN_CONFIG))

    def test_plain_without_threads_and_smaps(self):
        self.check("plain-nothreads", self.render(plain_host, [plain_growth, plain_exits], "-threads=false",
                                                  "-gather-smaps=false", config=PLAIN_CONFIG))

    def test_pve(self):
        self.check("pve", self.render(pve_host, [pve_growth, pve_restart]))


if __name__ == "__main__":
    h.main()

"""The built-in pve-lxc rule on real cgroups and a real veth pair: a container laid out as
pve-container lays it out (payload in lxc/<vmid>/ns, monitor in lxc.monitor/<vmid>, config in an
LXC config dir, host-side veth<vmid>i0), every pve_lxc_* value checked against the kernel's
files, across a container restart (a new cgroup and a new veth)."""

import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

MIB = 1 << 20

# Waits for a line on stdin (it is in its cgroup by then), burns `secs` of CPU, says so, sleeps.
BURN = r"""
import sys, time
sys.stdin.readline()
t = time.process_time()
while time.process_time() - t < float(sys.argv[1]):
    pass
print("done", flush=True)
time.sleep(600)
"""


def cgroup2_root():
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return root
    return None


def read_keyed(path):
    with open(path) as f:
        return {k: int(v) for k, v in (line.split() for line in f if line.strip())}


def read_int(path):
    with open(path) as f:
        return int(f.read())


def end(p):
    if p.poll() is None:
        p.kill()
    p.wait()
    for pipe in (p.stdin, p.stdout):
        if pipe:
            pipe.close()


def remove_cgroup(top):
    """Removes a cgroup and those below it, deepest first; a killed task may take a moment to
    leave."""
    if not os.path.isdir(top):
        return
    for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except OSError:
                time.sleep(0.02)
        else:
            raise RuntimeError("cgroup %s stays busy" % d)


def usable():
    if os.geteuid() != 0:
        return "needs root (cgroups, veth)"
    if not cgroup2_root():
        return "no cgroup v2 mount"
    if not shutil.which("ip"):
        return "no ip(8)"
    return None


@unittest.skipIf(usable(), usable())
class PveLxcTest(unittest.TestCase):
    def setUp(self):
        self.vmid = 9000 + os.getpid() % 900
        self.cg = cgroup2_root()
        self.payload = os.path.join(self.cg, "lxc", str(self.vmid))
        self.monitor_cg = os.path.join(self.cg, "lxc.monitor", str(self.vmid))
        self.veth = "veth%di0" % self.vmid
        self.peer = "ptc%dp" % self.vmid
        # On a real PVE host the vmid may be a container's: leave it alone.
        if os.path.exists(self.payload) or os.path.exists(self.monitor_cg) or \
                os.path.exists("/sys/class/net/" + self.veth):
            self.skipTest("container %d exists on this host" % self.vmid)
        self.dir = tempfile.mkdtemp(prefix="pt-lxc-")
        self.procs = []
        self.addCleanup(self.cleanup)
        with open(os.path.join(self.dir, "%d.conf" % self.vmid), "w") as f:
            f.write("#a test container\narch: amd64\ncores: 2\nhostname: web-ct\nmemory: 256\n"
                    "ostype: debian\nswap: 128\ntags: prod;web\nunprivileged: 1\n"
                    "lxc.apparmor.profile: unconfined\n\n[snap1]\nhostname: old\n")

    def cleanup(self):
        for p in self.procs:
            end(p)
        subprocess.run(["ip", "link", "del", self.veth], stderr=subprocess.DEVNULL)
        for top in (self.payload, self.monitor_cg):
            remove_cgroup(top)
        for d in ("lxc", "lxc.monitor"):
            try:
                os.rmdir(os.path.join(self.cg, d))  # only when no one else's cgroup is left
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- the container's pieces ----

    def make_cgroups(self):
        try:
            os.makedirs(os.path.join(self.payload, "ns"))
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            self.skipTest("cannot make cgroups here (a container's read-only cgroupfs): %s" % e)
        os.makedirs(self.monitor_cg, exist_ok=True)

    def spawn_in(self, cgroup, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(p.pid))
        return p

    def burner(self, secs):
        """A payload process in lxc/<vmid>/ns/app that burns `secs` of CPU there."""
        app = os.path.join(self.payload, "ns", "app")
        os.makedirs(app, exist_ok=True)
        p = self.spawn_in(app, [sys.executable, "-c", BURN, str(secs)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
        p.stdin.write("go\n")
        p.stdin.flush()
        self.assertEqual(p.stdout.readline().strip(), "done")
        return p

    def make_veth(self):
        subprocess.run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", self.peer],
                       check=True)
        for ifname in (self.veth, self.peer):
            # No IPv6 autoconfiguration traffic: only the frames the test sends.
            with open("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % ifname, "w") as f:
                f.write("1")
            subprocess.run(["ip", "link", "set", ifname, "up"], check=True)

    def send(self, ifname, frames):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        try:
            s.bind((ifname, 0))
            frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"x" * 100
            for _ in range(frames):
                s.send(frame)
        finally:
            s.close()

    def veth_stat(self, name):
        with open("/sys/class/net/%s/statistics/%s" % (self.veth, name)) as f:
            return int(f.read())

    # ---- the exporter's view ----

    def start(self):
        # No user.cfg: on a PVE host the real one could put the test's vmid in a pool.
        return h.start_proctrack("-pve.lxc-config-dir", self.dir, "-cgroupfs", self.cg,
                                 "-pve.user-cfg", os.path.join(self.dir, "user.cfg"))

    def scrape(self, server):
        return h.parse(server.scrape())[0]

    def val(self, samples, family, **labels):
        labels.setdefault("id", str(self.vmid))
        return samples.get((family, tuple(sorted(labels.items()))))

    def cpu_us(self):
        """user + system of the container's cgroup (the burner's clock reads are syscalls)."""
        stat = read_keyed(os.path.join(self.payload, "cpu.stat"))
        return stat["user_usec"] + stat["system_usec"]

    def cpu(self, samples):
        return sum(self.val(samples, "pve_lxc_cpu_seconds_total", mode=m) for m in ("user", "system"))

    def test_container_end_to_end(self):
        self.make_cgroups()
        self.spawn_in(self.monitor_cg, ["sleep", "600"])
        self.burner(0.1)
        self.make_veth()
        self.send(self.veth, 2)  # before the start: a baseline, not counted

        server = self.start()
        self.addCleanup(server.stop)
        before1 = (self.cpu_us(), self.veth_stat("tx_packets"), self.veth_stat("rx_packets"))
        s1 = self.scrape(server)
        after1 = (self.cpu_us(), self.veth_stat("tx_packets"), self.veth_stat("rx_packets"))

        # One group: the payload and the monitor.
        group = "lxc/%d" % self.vmid
        self.assertEqual(h.value(s1, "namedprocess_namegroup_num_procs", groupname=group), 2)
        self.assertEqual(self.val(s1, "pve_lxc_up"), 1)
        self.assertEqual(self.val(s1, "pve_lxc_info", name="web-ct", ostype="debian",
                                  pve_id=group, tags="prod;web", template="0", pool="",
                                  pool1="", pool2="", pool3="", pool_levels="0"), 1)
        self.assertEqual(self.val(s1, "pve_lxc_cores"), 2)
        self.assertEqual(self.val(s1, "pve_lxc_maxmem_bytes"), 256 * MIB)
        self.assertEqual(self.val(s1, "pve_lxc_maxswap_bytes"), 128 * MIB)
        self.assertEqual(self.val(s1, "pve_lxc_processes"), 2)
        self.assertEqual(self.val(s1, "pve_lxc_threads"), 2)
        for resource in ("cpu", "io", "memory"):
            self.assertIsNotNone(self.val(s1, "pve_lxc_pressure_some_seconds_total",
                                          resource=resource), resource)
        if os.path.exists(os.path.join(self.payload, "memory.current")):
            self.assertGreater(self.val(s1, "pve_lxc_cgroup_memory_bytes"), 0)
        # What ran and was sent before the exporter started is a baseline.
        self.assertLess(self.cpu(s1), 0.08)
        self.assertEqual(self.val(s1, "pve_lxc_network_receive_packets_total",
                                  ifname=self.veth), 0)

        # Growth: CPU in a second process of the container, frames both ways.
        self.burner(0.2)
        self.send(self.veth, 7)   # the host side transmits: the container receives
        self.send(self.peer, 11)  # the container transmits
        before2 = (self.cpu_us(), self.veth_stat("tx_packets"), self.veth_stat("rx_packets"))
        s2 = self.scrape(server)
        after2 = (self.cpu_us(), self.veth_stat("tx_packets"), self.veth_stat("rx_packets"))
        self.assertEqual(h.value(s2, "namedprocess_namegroup_num_procs", groupname=group), 3)
        self.assertEqual(self.val(s2, "pve_lxc_processes"), 3)
        cpu = self.cpu(s2) - self.cpu(s1)
        self.assertGreaterEqual(cpu * 1e6, before2[0] - after1[0] - 1)
        self.assertLessEqual(cpu * 1e6, after2[0] - before1[0] + 1)
        self.assertGreater(cpu, 0.15)
        rx = self.val(s2, "pve_lxc_network_receive_packets_total", ifname=self.veth) - \
            self.val(s1, "pve_lxc_network_receive_packets_total", ifname=self.veth)
        tx = self.val(s2, "pve_lxc_network_transmit_packets_total", ifname=self.veth) - \
            self.val(s1, "pve_lxc_network_transmit_packets_total", ifname=self.veth)
        self.assertEqual((rx, tx), (7, 11))
        self.assertEqual(self.val(s2, "pve_lxc_network_receive_bytes_total", ifname=self.veth) -
                         self.val(s1, "pve_lxc_network_receive_bytes_total", ifname=self.veth),
                         7 * 114)

        # A restart: the payload's processes end, pve-container's cgroup and veth go and come
        # back new. The new ones count whole, on top of what was counted.
        for p in self.procs[1:]:
            end(p)
        self.procs[1:] = []
        subprocess.run(["ip", "link", "del", self.veth], check=True)
        remove_cgroup(self.payload)
        os.makedirs(os.path.join(self.payload, "ns"))
        self.make_veth()
        # More than the old cgroup's 0.3 s, so that only its new id tells it is a new cgroup.
        self.burner(0.5)
        self.send(self.veth, 20)  # more than the old veth's 9: only its new ifindex tells
        new_before = self.cpu_us()
        s3 = self.scrape(server)
        new_after = self.cpu_us()
        cpu = self.cpu(s3) - self.cpu(s2)
        self.assertGreaterEqual(cpu * 1e6, new_before - 1)
        self.assertLessEqual(cpu * 1e6, new_after + 1)
        rx = self.val(s3, "pve_lxc_network_receive_packets_total", ifname=self.veth) - \
            self.val(s2, "pve_lxc_network_receive_packets_total", ifname=self.veth)
        self.assertEqual(rx, 20)
        # The monitor stayed, the first payload processes went, the new one came.
        self.assertEqual(self.val(s3, "pve_lxc_processes"), 2)
        for (name, labels), v in s3.items():
            if name.startswith("pve_lxc_") and name.endswith("_total"):
                self.assertGreaterEqual(v, s2.get((name, labels), 0), name)

        # Stopped: no cgroup; its config stays, so it is down, with its facts, and nothing else.
        for p in self.procs[1:]:
            end(p)
        self.procs[1:] = []
        remove_cgroup(self.payload)
        s4 = self.scrape(server)
        self.assertEqual(sorted(k[0] for k in s4 if k[0].startswith("pve_lxc_")),
                         ["pve_lxc_info", "pve_lxc_up"])
        self.assertEqual(self.val(s4, "pve_lxc_up"), 0)
        self.assertEqual(self.val(s4, "pve_lxc_info", name="web-ct", ostype="debian",
                                  pve_id=group, tags="prod;web", template="0", pool="",
                                  pool1="", pool2="", pool3="", pool_levels="0"), 1)
        self.assertEqual(server.stop(), 0)

    def test_no_config_no_container(self):
        os.remove(os.path.join(self.dir, "%d.conf" % self.vmid))
        self.make_cgroups()
        self.spawn_in(os.path.join(self.payload, "ns"), ["sleep", "600"])
        server = self.start()
        self.addCleanup(server.stop)
        s = self.scrape(server)
        self.assertIsNone(h.value(s, "namedprocess_namegroup_num_procs",
                                  groupname="lxc/%d" % self.vmid))
        self.assertEqual([k for k in s if k[0].startswith("pve_lxc_")], [])


if __name__ == "__main__":
    h.main()

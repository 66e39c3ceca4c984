"""Per-disk statistics of a real QEMU (Debian's qemu-system-x86, TCG) started with a PVE command
line in its VM's cgroup scope: proctrack's numbers against QMP's own, and a QMP socket that never
answers. QEMU does not know PVE's `-id`: tests/helpers/preload/pt_dropid.so takes it out of the
argv QEMU parses while /proc/PID/cmdline keeps it."""

import json
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
from test_pve import Scopes, cgroup_root  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"
DROPID = os.path.join(h.HELPERS, "pt_dropid.so")
DISK_BYTES = 1 << 20


def qmp(path, *commands):
    """The replies to `commands`, asked as PVE's tools ask: connect, ask, disconnect."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(path)
        f = s.makefile("rwb")
        assert "QMP" in json.loads(f.readline())
        replies = []
        for c in ("qmp_capabilities",) + commands:
            f.write(json.dumps({"execute": c}).encode() + b"\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "event" not in reply:
                    break
            replies.append(reply["return"])
        f.close()
        return replies[1:]
    finally:
        s.close()


def blockstats(path):
    return {e["device"]: e["stats"] for e in qmp(path, "query-blockstats")[0]}


@unittest.skipUnless(os.path.exists(QEMU), "needs qemu-system-x86 (scripts/deps.sh installs it)")
class PveQemuTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        root = cgroup_root()
        if root is None:
            raise unittest.SkipTest("no writable cgroup hierarchy for the VM scopes (needs root)")
        cls.scopes = Scopes(root)
        cls.tmp = tempfile.mkdtemp(prefix="pt-pve-qemu-")
        cls.conf = os.path.join(cls.tmp, "qemu-server")
        cls.run_dir = os.path.join(cls.tmp, "run")
        os.makedirs(cls.conf)
        os.makedirs(cls.run_dir)
        with open(os.path.join(cls.conf, "100.conf"), "w") as f:
            f.write("memory: 32\nname: qmpvm\nvirtio0: local:100/vm-100-disk-0.raw,size=1M\n")
        with open(os.path.join(cls.conf, "101.conf"), "w") as f:
            f.write("memory: 32\nname: hung\n")
        # A boot sector that halts: the BIOS reads it (one 512-byte read) and the guest stops.
        cls.disk = os.path.join(cls.tmp, "vm-100-disk-0.raw")
        with open(cls.disk, "wb") as f:
            f.write(b"\xfa\xf4\xeb\xfd" + bytes(506) + b"\x55\xaa" + bytes(DISK_BYTES - 512))
        cls.sock = os.path.join(cls.run_dir, "100.qmp")
        cls.procs = []
        cls.server = None
        cls.hung = None
        try:
            cls.qemu = cls.start(
                [QEMU, "-id", "100", "-name", "qmpvm,debug-threads=on", "-no-shutdown",
                 "-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % cls.sock,
                 "-mon", "chardev=qmp,mode=control", "-nodefaults", "-display", "none",
                 "-machine", "pc,accel=tcg", "-m", "32", "-smp", "1",
                 "-drive", "file=%s,if=none,id=drive-virtio0,format=raw,cache=writeback" % cls.disk,
                 "-device", "virtio-blk-pci,drive=drive-virtio0,id=virtio0,bootindex=100"],
                env=dict(os.environ, LD_PRELOAD=DROPID), vmid=100)
            # VM 101: a stand-in QEMU process whose QMP socket accepts nothing and never answers.
            d = os.path.join(cls.tmp, "fake")
            os.makedirs(d)
            fake = os.path.join(d, "qemu-system-x86_64")
            shutil.copy(os.path.join(h.HELPERS, "pt_fakeqemu"), fake)
            cls.start([fake, "-id", "101", "-name", "hung", "-smp", "1", "-m", "32"],
                      stdout=subprocess.PIPE, vmid=101)
            assert cls.procs[-1].stdout.readline().strip() == b"ready"
            cls.wait_for_boot_read()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls, argv, vmid, **kwargs):
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        p = subprocess.Popen(argv, stderr=subprocess.DEVNULL, **kwargs)
        cls.procs.append(p)
        cls.scopes.enter(vmid, p.pid)
        return p

    @classmethod
    def wait_for_boot_read(cls):
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            if cls.qemu.poll() is not None:
                raise RuntimeError("QEMU exited with %d" % cls.qemu.returncode)
            if os.path.exists(cls.sock):
                stats = blockstats(cls.sock)["drive-virtio0"]
                stats.pop("idle_time_ns", None)  # time since the last I/O: grows by itself
                # The boot sector is read and nothing more comes.
                if stats["rd_bytes"] > 0 and stats == last:
                    return
                last = stats
            time.sleep(0.2)
        raise RuntimeError("the BIOS did not read the boot disk: %r" % last)

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()
        if cls.hung:
            cls.hung.close()
        for p in cls.procs:
            p.terminate()
            p.wait(timeout=10)
            if p.stdout:
                p.stdout.close()
        cls.scopes.remove()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def proctrack(self):
        return h.start_proctrack("-pve.config-dir", self.conf, "-pve.run-dir", self.run_dir,
                                 "-sysfs", os.path.join(self.tmp, "sys"),
                                 "-cgroupfs", os.path.join(self.tmp, "cgroup"))

    def test_disk_counters_agree_with_qmp(self):
        server = self.proctrack()
        try:
            s = h.parse(server.scrape())[0]
        finally:
            server.stop()
        # Asked on the same socket after the scrape: proctrack did not hold it.
        qemu = blockstats(self.sock)["drive-virtio0"]
        block = {e["device"]: e for e in qmp(self.sock, "query-block")[0]}["drive-virtio0"]
        self.assertGreater(qemu["rd_bytes"], 0)

        def v(name, **labels):
            return h.value(s, "pve_kvm_disk_" + name, id="100", disk="virtio0", **labels)
        self.assertEqual(v("read_bytes_total"), qemu["rd_bytes"])
        self.assertEqual(v("read_operations_total"), qemu["rd_operations"])
        self.assertEqual(v("write_bytes_total"), qemu["wr_bytes"])
        self.assertEqual(v("write_operations_total"), qemu["wr_operations"])
        self.assertEqual(v("flush_operations_total"), qemu["flush_operations"])
        self.assertAlmostEqual(v("read_seconds_total"), qemu["rd_total_time_ns"] / 1e9)

        info = [dict(k[1]) for k in s if k[0] == "pve_kvm_disk_info" and dict(k[1])["id"] == "100"]
        self.assertEqual(len(info), 1, info)
        self.assertEqual(info[0]["disk_name"], "virtio0")
        self.assertEqual(info[0]["disk_path"], self.disk)
        self.assertEqual(info[0]["disk_type"], "raw")
        self.assertEqual(info[0]["attached_to"], "/machine/peripheral/virtio0/virtio-backend")
        # As `info block` words it. Writeback is on once a guest driver turns the device's write
        # cache on: no guest here, so writethrough.
        cache = block["inserted"]["cache"]
        self.assertEqual(info[0]["cache_mode"], "writeback" if cache["writeback"] else "writethrough")
        self.assertFalse(cache["direct"])
        self.assertRegex(info[0]["block_id"], r"^\d+$")
        self.assertEqual(h.value(s, "pve_kvm_disk_size_bytes", id="100", disk_name="virtio0"),
                         DISK_BYTES)
        for reason in ("connect", "timeout", "closed", "protocol"):
            self.assertEqual(h.value(s, "pve_kvm_qmp_errors_total", id="100", reason=reason), 0)

    def scrape_seconds(self, server):
        t0 = time.monotonic()
        text = server.scrape()
        return time.monotonic() - t0, h.parse(text)[0]

    def test_a_socket_that_never_answers_costs_at_most_100_ms(self):
        hung_path = os.path.join(self.run_dir, "101.qmp")
        server = self.proctrack()
        try:
            # Without a socket for VM 101: refused at once.
            base = sorted(self.scrape_seconds(server)[0] for _ in range(7))[3]
            _, s = self.scrape_seconds(server)
            self.assertGreater(h.value(s, "pve_kvm_qmp_errors_total", id="101", reason="connect"), 0)
            # A socket that takes connections into its backlog and never answers.
            hung = socket.socket(socket.AF_UNIX)
            hung.bind(hung_path)
            hung.listen(16)
            type(self).hung = hung
            timed = []
            for _ in range(7):
                took, s = self.scrape_seconds(server)
                timed.append(took)
            before = h.value(s, "pve_kvm_qmp_errors_total", id="101", reason="timeout")
            took, s = self.scrape_seconds(server)
            after = h.value(s, "pve_kvm_qmp_errors_total", id="101", reason="timeout")
        finally:
            server.stop()
            if self.hung:
                self.hung.close()
                type(self).hung = None
            if os.path.exists(hung_path):
                os.unlink(hung_path)
        self.assertGreaterEqual(before, 7)
        self.assertEqual(after, before + 1)
        median = sorted(timed)[3]
        self.assertLessEqual(median - base, 0.1, "scrapes took %r, %.3f s without" % (timed, base))
        # VM 100's disks are still asked and right next to the hung one.
        self.assertGreater(h.value(s, "pve_kvm_disk_read_bytes_total", id="100", disk="virtio0"), 0)
        self.assertEqual(h.value(s, "pve_kvm_qmp_errors_total", id="100", reason="timeout"), 0)


if __name__ == "__main__":
    h.main()

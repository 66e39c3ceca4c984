"""The built-in PVE rule end to end: fixture trees of a PVE host built from real PVE command lines
(every pve_kvm_* value asserted, across growth and a VM restart), and live processes copied as
qemu-system-x86_64."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402
from pve_tree import BTIME, TAP_STATS, Host, read_cmdline_fixture  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
PVE = os.path.join(h.FIXTURES, "pve")
QEMU = "/usr/bin/qemu-system-x86_64"

CONF_100 = ("cores: 16\ncpu: x86-64-v2-AES\nmemory: 2048\nname: s\n"
            "net0: virtio=BC:24:11:5F:A8:91,bridge=vmbr0,firewall=1,queues=4\n"
            "net1: model=e1000,macaddr=BC:24:11:5F:A8:92\nsockets: 1\ntags: prod;web\n")
# As PVE writes user.cfg; VM 103's pool is filled in.
USER_CFG = ("user:root@pam:1:0:::root@example.com:::\n\n"
            "pool:%s:GPU%%20boxes:103::\npool:prod/web/front::100,101:local-lvm:\npool:empty::::\n"
            "pool:ct/infra::200,201::\n\n"
            "acl:1:/pool/lab:@admins:PVEVMAdmin:\n")
SWTPM = ["swtpm", "socket", "--tpmstate", "backend-uri=file:///dev/pve/vm-100-disk-2,mode=0600",
         "--ctrl", "type=unixio,path=/var/run/qemu-server/100.swtpm,mode=0600", "--terminate"]


def uptime_ticks():
    with open("/proc/uptime") as f:
        return int(float(f.read().split()[0]) * HZ)


def vm100_threads(start, vcpu_vol, main_vol):
    threads = [(5000 if start == 1000 else 5100, "kvm", {"vol": main_vol, "start": start})]
    base = 5010 if start == 1000 else 5110
    threads += [(base + i, "CPU %d/KVM" % i, {"vol": vcpu_vol, "start": start}) for i in range(16)]
    threads.append((base + 20, "worker", {"start": start}))
    return threads


class PveFixtureTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pt-pve-")
        host = cls.host = Host(cls.tmp)
        argv_a = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
        argv_b = read_cmdline_fixture(os.path.join(PVE, "cmdline-b.txt"))
        host.process(5000, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope",
                     threads=vm100_threads(1000, 10, 5), utime=1000, stime=200, blkio=5, guest=900,
                     read_bytes=4096, write_bytes=8192, rchar=10000, wchar=20000, syscr=100, syscw=200,
                     vmrss_kb=2000000, rss=500000, vsize=3000000000)
        host.process(5001, "swtpm", SWTPM, "/usr/bin/swtpm", "0::/qemu.slice/100.scope", utime=10)
        # VM 103 on hugepages: its guest memory is hugetlb, outside VmRSS.
        host.process(6000, "kvm", argv_b, QEMU + " (deleted)", "0::/qemu.slice/103.scope", utime=50,
                     vmrss_kb=1000, hugetlb_kb=2097152)
        host.process(7000, "kvm", ["/usr/bin/kvm", "-id", "999", "-name", "ghost"], QEMU)
        host.process(8000, "kvm", ["/usr/bin/kvm", "-id", "104", "-name", "mig,debug-threads=on",
                                   "-smp", "2,sockets=1,cores=2,maxcpus=2", "-m", "1024",
                                   "-incoming", "defer", "-S"], QEMU, "0::/qemu.slice/104.scope")
        host.config(100, CONF_100)
        with open(os.path.join(PVE, "103.conf")) as f:
            host.config(103, f.read())
        host.config(101, "memory: 1024\nname: stopped\ntags: db\n")  # configured, not running
        host.config(102, "memory: 512\nname: tmpl\ntemplate: 1\n")
        host.pools(USER_CFG % "lab")
        # Container 200 runs (its cgroup lxc/200, its init); 201 is configured and stopped; 202 a
        # template.
        host.lxc_config(200, "hostname: dns\nostype: alpine\ntags: infra\n")
        host.process(7100, "init", ["/sbin/init"], "/sbin/init", "0::/lxc/200/ns", utime=40)
        host.lxc_cgroup(200, user_usec=400000)
        host.lxc_config(201, "hostname: db\nmemory: 2048\nostype: debian\n")
        host.lxc_config(202, "ostype: alpine\ntemplate: 1\n")
        host.tap("tap100i0", rx_bytes=1000, tx_bytes=2000, rx_packets=10, tx_packets=20)
        host.tap("tap103i0", rx_bytes=5, tx_bytes=6)
        os.remove(os.path.join(host.sys, "class/net/tap103i0/statistics/rx_nohandler"))  # Linux < 4.6
        host.tap("fwbr100i0", rx_bytes=99)
        host.scope(100, cpu_some_us=1000000, cpu_full_us=500000, io_some_us=200000,
                   memory_current=2100000000)
        cls.server = h.start_proctrack(*host.flags())
        cls.s1 = h.parse(cls.server.scrape())[0]

        # Growth.
        host.process(5000, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope",
                     threads=vm100_threads(1000, 12, 6), utime=1150, stime=260, blkio=9, guest=1040,
                     read_bytes=8192, write_bytes=16384, rchar=10500, wchar=20600, syscr=105, syscw=206,
                     vmrss_kb=2000000, rss=500000, vsize=3000000000)
        host.process(5001, "swtpm", SWTPM, "/usr/bin/swtpm", "0::/qemu.slice/100.scope", utime=20)
        host.tap("tap100i0", rx_bytes=1300, tx_bytes=2500, rx_packets=13, tx_packets=25, multicast=7,
                 rx_crc_errors=2, tx_carrier_errors=1)
        host.scope(100, cpu_some_us=3000000, cpu_full_us=1000000, io_some_us=200000,
                   memory_current=2200000000)
        host.pools(USER_CFG % "lab/gpu")  # VM 103 moves to a nested pool
        cls.s2 = h.parse(cls.server.scrape())[0]

        # VM 100 restarts: a new QEMU process, new tap, new scope, all counting from zero.
        cls.new_start = uptime_ticks() + 10 * HZ
        host.remove(5000)
        host.process(5100, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope",
                     threads=vm100_threads(cls.new_start, 1, 1), utime=30, stime=5, guest=20,
                     read_bytes=1000, rchar=100, syscr=1, vmrss_kb=1000000, start=cls.new_start)
        host.tap("tap100i0", rx_bytes=40, tx_bytes=70, rx_packets=1, tx_packets=2)
        host.scope(100, cpu_some_us=500000, memory_current=1000000000)
        host.remove(6000)  # VM 103 stops
        host.remove(7100)  # container 200 stops, 202's config goes
        shutil.rmtree(os.path.join(host.cgroup, "lxc", "200"))
        os.remove(os.path.join(host.lxc, "202.conf"))
        cls.s3 = h.parse(cls.server.scrape())[0]
        cls.text3 = cls.server.scrape()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def v(self, samples, name, **labels):
        return h.value(samples, "pve_kvm_" + name, **labels)

    def test_vms_and_helpers_are_their_own_groups(self):
        procs = {g: h.value(self.s1, "namedprocess_namegroup_num_procs", groupname=g) for g in h.groups(self.s1)}
        self.assertEqual(procs["qemu/100"], 2)  # QEMU and swtpm, from the scope
        self.assertEqual(procs["qemu/103"], 1)  # exe "(deleted)" after an upgrade
        self.assertEqual(procs["qemu/104"], 1)  # migrating in, no config yet
        self.assertEqual(procs["kvm"], 1)       # -id 999 has no config: not a VM
        self.assertNotIn("qemu/999", procs)

    def test_info_carries_facts_from_the_config(self):
        info = {dict(k[1])["id"]: dict(k[1]) for k in self.s1 if k[0] == "pve_kvm_info"}
        self.assertEqual(set(info), {"100", "101", "102", "103", "104"})
        self.assertEqual(info["100"], {"id": "100", "name": "s", "cpu": "x86-64-v2-AES", "pid": "5000",
                                       "pve_id": "qemu/100", "tags": "prod;web", "template": "0",
                                       "pool": "prod/web/front", "pool_levels": "3", "pool1": "prod",
                                       "pool2": "web", "pool3": "front"})
        self.assertEqual(info["103"]["name"], "MCP")
        self.assertEqual(info["103"]["cpu"], "x86-64-v2-AES")  # -cpu says qemu64
        self.assertEqual(info["104"]["name"], "mig")
        self.assertEqual(self.v(self.s1, "incoming", id="104"), 1)
        self.assertEqual(self.v(self.s1, "incoming", id="100"), 0)

    def test_configured_vms_are_up_or_down(self):
        up = {dict(k[1])["id"]: v for k, v in self.s1.items() if k[0] == "pve_kvm_up"}
        self.assertEqual(up, {"100": 1, "101": 0, "102": 0, "103": 1, "104": 1})
        info = {dict(k[1])["id"]: dict(k[1]) for k in self.s1 if k[0] == "pve_kvm_info"}
        # A stopped VM: its config's facts, no pid.
        self.assertEqual(info["101"], {"id": "101", "name": "stopped", "cpu": "", "pid": "",
                                       "pve_id": "qemu/101", "tags": "db", "template": "0",
                                       "pool": "prod/web/front", "pool_levels": "3", "pool1": "prod",
                                       "pool2": "web", "pool3": "front"})
        self.assertEqual(info["102"]["template"], "1")
        self.assertEqual(info["102"]["name"], "tmpl")
        # Only running VMs have the other families.
        for name in ("vcores", "threads", "maxmem_bytes", "cpu_seconds_total", "incoming"):
            self.assertFalse([k for k in self.s1 if k[0] == "pve_kvm_" + name and dict(k[1])["id"] == "101"],
                             name)
        # VM 103 stops at the third scrape: down, with its config's facts, its series gone.
        up3 = {dict(k[1])["id"]: v for k, v in self.s3.items() if k[0] == "pve_kvm_up"}
        self.assertEqual(up3, {"100": 1, "101": 0, "102": 0, "103": 0, "104": 1})
        info3 = {dict(k[1])["id"]: dict(k[1]) for k in self.s3 if k[0] == "pve_kvm_info"}
        self.assertEqual((info3["103"]["pid"], info3["103"]["name"], info3["103"]["cpu"]),
                         ("", "MCP", "x86-64-v2-AES"))
        self.assertIsNone(self.v(self.s3, "threads", id="103"))

    def test_configured_containers_are_up_or_down(self):
        def up(samples):
            return {dict(k[1])["id"]: v for k, v in samples.items() if k[0] == "pve_lxc_up"}
        self.assertEqual(up(self.s1), {"200": 1, "201": 0, "202": 0})
        info = {dict(k[1])["id"]: dict(k[1]) for k in self.s1 if k[0] == "pve_lxc_info"}
        self.assertEqual(info["200"], {"id": "200", "name": "dns", "ostype": "alpine",
                                       "pve_id": "lxc/200", "tags": "infra", "template": "0",
                                       "pool": "ct/infra", "pool_levels": "2", "pool1": "ct",
                                       "pool2": "infra", "pool3": ""})
        # A stopped container: its config's facts.
        self.assertEqual(info["201"], {"id": "201", "name": "db", "ostype": "debian",
                                       "pve_id": "lxc/201", "tags": "", "template": "0",
                                       "pool": "ct/infra", "pool_levels": "2", "pool1": "ct",
                                       "pool2": "infra", "pool3": ""})
        self.assertEqual((info["202"]["name"], info["202"]["template"], info["202"]["pool"]),
                         ("CT202", "1", ""))
        # Only running containers have the other families.
        for name in ("cores", "maxmem_bytes", "cpu_seconds_total", "processes"):
            ids = {dict(k[1])["id"] for k in self.s1 if k[0] == "pve_lxc_" + name}
            self.assertEqual(ids, {"200"}, name)
        # Container 200 stops at the third scrape: down, its series gone; 202 is no longer
        # configured on this node: forgotten.
        self.assertEqual(up(self.s3), {"200": 0, "201": 0})
        self.assertIsNone(h.value(self.s3, "pve_lxc_maxmem_bytes", id="200"))
        info3 = {dict(k[1])["id"]: dict(k[1]) for k in self.s3 if k[0] == "pve_lxc_info"}
        self.assertEqual(set(info3), {"200", "201"})
        self.assertEqual(info3["200"]["name"], "dns")

    def test_pool_labels_follow_user_cfg(self):
        def pools(samples, vmid):
            info = [dict(k[1]) for k in samples if k[0] == "pve_kvm_info" and dict(k[1])["id"] == vmid][0]
            return tuple(info[k] for k in ("pool", "pool_levels", "pool1", "pool2", "pool3"))
        self.assertEqual(pools(self.s1, "103"), ("lab", "1", "lab", "", ""))
        self.assertEqual(pools(self.s2, "103"), ("lab/gpu", "2", "lab", "gpu", ""))
        self.assertEqual(pools(self.s1, "104"), ("", "0", "", "", ""))

    def test_vcores_maxmem_threads_memory(self):
        self.assertEqual(self.v(self.s1, "vcores", id="100"), 16)  # 16 "CPU n/KVM" threads
        self.assertEqual(self.v(self.s1, "vcores", id="103"), 20)  # config sockets x cores
        self.assertEqual(self.v(self.s1, "vcores", id="104"), 2)   # -smp
        self.assertEqual(self.v(self.s1, "maxmem_bytes", id="100"), 2048 << 20)
        self.assertEqual(self.v(self.s1, "maxmem_bytes", id="103"), 20480 << 20)
        self.assertEqual(self.v(self.s1, "maxmem_bytes", id="104"), 1024 << 20)
        self.assertEqual(self.v(self.s1, "threads", id="100"), 18)
        self.assertEqual(self.v(self.s1, "memory_extended", id="100", type="vmrss"), 2000000 * 1024)
        self.assertEqual(self.v(self.s1, "memory_extended", id="100", type="hugetlbpages"), 0)
        self.assertAlmostEqual(self.v(self.s1, "memory_percent", id="100"), 2000000 / 16777216 * 100, places=9)
        # Hugetlb pages are the VM's memory too: HugetlbPages of status counts them.
        self.assertEqual(self.v(self.s1, "memory_extended", id="103", type="hugetlbpages"), 2097152 * 1024)
        self.assertAlmostEqual(self.v(self.s1, "memory_percent", id="103"),
                               (1000 + 2097152) / 16777216 * 100, places=9)
        self.assertEqual(self.v(self.s1, "start_time_seconds", id="100"), BTIME + 1000 // HZ)
        self.assertEqual(self.v(self.s1, "cgroup_memory_bytes", id="100"), 2100000000)

    def test_first_scrape_is_the_baseline(self):
        self.assertEqual(self.v(self.s1, "cpu_seconds_total", id="100", mode="user"), 0)
        self.assertEqual(self.v(self.s1, "network_receive_bytes_total", id="100", ifname="tap100i0"), 0)
        self.assertEqual(self.v(self.s1, "pressure_some_seconds_total", id="100", resource="cpu"), 0)
        self.assertIsNone(self.v(self.s1, "network_receive_bytes_total", id="100", ifname="fwbr100i0"))

    def test_counters_grow(self):
        s = self.s2
        self.assertAlmostEqual(self.v(s, "cpu_seconds_total", id="100", mode="user"), 160 / HZ)
        self.assertAlmostEqual(self.v(s, "cpu_seconds_total", id="100", mode="system"), 60 / HZ)
        self.assertAlmostEqual(self.v(s, "cpu_seconds_total", id="100", mode="iowait"), 4 / HZ)
        self.assertAlmostEqual(self.v(s, "guest_cpu_seconds_total", id="100"), 140 / HZ)
        self.assertEqual(self.v(s, "io_read_bytes_total", id="100"), 4096)
        self.assertEqual(self.v(s, "io_write_bytes_total", id="100"), 8192)
        self.assertEqual(self.v(s, "io_read_chars_total", id="100"), 500)
        self.assertEqual(self.v(s, "io_write_chars_total", id="100"), 600)
        self.assertEqual(self.v(s, "io_read_count_total", id="100"), 5)
        self.assertEqual(self.v(s, "io_write_count_total", id="100"), 6)
        # Summed over all 18 threads: 16 vCPUs +2 each, the main thread +1.
        self.assertEqual(self.v(s, "ctx_switches_total", id="100", type="voluntary"), 33)
        # PVE's orientation: the guest receives what the tap transmits.
        self.assertEqual(self.v(s, "network_receive_bytes_total", id="100", ifname="tap100i0"), 500)
        self.assertEqual(self.v(s, "network_transmit_bytes_total", id="100", ifname="tap100i0"), 300)
        self.assertEqual(self.v(s, "network_receive_packets_total", id="100", ifname="tap100i0"), 5)
        self.assertEqual(self.v(s, "network_transmit_packets_total", id="100", ifname="tap100i0"), 3)
        self.assertAlmostEqual(self.v(s, "pressure_some_seconds_total", id="100", resource="cpu"), 2.0)
        self.assertAlmostEqual(self.v(s, "pressure_full_seconds_total", id="100", resource="cpu"), 0.5)
        self.assertEqual(self.v(s, "cgroup_memory_bytes", id="100"), 2200000000)
        self.assertEqual(self.v(s, "ctx_switches_total", id="100", type="involuntary"), 0)
        self.assertAlmostEqual(self.v(s, "pressure_some_seconds_total", id="100", resource="io"), 0)
        for name in ("receive_errors", "transmit_errors", "receive_drops", "transmit_drops"):
            self.assertEqual(self.v(s, "network_%s_total" % name, id="100", ifname="tap100i0"), 0, name)
        # Every pve_kvm family of the README is there, but the disk families: the tree has no QMP
        # sockets (test_pve_qemu.py runs a real QEMU), so every query is a connect error.
        families = {k[0] for k in s if k[0].startswith("pve_kvm_")}
        self.assertEqual(len(families), 32 + len(TAP_STATS), sorted(families))
        self.assertGreater(self.v(s, "qmp_errors_total", id="100", reason="connect"), 0)
        self.assertEqual(self.v(s, "qmp_errors_total", id="100", reason="timeout"), 0)

    def test_tap_statistics_under_pve_local_exporter_names(self):
        s = self.s2
        # One family per statistics file, in the tap's orientation: its rx is what the guest sent,
        # the same totals as PVE's guest-side counters, read once.
        for stat in TAP_STATS:
            self.assertIn(("pve_kvm_nic_%s_total" % stat, (("id", "100"), ("ifname", "tap100i0"))), s, stat)
        self.assertEqual(self.v(s, "nic_rx_bytes_total", id="100", ifname="tap100i0"), 300)
        self.assertEqual(self.v(s, "nic_tx_bytes_total", id="100", ifname="tap100i0"), 500)
        self.assertEqual(self.v(s, "nic_rx_packets_total", id="100", ifname="tap100i0"), 3)
        self.assertEqual(self.v(s, "nic_tx_packets_total", id="100", ifname="tap100i0"), 5)
        self.assertEqual(self.v(s, "nic_multicast_total", id="100", ifname="tap100i0"), 7)
        self.assertEqual(self.v(s, "nic_rx_crc_errors_total", id="100", ifname="tap100i0"), 2)
        self.assertEqual(self.v(s, "nic_tx_carrier_errors_total", id="100", ifname="tap100i0"), 1)
        self.assertEqual(self.v(s, "nic_collisions_total", id="100", ifname="tap100i0"), 0)
        # A file the kernel does not have is no series; the tap's others are.
        self.assertNotIn(("pve_kvm_nic_rx_nohandler_total", (("id", "103"), ("ifname", "tap103i0"))), s)
        self.assertEqual(self.v(s, "nic_rx_bytes_total", id="103", ifname="tap103i0"), 0)
        # Not a VM's tap.
        self.assertFalse([k for k in s if k[0].startswith("pve_kvm_nic_") and ("ifname", "fwbr100i0") in k[1]])
        # Across the restart, the new tap counts from birth, as the guest-side counters do.
        self.assertEqual(self.v(self.s3, "nic_rx_bytes_total", id="100", ifname="tap100i0"), 340)
        self.assertEqual(self.v(self.s3, "nic_tx_bytes_total", id="100", ifname="tap100i0"), 570)
        self.assertEqual(self.v(self.s3, "nic_multicast_total", id="100", ifname="tap100i0"), 7)

    def test_nic_info_and_queues_from_the_config_as_qemu_runs_them(self):
        # Labels as QEMU's `info network` has them (pve_local_exporter's source): the -device
        # model, the MAC in lower case, the tap, and the netdev's queues.
        nics = sorted(k[1] for k in self.s1 if k[0] == "pve_kvm_nic_info")
        self.assertEqual([dict(n) for n in nics], [
            {"id": "100", "ifname": "", "macaddr": "bc:24:11:5f:a8:92", "model": "e1000",
             "netdev": "net1", "queues": "1", "type": "user"},
            {"id": "100", "ifname": "tap100i0", "macaddr": "bc:24:11:5f:a8:91",
             "model": "virtio-net-pci", "netdev": "net0", "queues": "4", "type": "tap"},
            {"id": "103", "ifname": "tap103i0", "macaddr": "bc:24:11:96:18:29",
             "model": "virtio-net-pci", "netdev": "net0", "queues": "1", "type": "tap"},
        ])  # not VM 101 (stopped) nor 104 (no config yet)
        queues = {dict(k[1])["ifname"]: v for k, v in self.s1.items() if k[0] == "pve_kvm_nic_queues"}
        self.assertEqual(queues, {"tap100i0": 4, "tap103i0": 1})
        # VM 103 stopped: its NICs are gone with it.
        self.assertEqual({dict(k[1])["id"] for k in self.s3 if k[0] == "pve_kvm_nic_info"}, {"100"})

    def test_counters_continue_across_a_vm_restart(self):
        s = self.s3
        self.assertAlmostEqual(self.v(s, "cpu_seconds_total", id="100", mode="user"), 190 / HZ)
        self.assertAlmostEqual(self.v(s, "cpu_seconds_total", id="100", mode="system"), 65 / HZ)
        self.assertAlmostEqual(self.v(s, "guest_cpu_seconds_total", id="100"), 160 / HZ)
        self.assertEqual(self.v(s, "io_read_bytes_total", id="100"), 5096)
        self.assertEqual(self.v(s, "io_read_chars_total", id="100"), 600)
        # The new process counts from birth: 16 vCPU threads and the main thread, one switch each.
        self.assertEqual(self.v(s, "ctx_switches_total", id="100", type="voluntary"), 33 + 17)
        self.assertEqual(self.v(s, "network_receive_bytes_total", id="100", ifname="tap100i0"), 570)
        self.assertEqual(self.v(s, "network_transmit_bytes_total", id="100", ifname="tap100i0"), 340)
        self.assertAlmostEqual(self.v(s, "pressure_some_seconds_total", id="100", resource="cpu"), 2.5)
        info = [dict(k[1]) for k in s if k[0] == "pve_kvm_info" and dict(k[1])["id"] == "100"]
        self.assertEqual(info[0]["pid"], "5100")
        self.assertEqual(self.v(s, "start_time_seconds", id="100"), BTIME + self.new_start // HZ)
        self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="qemu/100"), 2)

    def test_output_passes_promtool(self):
        code, out = h.promtool_check(self.text3)
        findings = [line for line in out.splitlines() if line.strip()]
        self.assertTrue(all("thread_count" in f for f in findings), out)


class PveLateConfigTest(unittest.TestCase):
    """proctrack started before /etc/pve was mounted: a VM's processes are seen without its config,
    and become the VM's at the first scrape after the config appears."""

    def test_a_vm_whose_config_appears_later_is_reported(self):
        tmp = tempfile.mkdtemp(prefix="pt-pve-late-")
        server = None
        try:
            host = Host(tmp)
            argv_a = read_cmdline_fixture(os.path.join(PVE, "cmdline-a.txt"))
            host.process(5000, "kvm", argv_a, QEMU, "0::/qemu.slice/100.scope", utime=1000,
                         vmrss_kb=2000000)
            host.process(5001, "swtpm", SWTPM, "/usr/bin/swtpm", "0::/qemu.slice/100.scope", utime=10)
            server = h.start_proctrack(*host.flags())
            s = h.parse(server.scrape())[0]
            self.assertNotIn("qemu/100", h.groups(s))
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="kvm"), 1)
            self.assertFalse([k for k in s if k[0] == "pve_kvm_info"])

            host.config(100, CONF_100)
            s = h.parse(server.scrape())[0]
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="qemu/100"), 2)
            info = [dict(k[1]) for k in s if k[0] == "pve_kvm_info"]
            self.assertEqual([(i["id"], i["name"], i["pid"]) for i in info], [("100", "s", "5000")])
        finally:
            if server:
                server.stop()
            shutil.rmtree(tmp)


def cgroup_root():
    """A cgroup hierarchy this test may create qemu.slice/<vmid>.scope in, as qemu-server's systemd
    scopes are: cgroup v2 at /sys/fs/cgroup or (hybrid hosts) /sys/fs/cgroup/unified, else the
    named v1 systemd hierarchy; None when none is writable (not root)."""
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"):
        if os.path.exists(os.path.join(root, "cgroup.procs")) and os.access(root, os.W_OK):
            return root
    return None


class Scopes:
    """qemu.slice/<vmid>.scope cgroups made for the test, removed (once empty) at the end; what
    existed before is left alone."""

    def __init__(self, root):
        self.root = root
        self.made = []

    def enter(self, vmid, pid):
        path = self.root
        for part in ("qemu.slice", "%d.scope" % vmid):
            path = os.path.join(path, part)
            if not os.path.exists(path):
                os.mkdir(path)
                self.made.append(path)
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def remove(self):
        for path in reversed(self.made):
            for _ in range(100):  # the killed processes leave the cgroup a moment after wait()
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.05)


class PveLiveTest(unittest.TestCase):
    """A real process copied as qemu-system-x86_64 and started with a PVE command line, in its
    VM's cgroup scope as qemu-server starts it."""

    def test_found_also_when_deleted_and_not_without_config(self):
        root = cgroup_root()
        if root is None:
            self.skipTest("no writable cgroup hierarchy for the VM scopes (needs root)")
        scopes = Scopes(root)
        w = h.Workers()
        tmp = tempfile.mkdtemp(prefix="pt-pve-live-")
        procs = []
        server = None
        try:
            conf = os.path.join(tmp, "qemu-server")
            os.makedirs(conf)
            with open(os.path.join(conf, "100.conf"), "w") as f:
                f.write("cores: 2\nmemory: 512\nname: livevm\nsockets: 1\n")
            with open(os.path.join(conf, "101.conf"), "w") as f:
                f.write("memory: 256\nname: upgraded\n")
            with open(os.path.join(conf, "105.conf"), "w") as f:
                f.write("memory: 256\nname: impostor\n")

            def start(vmid, folder, name, scope=True):
                d = os.path.join(tmp, folder)
                os.makedirs(d)
                path = os.path.join(d, "qemu-system-x86_64")
                shutil.copy(os.path.join(h.HELPERS, "pt_fakeqemu"), path)
                p = subprocess.Popen([path, "-id", str(vmid), "-name", name + ",debug-threads=on",
                                      "-pidfile", "/var/run/qemu-server/%d.pid" % vmid, "-daemonize",
                                      "-smp", "2,sockets=1,cores=2,maxcpus=2", "-m", "512"],
                                     stdout=subprocess.PIPE)
                procs.append(p)
                if scope:
                    scopes.enter(vmid, p.pid)
                self.assertEqual(p.stdout.readline().strip(), b"ready")
                return path

            start(100, "a", "livevm")
            deleted = start(101, "b", "upgraded")
            os.unlink(deleted)  # as a package upgrade replaces the binary under a running VM
            start(102, "c", "noconfig")
            # A configured vmid, but started by anyone outside the VM's scope: not that VM.
            start(105, "d", "impostor", scope=False)
            server = h.start_proctrack("-pve.config-dir", conf, "-sysfs", os.path.join(tmp, "sys"),
                                       "-cgroupfs", os.path.join(tmp, "cgroup"))
            s = h.parse(server.scrape())[0]
            groups = h.groups(s)
            self.assertIn("qemu/100", groups)
            self.assertIn("qemu/101", groups)
            self.assertNotIn("qemu/102", groups)
            self.assertNotIn("qemu/105", groups)
            info = {dict(k[1])["id"]: dict(k[1]) for k in s if k[0] == "pve_kvm_info"}
            self.assertEqual(set(info), {"100", "101", "105"})
            # 105 is configured, and its vmid's process is no VM: the VM is down.
            up = {dict(k[1])["id"]: v for k, v in s.items() if k[0] == "pve_kvm_up"}
            self.assertEqual(up, {"100": 1, "101": 1, "105": 0})
            self.assertEqual(info["105"]["pid"], "")
            self.assertEqual(info["100"]["name"], "livevm")
            self.assertEqual(info["100"]["pid"], str(procs[0].pid))
            self.assertEqual(h.value(s, "pve_kvm_vcores", id="100"), 2)  # two "CPU n/KVM" threads
            self.assertEqual(h.value(s, "pve_kvm_maxmem_bytes", id="101"), 256 << 20)
            # The process without a config, and the one outside its scope, are just processes,
            # grouped by their comm.
            self.assertEqual(h.value(s, "namedprocess_namegroup_num_procs", groupname="qemu-system-x86"), 2)
        finally:
            if server:
                server.stop()
            for p in procs:
                p.terminate()
                p.wait(timeout=10)
                p.stdout.close()
            w.stop()
            scopes.remove()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    h.main()

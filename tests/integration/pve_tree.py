"""Builds fixture trees of a PVE host for the PVE tests: a procfs with QEMU processes made from
real PVE command lines (tests/fixtures/pve/cmdline-*.txt), VM configs, sysfs tap NICs and cgroup
scopes, containers' configs and cgroups. Numbers are chosen by the tests, so every value can be
asserted exactly."""

import os
import shutil

BTIME = 1700000000
PAGE = os.sysconf("SC_PAGE_SIZE")
# The files of /sys/class/net/<dev>/statistics/ (Linux's net-sysfs.c netstat_attrs).
TAP_STATS = ("collisions", "multicast", "rx_bytes", "rx_compressed", "rx_crc_errors", "rx_dropped",
             "rx_errors", "rx_fifo_errors", "rx_frame_errors", "rx_length_errors", "rx_missed_errors",
             "rx_nohandler", "rx_over_errors", "rx_packets", "tx_aborted_errors", "tx_bytes",
             "tx_carrier_errors", "tx_compressed", "tx_dropped", "tx_errors", "tx_fifo_errors",
             "tx_heartbeat_errors", "tx_packets", "tx_window_errors")


def read_cmdline_fixture(path):
    """One option per line, split at the first space (reference: PVE fixture conventions)."""
    argv = []
    with open(path) as f:
        for line in f.read().splitlines():
            if line:
                argv.extend(line.split(" ", 1))
    return argv


def stat_line(pid, comm, state="S", ppid=1, utime=0, stime=0, minflt=0, majflt=0, threads=1,
              start=1000, vsize=0, rss=0, blkio=0, guest=0):
    f = [0] * 53  # 1-based proc(5) field numbers
    f[1], f[2], f[3], f[4] = pid, "(%s)" % comm, state, ppid
    f[5] = f[6] = pid
    f[8] = -1
    f[9] = 4194560
    f[10], f[12], f[14], f[15] = minflt, majflt, utime, stime
    f[18], f[20], f[22], f[23], f[24] = 20, threads, start, vsize, rss
    f[25] = 18446744073709551615
    f[38] = 17
    f[42], f[43] = blkio, guest
    return " ".join(str(x) for x in f[1:]) + "\n"


def status_text(comm, pid, threads=1, vol=0, nonvol=0, vmrss_kb=0, hugetlb_kb=0, swap_kb=0):
    return ("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\nPid:\t%d\nPPid:\t1\n"
            "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmPeak:\t 3000000 kB\nVmSize:\t 2900000 kB\n"
            "VmLck:\t       0 kB\nVmHWM:\t %7d kB\nVmRSS:\t %7d kB\nRssAnon:\t %7d kB\n"
            "RssFile:\t   20000 kB\nRssShmem:\t       0 kB\nVmData:\t 2500000 kB\nVmSwap:\t %7d kB\n"
            "HugetlbPages:\t %7d kB\nThreads:\t%d\nvoluntary_ctxt_switches:\t%d\n"
            "nonvoluntary_ctxt_switches:\t%d\n"
            % (comm, pid, pid, vmrss_kb, vmrss_kb, vmrss_kb - 20000 if vmrss_kb > 20000 else 0,
               swap_kb, hugetlb_kb, threads, vol, nonvol))


def io_text(read_bytes=0, write_bytes=0, rchar=0, wchar=0, syscr=0, syscw=0):
    return ("rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: %d\nwrite_bytes: %d\n"
            "cancelled_write_bytes: 0\n" % (rchar, wchar, syscr, syscw, read_bytes, write_bytes))


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


class Host:
    def __init__(self, root):
        self.root = root
        self.proc = os.path.join(root, "proc")
        self.conf = os.path.join(root, "etc-pve", "qemu-server")
        self.lxc = os.path.join(root, "etc-pve", "lxc")
        self.user_cfg = os.path.join(root, "etc-pve", "user.cfg")
        self.sys = os.path.join(root, "sys")
        self.cgroup = os.path.join(root, "cgroup")
        self.run = os.path.join(root, "run", "qemu-server")  # QMP sockets <vmid>.qmp
        for d in (self.proc, self.conf, self.lxc, self.sys, self.cgroup, self.run):
            os.makedirs(d, exist_ok=True)
        write(os.path.join(self.proc, "stat"), "cpu  1 2 3 4\nbtime %d\nprocesses 100\n" % BTIME)
        write(os.path.join(self.proc, "meminfo"), "MemTotal:       16777216 kB\nMemFree: 1 kB\n")

    def flags(self):
        return ["-procfs", self.proc, "-pve.config-dir", self.conf, "-pve.lxc-config-dir", self.lxc,
                "-pve.user-cfg", self.user_cfg, "-sysfs", self.sys, "-cgroupfs", self.cgroup,
                "-pve.run-dir", self.run]

    def process(self, pid, comm, argv, exe, cgroup="0::/", threads=None, **counters):
        """A process; `threads` is a list of (tid, name, stat/status/io kwargs)."""
        d = os.path.join(self.proc, str(pid))
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(os.path.join(d, "fd"))
        n = len(threads) if threads else 1
        st = {k: v for k, v in counters.items() if k in ("utime", "stime", "minflt", "majflt", "start",
                                                          "vsize", "rss", "blkio", "guest", "state",
                                                          "ppid")}
        write(os.path.join(d, "stat"), stat_line(pid, comm, threads=n, **st))
        sv = {k: v for k, v in counters.items() if k in ("vol", "nonvol", "vmrss_kb", "hugetlb_kb", "swap_kb")}
        write(os.path.join(d, "status"), status_text(comm, pid, threads=n, **sv))
        iv = {k: v for k, v in counters.items() if k in ("read_bytes", "write_bytes", "rchar", "wchar",
                                                          "syscr", "syscw")}
        write(os.path.join(d, "io"), io_text(**iv))
        write(os.path.join(d, "cmdline"), "\0".join(argv) + "\0")
        write(os.path.join(d, "cgroup"), cgroup + "\n")
        write(os.path.join(d, "limits"),
              "Limit                     Soft Limit           Hard Limit           Units\n"
              "Max open files            1024                 4096                 files\n")
        write(os.path.join(d, "smaps_rollup"), "Rss: 100 kB\nPss: 50 kB\nSwapPss: 0 kB\n")
        if exe:  # kernel threads have none
            os.symlink(exe, os.path.join(d, "exe"))
        for fd in range(4):
            os.symlink("/dev/null", os.path.join(d, "fd", str(fd)))
        for tid, name, kw in threads or []:
            t = os.path.join(d, "task", str(tid))
            tst = {k: v for k, v in kw.items() if k in ("utime", "stime", "start", "minflt", "state")}
            tst.setdefault("start", st.get("start", 1000))
            write(os.path.join(t, "stat"), stat_line(tid, name, threads=n, **tst))
            write(os.path.join(t, "status"),
                  status_text(name, pid, threads=n, vol=kw.get("vol", 0), nonvol=kw.get("nonvol", 0)))
            write(os.path.join(t, "io"), io_text())
            write(os.path.join(t, "comm"), name + "\n")
        return d

    def remove(self, pid):
        shutil.rmtree(os.path.join(self.proc, str(pid)))

    def config(self, vmid, text):
        write(os.path.join(self.conf, "%d.conf" % vmid), text)

    def lxc_config(self, vmid, text):
        write(os.path.join(self.lxc, "%d.conf" % vmid), text)

    def lxc_cgroup(self, vmid, user_usec=0, system_usec=0, memory_current=0, swap_current=0,
                   anon=0, file=0, io="", cpu_some_us=0):
        """The cgroup pve-container makes for a container, lxc/<vmid> (the payload runs in ns/)."""
        d = os.path.join(self.cgroup, "lxc", str(vmid))
        os.makedirs(os.path.join(d, "ns"), exist_ok=True)
        write(os.path.join(d, "cpu.stat"), "usage_usec %d\nuser_usec %d\nsystem_usec %d\n"
              % (user_usec + system_usec, user_usec, system_usec))
        write(os.path.join(d, "memory.current"), "%d\n" % memory_current)
        write(os.path.join(d, "memory.swap.current"), "%d\n" % swap_current)
        write(os.path.join(d, "memory.stat"), "anon %d\nfile %d\nkernel 0\nshmem 0\nsock 0\n"
              % (anon, file))
        write(os.path.join(d, "io.stat"), io)
        line = "%s avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n"
        write(os.path.join(d, "cpu.pressure"), line % ("some", cpu_some_us) + line % ("full", 0))
        write(os.path.join(d, "io.pressure"), line % ("some", 0) + line % ("full", 0))
        write(os.path.join(d, "memory.pressure"), line % ("some", 0) + line % ("full", 0))

    def pools(self, text):
        """/etc/pve/user.cfg, with its pool lines as PVE writes them."""
        write(self.user_cfg, text)

    def tap(self, name, **stats):
        """A network device's statistics files, every one a current kernel has (0 unless given)."""
        d = os.path.join(self.sys, "class", "net", name, "statistics")
        os.makedirs(d, exist_ok=True)
        for s in TAP_STATS:
            write(os.path.join(d, s), "%d\n" % stats.get(s, 0))

    def scope(self, vmid, cpu_some_us=0, cpu_full_us=0, io_some_us=0, mem_some_us=0, memory_current=0):
        d = os.path.join(self.cgroup, "qemu.slice", "%d.scope" % vmid)
        os.makedirs(d, exist_ok=True)
        line = "%s avg10=0.00 avg60=0.00 avg300=0.00 total=%d\n"
        write(os.path.join(d, "cpu.pressure"), line % ("some", cpu_some_us) + line % ("full", cpu_full_us))
        write(os.path.join(d, "io.pressure"), line % ("some", io_some_us) + line % ("full", 0))
        write(os.path.join(d, "memory.pressure"), line % ("some", mem_some_us) + line % ("full", 0))
        write(os.path.join(d, "memory.current"), "%d\n" % memory_current)

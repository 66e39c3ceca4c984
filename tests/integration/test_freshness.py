"""Values that must be right without -threads and for processes that sleep, on the live /proc:

- with -threads=false, a multi-threaded process whose main thread sleeps while its other threads
  switch: the context switches are the sum over all its threads (as the kernel and
  process-exporter count them), `states` adds up to its thread count, threads_wchan is there;
- an idle process paged out to swap from outside (process_madvise, so it never runs) shows its
  swap at the next scrape, not a minute later. Needs root and a swap file on this machine's disk
  (made and removed by the test)."""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

CTX_CONFIG = """
process_names:
  - name: ctxload
    cmdline: ['pt-freshness-ctx']
"""

# 20 threads: the main one sleeps, the other 19 alternate short sleeps and yields.
CTX_LOAD = r"""
import os, sys, threading, time
def work():
    while True:
        time.sleep(0.004)
        os.sched_yield()
for _ in range(19):
    threading.Thread(target=work, daemon=True).start()
print("ready", flush=True)
time.sleep(3600)
"""

SWAP_CONFIG = """
process_names:
  - name: swapload
    cmdline: ['pt-freshness-swap']
"""

# Touches 32 MiB of anonymous memory, says where it is, and sleeps: it never runs again.
SWAP_LOAD = r"""
import mmap, ctypes, sys, time
size = 32 << 20
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for off in range(0, size, 4096):
    m[off] = 1
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
print(addr, size, flush=True)
time.sleep(3600)
"""

SYS_PIDFD_OPEN = 434
SYS_PROCESS_MADVISE = 440
MADV_PAGEOUT = 21


def task_ctx_sum(pid):
    """voluntary and nonvoluntary switches summed over /proc/PID/task/*/status."""
    vol = nonvol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        nonvol += int(line.split()[1])
        except FileNotFoundError:
            pass
    return vol, nonvol


def status_field(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def series_of(samples, name):
    return {labels: v for (n, labels), v in samples.items() if n == name}


class ThreadsOffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pt-freshness-")
        config = h.write_config(cls.dir, CTX_CONFIG)
        # Both exporters before the process: both count it from its birth.
        cls.pt = h.start_proctrack("-config.path", config, "-threads=false")
        cls.pe = None
        if os.path.exists(h.PROCESS_EXPORTER):
            cls.pe = h.start_process_exporter("-config.path", config, "-threads=false")
        cls.load = subprocess.Popen([sys.executable, "-c", CTX_LOAD, "pt-freshness-ctx"],
                                    stdout=subprocess.PIPE)
        assert cls.load.stdout.readline().strip() == b"ready"

    @classmethod
    def tearDownClass(cls):
        cls.load.kill()
        cls.load.wait()
        cls.pt.close()
        if cls.pe:
            cls.pe.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def scrape_between(self, server):
        before = task_ctx_sum(self.load.pid)
        samples = h.parse(server.scrape())[0]
        after = task_ctx_sum(self.load.pid)
        return before, samples, after

    def assert_ctx_within(self, before, samples, after):
        for i, kind in enumerate(("voluntary", "nonvoluntary")):
            got = h.value(samples, "namedprocess_namegroup_context_switches_total",
                          groupname="ctxload", ctxswitchtype=kind)
            self.assertGreater(after[i], 1000)
            self.assertGreaterEqual(got, before[i] * 0.98, kind)
            self.assertLessEqual(got, after[i] * 1.02, kind)

    def test_context_switches_are_summed_over_all_threads(self):
        time.sleep(1.5)
        h.parse(self.pt.scrape())  # a scan in between: the process is no longer new
        time.sleep(1.0)
        before, samples, after = self.scrape_between(self.pt)
        self.assert_ctx_within(before, samples, after)

    def test_states_count_every_thread_and_wchan_is_written(self):
        samples = h.parse(self.pt.scrape())[0]
        threads = h.value(samples, "namedprocess_namegroup_num_threads", groupname="ctxload")
        self.assertEqual(threads, 20)
        states = series_of(samples, "namedprocess_namegroup_states")
        total = sum(v for labels, v in states.items() if ("groupname", "ctxload") in labels)
        self.assertEqual(total, threads)
        wchans = series_of(samples, "namedprocess_namegroup_threads_wchan")
        waiting = sum(v for labels, v in wchans.items() if ("groupname", "ctxload") in labels)
        self.assertGreaterEqual(waiting, 1)
        self.assertLessEqual(waiting, threads)
        self.assertFalse(any(n.startswith("namedprocess_namegroup_thread_")
                             for n, _ in samples))

    @unittest.skipUnless(os.path.exists(h.PROCESS_EXPORTER), "process-exporter is not installed")
    def test_process_exporter_counts_the_same(self):
        # Debian's 0.7.10 counts a process from its first sight, not from its birth: compare
        # the growth between two scrapes with the kernel's.
        before1, samples1, after1 = self.scrape_between(self.pe)
        time.sleep(1.5)
        before2, samples2, after2 = self.scrape_between(self.pe)
        for i, kind in enumerate(("voluntary", "nonvoluntary")):
            name = "namedprocess_namegroup_context_switches_total"
            grown = (h.value(samples2, name, groupname="ctxload", ctxswitchtype=kind) -
                     h.value(samples1, name, groupname="ctxload", ctxswitchtype=kind))
            self.assertGreater(before2[i] - after1[i], 1000)
            self.assertGreaterEqual(grown, (before2[i] - after1[i]) * 0.98, kind)
            self.assertLessEqual(grown, (after2[i] - before1[i]) * 1.02, kind)


def swap_possible():
    if os.geteuid() != 0:
        return "needs root (swapon, process_madvise)"
    for tool in ("mkswap", "swapon", "swapoff"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in ("/sbin", "/usr/sbin", "/usr/bin", "/bin")):
            return "no %s" % tool
    return None


@unittest.skipIf(swap_possible(), swap_possible() or "")
class SwapTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pt-freshness-", dir="/var/tmp")
        self.swapfile = os.path.join(self.dir, "swap")
        self.swapped_on = False
        subprocess.run(["dd", "if=/dev/zero", "of=" + self.swapfile, "bs=1M", "count=96"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(self.swapfile, 0o600)
        subprocess.run(["mkswap", self.swapfile], check=True, stdout=subprocess.DEVNULL)
        rc = subprocess.run(["swapon", self.swapfile], stderr=subprocess.PIPE)
        if rc.returncode != 0:
            self.cleanup_files()
            self.skipTest("swapon refused: %s" % rc.stderr.decode().strip())
        self.swapped_on = True
        self.load = None
        self.pt = None

    def tearDown(self):
        if self.load:
            self.load.kill()
            self.load.wait()
        if self.pt:
            self.pt.close()
        if self.swapped_on:
            subprocess.run(["swapoff", self.swapfile], check=True)
        self.cleanup_files()

    def cleanup_files(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)

    def page_out(self, pid, addr, size):
        """MADV_PAGEOUT on another process's memory: it is swapped out without that process
        running."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        pidfd = libc.syscall(SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0))
        if pidfd < 0:
            self.skipTest("pidfd_open: errno %d" % ctypes.get_errno())

        class Iovec(ctypes.Structure):
            _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

        iov = Iovec(addr, size)
        try:
            n = libc.syscall(SYS_PROCESS_MADVISE, ctypes.c_int(pidfd), ctypes.byref(iov),
                             ctypes.c_size_t(1), ctypes.c_int(MADV_PAGEOUT), ctypes.c_uint(0))
            if n < 0:
                self.skipTest("process_madvise: errno %d" % ctypes.get_errno())
        finally:
            os.close(pidfd)

    def swapped(self):
        samples = h.parse(self.pt.scrape())[0]
        return h.value(samples, "namedprocess_namegroup_memory_bytes", groupname="swapload",
                       memtype="swapped")

    def test_swap_of_a_sleeping_process_is_fresh_at_the_next_scrape(self):
        self.load = subprocess.Popen([sys.executable, "-c", SWAP_LOAD, "pt-freshness-swap"],
                                     stdout=subprocess.PIPE)
        addr, size = (int(x) for x in self.load.stdout.readline().split())
        config = h.write_config(self.dir, SWAP_CONFIG)
        self.pt = h.start_proctrack("-config.path", config, "-threads=false",
                                    "-gather-smaps=false")
        self.assertEqual(self.swapped(), 0)
        self.assertEqual(self.swapped(), 0)  # quiet from now on: its cache serves
        self.page_out(self.load.pid, addr, size)
        kernel = status_field(self.load.pid, "VmSwap") * 1024
        self.assertGreater(kernel, 16 << 20)
        self.assertEqual(self.swapped(), kernel)
        self.assertEqual(self.swapped(), status_field(self.load.pid, "VmSwap") * 1024)


if __name__ == "__main__":
    h.main()

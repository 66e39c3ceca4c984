"""Shared helpers for the integration tests: start the real binary on a loopback port, spawn
processes with known names, scrape and parse the exposition. Standard library only."""

import fcntl
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

PROCTRACK = os.environ.get("PROCTRACK_BIN", "build/proctrack")
HELPERS = os.environ.get("HELPERS_DIR", "build/tests")
FIXTURES = os.environ.get("FIXTURES_DIR", "tests/fixtures")
PROCESS_EXPORTER = shutil.which("prometheus-process-exporter") or "/usr/bin/prometheus-process-exporter"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# Under ASan+UBSan the daemon's memory is mostly the sanitizer's: memory bounds are not checked.
SANITIZED = os.environ.get("PROCTRACK_SANITIZED") == "1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_file():
    """A temporary file for a child's stderr, opened for appending. The child shares the file
    offset with this process: without O_APPEND, a log() that seeks to 0 to read while the child
    runs would make the child's next write overwrite the start of its log."""
    f = tempfile.TemporaryFile()
    flags = fcntl.fcntl(f.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(f.fileno(), fcntl.F_SETFL, flags | os.O_APPEND)
    return f


class Server:
    """A running exporter (proctrack or process-exporter) on 127.0.0.1."""

    def __init__(self, argv, port, ready_path="/metrics", timeout=20.0):
        self.port = port
        self.stderr = log_file()
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("%s exited with %d: %s" % (argv[0], self.proc.returncode, self.log()))
            try:
                status, _, _ = self.request("GET", ready_path, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s did not answer within %.0f s" % (argv[0], timeout))
            time.sleep(0.05)

    def request(self, method, path, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), body
        finally:
            conn.close()

    def scrape(self, path="/metrics"):
        status, headers, body = self.request("GET", path)
        assert status == 200, "scrape answered %d" % status
        return body.decode("utf-8")

    def log(self):
        if self.stderr.closed:
            return self._log
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.stderr.closed:
            self._log = self.log()
            self.stderr.close()
        return self.proc.returncode

    close = stop


def start_proctrack(*args, port=None):
    port = port or free_port()
    return Server([PROCTRACK, "-web.listen-address", "127.0.0.1:%d" % port] + list(args), port)


def start_process_exporter(*args, port=None):
    port = port or free_port()
    return Server([PROCESS_EXPORTER, "-web.listen-address", "127.0.0.1:%d" % port] + list(args), port)


class Workers:
    """Processes with known comm and argv, stopped at the end of the test."""

    def __init__(self):
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="pt-integ-")

    def binary(self, name):
        """A copy of pt_load under another file name, so argv[0] and exe differ per test."""
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            shutil.copy(os.path.join(HELPERS, "pt_load"), path)
        return path

    def start(self, comm, mode="sleep", *args, exe_name="pt_load", argv0=None):
        path = self.binary(exe_name)
        argv = [argv0 or path, comm, mode] + list(args)
        p = subprocess.Popen(argv, executable=path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = p.stdout.readline()
        assert line.strip() == b"ready", "helper did not start: %r" % line
        self.procs.append(p)
        return p

    @staticmethod
    def _close(p):
        for f in (p.stdin, p.stdout):
            if f:
                f.close()

    def stop_one(self, p):
        p.terminate()
        p.wait(timeout=10)
        self._close(p)
        self.procs.remove(p)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            self._close(p)
        self.procs = []
        shutil.rmtree(self.dir, ignore_errors=True)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "\\": "\\", '"': '"'}.get(m.group(1), m.group(0)), v)


def parse(text):
    """Parses a text exposition into {(name, ((label, value), ...)): float} plus type lines."""
    samples = {}
    types = {}
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, "unparsable line: %r" % line
        labels = tuple(sorted((k, _unescape(v)) for k, v in _LABEL.findall(m.group(3) or "")))
        key = (m.group(1), labels)
        assert key not in samples, "duplicate series %r" % (key,)
        samples[key] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    return samples.get(key)


def groups(samples):
    return {dict(k[1])["groupname"] for k in samples if k[0] == "namedprocess_namegroup_num_procs"}


def families(samples):
    """{family name: set of label-name tuples} of the group families."""
    out = {}
    for name, labels in samples:
        if name.startswith("namedprocess_namegroup_"):
            out.setdefault(name, set()).add(tuple(k for k, _ in labels))
    return out


def write_config(directory, text):
    path = os.path.join(directory, "config.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


# process-exporter's counters, which its dashboards and alerts name as they are: promtool's lint
# says they "should have "_total" suffix", of process-exporter's output too.
PE_COUNTERS_LINT = {'%s counter metrics should have "_total" suffix' % name
                    for name in ("namedprocess_scrape_errors", "namedprocess_scrape_partial_errors",
                                 "namedprocess_scrape_procread_errors")}


def promtool_check(text):
    """promtool check metrics, with the lint of process-exporter's own counter names left out of
    its findings: (0, "") when nothing else is found."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    rest = [line for line in (p.stdout + p.stderr).decode().splitlines()
            if line.strip() and line not in PE_COUNTERS_LINT]
    if p.returncode == 3 and not rest:  # 3: lint problems only
        return 0, ""
    return p.returncode, "".join(line + "\n" for line in rest)


def gunzip(body):
    return gzip.decompress(body)


_LOGFMT_KEY = re.compile(r'([^ ="]+)=')
_LOGFMT_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def parse_logfmt(line):
    """One logfmt line as proctrack's logger writes it into a dict: key=value pairs split by single
    spaces, a value quoted when it holds a space, '=', '"' or something not plainly printable, with
    a JSON string's escapes inside the quotes. Raises ValueError on anything else."""
    fields = {}
    i = 0
    while i < len(line):
        m = _LOGFMT_KEY.match(line, i)
        if not m:
            raise ValueError("no key at offset %d of %r" % (i, line))
        key, i = m.group(1), m.end()
        if line.startswith('"', i):
            m = _LOGFMT_QUOTED.match(line, i)
            if not m:
                raise ValueError("unterminated value at offset %d of %r" % (i, line))
            value, i = json.loads(m.group(0)), m.end()
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            if end == i:
                raise ValueError("empty bare value at offset %d of %r" % (i, line))
            value, i = line[i:end], end
        if key in fields:
            raise ValueError("key %r twice in %r" % (key, line))
        fields[key] = value
        if i < len(line):
            if line[i] != " " or i + 1 == len(line):
                raise ValueError("bad separator at offset %d of %r" % (i, line))
            i += 1
    return fields


def log_records(text):
    """The log lines of proctrack's stderr, logfmt or JSON, each as a dict; other lines are skipped."""
    records = []
    for line in text.split("\n"):
        if line.startswith("{"):
            records.append(json.loads(line))
        elif line.startswith("ts="):
            records.append(parse_logfmt(line))
    return records


def log_find(text, msg, **fields):
    """The log records with this msg and these field values (compared as strings)."""
    return [r for r in log_records(text)
            if r.get("msg") == msg and all(str(r.get(k)) == str(v) for k, v in fields.items())]


def wait_for_log(server, msg, count=1, timeout=10, **fields):
    """Waits until the server has logged `count` records with this msg and these fields; returns
    them, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = log_find(server.log(), msg, **fields)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def main():
    unittest.main(verbosity=2)

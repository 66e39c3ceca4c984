"""-web.config.file end to end: TLS, client certificates, basic auth and extra headers, with a CA,
server and client certificates made by the openssl CLI and a bcrypt hash made by pt_bcrypt at
test time. curl is the client, as it would be for a person checking an exporter by hand; Python's
ssl module and openssl s_client where a test chooses cipher suites, groups or watches which
certificate is served (cipher_suites, curve_preferences, rotation without a restart)."""

import base64
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness as h  # noqa: E402

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
CURL = shutil.which("curl") or "/usr/bin/curl"
PASSWORD = "s3cret pass:word"


def run(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    """ca.crt; server.crt/key and server2.crt/key (another key) for IP 127.0.0.1; client.crt/key
    from the CA; rogue.crt/key, self-signed, which no CA vouches for."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run([OPENSSL, "req", "-x509", *ec, "-days", "1", "-subj", "/CN=proctrack test CA",
         "-keyout", "ca.key", "-out", "ca.crt",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign"], d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                      ("server2", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext)
        run([OPENSSL, "req", *ec, "-subj", "/CN=" + name, "-keyout", name + ".key",
             "-out", name + ".csr"], d)
        run([OPENSSL, "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "1", "-extfile", name + ".ext", "-out", name + ".crt"], d)
    run([OPENSSL, "req", "-x509", *ec, "-days", "1", "-subj", "/CN=rogue",
         "-keyout", "rogue.key", "-out", "rogue.crt"], d)


class Proctrack:
    """proctrack serving with a web config. Ready once its port accepts connections: the plain
    HTTP check of harness.Server cannot speak TLS."""

    def __init__(self, web_yml, timeout=20.0):
        self.port = h.free_port()
        self.stderr = h.log_file()
        self.proc = subprocess.Popen(
            [h.PROCTRACK, "-web.listen-address", "127.0.0.1:%d" % self.port,
             "-web.config.file", web_yml],
            stdout=subprocess.DEVNULL, stderr=self.stderr)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("proctrack exited with %d: %s"
                                   % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("proctrack did not listen within %.0f s" % timeout)
            time.sleep(0.05)

    def log(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pt-tls-")
        make_pki(cls.dir)
        p = subprocess.run([os.path.join(h.HELPERS, "pt_bcrypt"), PASSWORD, "10"],
                           capture_output=True, check=True, timeout=30)
        cls.hash = p.stdout.decode().strip()
        assert cls.hash.startswith("$2b$10$"), cls.hash

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def path(self, name):
        return os.path.join(self.dir, name)

    def serve(self, web):
        """Writes `web` as web.yml (file names in it are relative to its directory) and starts
        proctrack with it."""
        with open(self.path("web.yml"), "w") as f:
            f.write(web)
        s = Proctrack(self.path("web.yml"))
        self.servers.append(s)
        return s

    def curl(self, server, path="/metrics", *args, scheme="https", ca=True):
        """Returns (curl exit status, HTTP status or 0, {header: value}, body)."""
        body, head = self.path("body"), self.path("head")
        for f in (body, head):
            if os.path.exists(f):
                os.unlink(f)
        argv = [CURL, "-sS", "--max-time", "10", "-o", body, "-D", head, "-w", "%{http_code}"]
        if ca and scheme == "https":
            argv += ["--cacert", self.path("ca.crt")]
        argv += list(args) + ["%s://127.0.0.1:%d%s" % (scheme, server.port, path)]
        p = subprocess.run(argv, capture_output=True, timeout=30)
        headers = {}
        if os.path.exists(head):
            with open(head, "rb") as f:
                for line in f.read().decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
        data = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                data = f.read()
        return p.returncode, int(p.stdout or b"0"), headers, data

    TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"

    def test_https_scrape_with_the_ca(self):
        s = self.serve(self.TLS)
        rc, status, headers, body = self.curl(s)
        self.assertEqual((rc, status), (0, 200))
        self.assertIn(b"namedprocess_namegroup_num_procs", body)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        # Without the CA the certificate does not verify (curl: 60).
        rc, status, _, _ = self.curl(s, ca=False)
        self.assertEqual((rc, status), (60, 0))

    def test_plain_http_to_the_tls_port_fails(self):
        s = self.serve(self.TLS)
        rc, status, _, _ = self.curl(s, scheme="http")
        self.assertNotEqual(rc, 0)
        self.assertEqual(status, 0)
        # The server goes on serving TLS.
        self.assertEqual(self.curl(s)[:2], (0, 200))

    def test_min_version_is_enforced(self):
        s = self.serve(self.TLS + "  min_version: TLS13\n")
        rc, status, _, _ = self.curl(s, "/metrics", "--tls-max", "1.2")
        self.assertNotEqual(rc, 0)
        self.assertEqual(status, 0)
        self.assertEqual(self.curl(s, "/metrics", "--tlsv1.3")[:2], (0, 200))

    def test_basic_auth(self):
        s = self.serve(self.TLS + "basic_auth_users:\n  prometheus: '%s'\n" % self.hash)
        rc, status, headers, _ = self.curl(s)
        self.assertEqual((rc, status), (0, 401))
        self.assertEqual(headers.get("www-authenticate"), 'Basic realm="proctrack"')
        for user in ("prometheus:wrong", "prometheus:" + PASSWORD + "x", "nobody:" + PASSWORD):
            self.assertEqual(self.curl(s, "/metrics", "-u", user)[:2], (0, 401), user)
        for _ in range(3):
            rc, status, _, body = self.curl(s, "/metrics", "-u", "prometheus:" + PASSWORD)
            self.assertEqual((rc, status), (0, 200))
            self.assertIn(b"namedprocess_namegroup_num_procs", body)
        # Every path: the landing page too; an unknown path is 404 only once authenticated.
        self.assertEqual(self.curl(s, "/")[:2], (0, 401))
        self.assertEqual(self.curl(s, "/nope")[:2], (0, 401))
        self.assertEqual(self.curl(s, "/nope", "-u", "prometheus:" + PASSWORD)[:2], (0, 404))
        # The health endpoints too, as exporter-toolkit guards them.
        for path in ("/-/healthy", "/-/ready"):
            self.assertEqual(self.curl(s, path)[:2], (0, 401))
            self.assertEqual(self.curl(s, path, "-u", "prometheus:" + PASSWORD)[:2], (0, 200))

    def test_basic_auth_without_tls(self):
        s = self.serve("basic_auth_users:\n  prometheus: '%s'\n" % self.hash)
        self.assertEqual(self.curl(s, scheme="http")[:2], (0, 401))
        self.assertEqual(self.curl(s, "/metrics", "-u", "prometheus:" + PASSWORD,
                                   scheme="http")[:2], (0, 200))

    def client(self, name):
        return ["--cert", self.path(name + ".crt"), "--key", self.path(name + ".key")]

    def test_require_and_verify_client_cert(self):
        s = self.serve(self.TLS + "  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  client_ca_file: ca.crt\n")
        rc, status, _, body = self.curl(s)
        self.assertEqual((rc, status), (0, 403))
        self.assertIn(b"client certificate required", body)
        rc, status, _, body = self.curl(s, "/metrics", *self.client("rogue"))
        self.assertEqual((rc, status), (0, 403))
        self.assertIn(b"client certificate rejected", body)
        rc, status, _, body = self.curl(s, "/metrics", *self.client("client"))
        self.assertEqual((rc, status), (0, 200))
        self.assertIn(b"namedprocess_namegroup_num_procs", body)

    def test_require_any_client_cert(self):
        s = self.serve(self.TLS + "  client_auth_type: RequireAnyClientCert\n")
        self.assertEqual(self.curl(s)[:2], (0, 403))
        self.assertEqual(self.curl(s, "/metrics", *self.client("rogue"))[:2], (0, 200))

    def test_verify_client_cert_if_given(self):
        s = self.serve(self.TLS + "  client_auth_type: VerifyClientCertIfGiven\n"
                                  "  client_ca_file: ca.crt\n")
        self.assertEqual(self.curl(s)[:2], (0, 200))
        self.assertEqual(self.curl(s, "/metrics", *self.client("client"))[:2], (0, 200))
        self.assertEqual(self.curl(s, "/metrics", *self.client("rogue"))[:2], (0, 403))

    def test_client_cert_and_basic_auth_together(self):
        s = self.serve(self.TLS + "  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  client_ca_file: ca.crt\n"
                                  "basic_auth_users:\n  prometheus: '%s'\n" % self.hash)
        self.assertEqual(self.curl(s, "/metrics", "-u", "prometheus:" + PASSWORD)[:2], (0, 403))
        self.assertEqual(self.curl(s, "/metrics", *self.client("client"))[:2], (0, 401))
        self.assertEqual(self.curl(s, "/metrics", "-u", "prometheus:" + PASSWORD,
                                   *self.client("client"))[:2], (0, 200))

    def test_extra_headers(self):
        s = self.serve(self.TLS + "http_server_config:\n  headers:\n"
                                  "    Strict-Transport-Security: max-age=31536000\n"
                                  "    X-Frame-Options: sameorigin\n")
        for path, want in (("/metrics", 200), ("/", 200), ("/nope", 404)):
            rc, status, headers, _ = self.curl(s, path)
            self.assertEqual((rc, status), (0, want))
            self.assertEqual(headers.get("strict-transport-security"), "max-age=31536000")
            self.assertEqual(headers.get("x-frame-options"), "sameorigin")

    def test_reload_is_404_without_a_reload_hook(self):
        s = self.serve(self.TLS)
        self.assertEqual(self.curl(s, "/-/reload", "-X", "POST")[:2], (0, 404))
        self.assertEqual(self.curl(s, "/metrics", "-X", "POST")[:2], (0, 405))

    def test_bad_web_config_stops_start_up(self):
        web = self.path("bad.yml")
        cases = (
            ("tls_server_config:\n  cert_file: server.crt\n  keyfile: server.key\n",
             'bad.yml:3:3: unknown key "keyfile" in tls_server_config'),
            ("tls_server_config:\n  cert_file: server.crt\n",
             "bad.yml:2:3: cert_file is set but key_file is missing"),
            ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
             'bad.yml:2:14: cannot read cert_file "%s": No such file or directory'
             % self.path("missing.crt")),
            ("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
             'bad.yml:2:14: cert_file "server.crt" with key_file "client.key": '),
            (self.TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
             "bad.yml:4:21: client_auth_type RequireAndVerifyClientCert needs client_ca_file"),
            ("basic_auth_users:\n  prometheus: s3cret\n",
             'bad.yml:2:15: the password of user "prometheus" is not a bcrypt hash'),
            ("tls_server_config:\n  cert_file: 'server.crt\n",
             "bad.yml:3:1: found unexpected end of stream (while scanning a quoted scalar at "
             "line 2, column 14)"),
        )
        for text, want in cases:
            with open(web, "w") as f:
                f.write(text)
            port = h.free_port()
            p = subprocess.run([h.PROCTRACK, "-web.listen-address", "127.0.0.1:%d" % port,
                                "-web.config.file", web], capture_output=True, timeout=60)
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 2, err)
            logged = h.log_find(err, "cannot load the web config", level="error", web_config=web)
            self.assertEqual(len(logged), 1, err)
            self.assertIn(web + ":" + want.split(":", 1)[1], logged[0]["err"])
        nope = self.path("nope.yml")
        p = subprocess.run([h.PROCTRACK, "-web.config.file", nope], capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        logged = h.log_find(p.stderr.decode(), "cannot load the web config", web_config=nope)
        self.assertEqual(len(logged), 1, p.stderr)
        self.assertIn("%s: No such file or directory" % nope, logged[0]["err"])


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class TlsSettingsAndReloadTest(unittest.TestCase):
    """cipher_suites, curve_preferences, and the web config read again when its files change,
    against Python's ssl module and openssl s_client."""

    TLS = "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n"

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="pt-tls-reload-")
        make_pki(cls.dir)
        cls.hashes = {}
        for password in ("first password", "second password"):
            p = subprocess.run([os.path.join(h.HELPERS, "pt_bcrypt"), password, "4"],
                               capture_output=True, check=True, timeout=30)
            cls.hashes[password] = p.stdout.decode().strip()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.servers = []
        self.conns = []
        self.install("server")

    def tearDown(self):
        for c in self.conns:
            c.close()
        for s in self.servers:
            s.stop()

    def path(self, name):
        return os.path.join(self.dir, name)

    def install(self, name):
        """Puts NAME.crt/key in place as live.crt/key the way a rotation does: each written
        beside, then renamed over the old one."""
        for ext in ("crt", "key"):
            shutil.copyfile(self.path("%s.%s" % (name, ext)), self.path("live.%s.new" % ext))
            os.replace(self.path("live.%s.new" % ext), self.path("live." + ext))

    def write_web(self, text):
        with open(self.path("web.yml.new"), "w") as f:
            f.write(text)
        os.replace(self.path("web.yml.new"), self.path("web.yml"))

    def serve(self, text):
        self.write_web(text)
        s = Proctrack(self.path("web.yml"))
        self.servers.append(s)
        return s

    def context(self, max12=False, ciphers=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if max12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx

    def connect(self, server, **kw):
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10,
                                           context=self.context(**kw))
        self.conns.append(conn)
        return conn

    def get(self, conn, path="/-/healthy", password=None):
        headers = {}
        if password:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("prometheus:" + password).encode()).decode()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def served_cert(self, server):
        conn = self.connect(server)
        try:
            self.assertEqual(self.get(conn), 200)
            return conn.sock.getpeercert(binary_form=True)
        finally:
            conn.close()

    def wait_for(self, what, timeout=10):
        """Files are looked at when a connection or request comes: `what` makes one."""
        deadline = time.monotonic() + timeout
        while not what():
            if time.monotonic() > deadline:
                self.fail("not within %d s" % timeout)
            time.sleep(0.2)

    def test_certificate_rotates_without_a_restart(self):
        s = self.serve(self.TLS)
        self.assertEqual(self.served_cert(s), der(self.path("server.crt")))
        kept = self.connect(s)
        self.assertEqual(self.get(kept), 200)
        self.install("server2")
        self.wait_for(lambda: self.served_cert(s) == der(self.path("server2.crt")))
        self.assertEqual(s.proc.poll(), None)
        # A connection made before goes on with the certificate it was given.
        self.assertEqual(self.get(kept), 200)
        self.assertEqual(kept.sock.getpeercert(binary_form=True), der(self.path("server.crt")))
        kept.close()
        self.assertEqual(len(h.log_find(s.log(), "web config reloaded", level="info")), 1, s.log())
        # And back, rotated again.
        self.install("server")
        self.wait_for(lambda: self.served_cert(s) == der(self.path("server.crt")))

    def test_users_change_and_a_broken_file_changes_nothing(self):
        users = "basic_auth_users:\n  prometheus: '%s'\n"
        s = self.serve(self.TLS + users % self.hashes["first password"])
        conn = self.connect(s)
        self.assertEqual(self.get(conn, "/metrics"), 401)
        conn = self.connect(s)
        self.assertEqual(self.get(conn, "/metrics", "first password"), 200)
        self.write_web(self.TLS + users % self.hashes["second password"])
        # Read again for each request, as exporter-toolkit does: the connection kept alive too.
        self.wait_for(lambda: self.get(conn, "/-/ready", "second password") == 200)
        self.assertEqual(self.get(self.connect(s), "/metrics", "first password"), 401)

        # A file that does not load is logged once and leaves the config in use.
        def failures():
            self.assertEqual(self.get(self.connect(s), "/metrics", "second password"), 200)
            return h.log_find(s.log(), "web config reload failed, keeping the current one")
        self.write_web(self.TLS + "basic_auth_users:\n  prometheus: plain\n")
        self.wait_for(lambda: failures())
        time.sleep(1.5)
        self.assertEqual(len(failures()), 1)
        failed = h.log_find(s.log(), "web config reload failed, keeping the current one", level="error")
        self.assertEqual(len(failed), 1, s.log())
        self.assertIn("is not a bcrypt hash", failed[0]["err"])
        # TLS cannot be turned off while serving.
        self.write_web(users % self.hashes["first password"])
        self.wait_for(lambda: len(failures()) == 2)
        self.assertIn("TLS cannot be turned off without a restart",
                      h.log_find(s.log(), "web config reload failed, keeping the current one")[1]["err"])
        self.assertEqual(self.get(self.connect(s), "/metrics", "second password"), 200)

    def test_cipher_suites_as_go_takes_them(self):
        # The certificate is ECDSA P-256. gnutls also allows ECDHE-ECDSA with AES-256-GCM here
        # (a combination of the two listed suites' parts): refused after the handshake, as Go
        # refuses it in the handshake.
        s = self.serve(self.TLS + "  max_version: TLS12\n  cipher_suites:\n"
                       "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
                       "    - TLS_RSA_WITH_AES_256_GCM_SHA384\n")
        conn = self.connect(s, max12=True, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(self.get(conn), 200)
        self.assertEqual(conn.sock.cipher()[0], "ECDHE-ECDSA-AES128-GCM-SHA256")
        for ciphers in ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
            with self.assertRaises((ssl.SSLError, http.client.HTTPException, ConnectionError), msg=ciphers):
                self.get(self.connect(s, max12=True, ciphers=ciphers))
        # The server's order decides among the listed ones.
        conn = self.connect(s, max12=True)
        self.assertEqual(self.get(conn), 200)
        self.assertEqual(conn.sock.cipher()[0], "ECDHE-ECDSA-AES128-GCM-SHA256")

    def test_tls13_suites_are_not_chosen_by_cipher_suites(self):
        s = self.serve(self.TLS + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n")
        conn = self.connect(s)
        self.assertEqual(self.get(conn), 200)
        self.assertEqual(conn.sock.version(), "TLSv1.3")
        self.assertTrue(conn.sock.cipher()[0].startswith("TLS_"), conn.sock.cipher())
        # gnutls combines TLS 1.3's ciphers with the listed key exchange: refused after it.
        with self.assertRaises((ssl.SSLError, http.client.HTTPException, ConnectionError)):
            self.get(self.connect(s, max12=True, ciphers="ECDHE-ECDSA-AES256-GCM-SHA384"))

    def test_curve_preferences(self):
        s = self.serve(self.TLS + "  curve_preferences: [CurveP384]\n")

        def s_client(group):
            return subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % s.port,
                                   "-tls1_3", "-groups", group, "-CAfile", self.path("ca.crt")],
                                  input=b"", capture_output=True, timeout=30)
        p = s_client("P-384")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Server Temp Key: ECDH, secp384r1", p.stdout)
        self.assertNotEqual(s_client("X25519:P-256").returncode, 0)


if __name__ == "__main__":
    h.main()

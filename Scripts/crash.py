#!/usr/bin/env python3
"""kill -9 crash-safety test for feedspool's spool (DESIGN section 2).

Serves FEEDS RSS feeds of ITEMS items each from a loopback HTTP server of its own
(127.0.0.1, port 0, strong ETags and 304s). Items appear over time: about a quarter
of them are there from the start, the others at a random kill iteration in the first
three quarters of the run, so that most rounds have something to deliver when they
are killed. Then, until KILLS rounds were killed: start `feedspool run --once --force`
(or, with `--mode daemon`, the daemon itself with a 1 s feed interval), SIGKILL it after
a random delay between 0 and the typical round time, and check the spool as it was
left behind (a round that ends before its kill is checked too but does not count; at
most 4 * KILLS + 20 rounds, and fewer kills than KILLS is a failure):

  * every file in new/ and cur/ is complete: starts with a `---` line, the front
    matter closes, parses as a YAML mapping with string `webUrl` and `title`;
  * no two files share a webUrl;
  * the delivery log (SPOOL/.feedspool/deliveries.log) has well-formed `SEQ KEY NAME`
    lines numbered 1, 2, 3, ... (only a torn last line without a newline is allowed),
    no key and no name twice;
  * every file in new/ and cur/ appears in the log, and every logged name is in new/
    or cur/, except in-flight ones whose committed file still waits in tmp/ as
    SEQ-NAME (the next start rolls them forward);
  * a round that was not killed exited 0.

At the end one clean round runs to completion with every item visible, and then:
every offered article is delivered exactly once (files == FEEDS x ITEMS, the set of
webUrls is exactly the offered links), the log matches the files one to one with
tmp/ empty, a further round stores nothing, and check_spool.py passes.

Prints a line per failed iteration and per final check, then `N passed, N failed`
(one check per kill iteration plus the final ones). Exit 1 when anything failed.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LOG_LINE = re.compile(r"^(\d+) ([0-9a-fA-F]+) ([^/\s][^/]*)$")


def log(msg):
    sys.stderr.write("[crash %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# The feed server
# ---------------------------------------------------------------------------

class Feeds:
    def __init__(self, nfeeds, nitems, kills, seed):
        rnd = random.Random(seed)
        self.nfeeds, self.nitems = nfeeds, nitems
        # About 4 rounds in 3 are killed, so KILLS kills take about 4/3 KILLS rounds:
        # items keep appearing through the first three quarters of them.
        last = max(1, kills)
        # reveal[f][j]: the generation (kill iteration) from which item j of feed f is offered.
        self.reveal = [[0 if rnd.random() < 0.25 else rnd.randint(1, last)
                        for _ in range(nitems)] for _ in range(nfeeds)]
        self.generation = 0
        self.port = None
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0

    def link(self, f, j):
        return "http://127.0.0.1:%d/a/%d/%d" % (self.port, f, j)

    def offered(self, f):
        return [j for j in range(self.nitems) if self.reveal[f][j] <= self.generation]

    def all_links(self):
        return {self.link(f, j) for f in range(self.nfeeds) for j in range(self.nitems)}

    def document(self, f):
        items = self.offered(f)
        etag = '"%s"' % hashlib.sha1(("%d:%s" % (f, items)).encode()).hexdigest()[:16]
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
               '<title>Crash feed %d</title><link>http://127.0.0.1:%d/</link>'
               '<description>crash test</description>\n' % (f, self.port)]
        for j in reversed(items):
            out.append('<item><title>Feed %d item %d: a title with "quotes" &amp; a colon: '
                       'here</title><link>%s</link><guid isPermaLink="false">crash-%d-%d</guid>'
                       '<pubDate>Mon, %02d Jan 2025 %02d:%02d:00 GMT</pubDate>'
                       '<description>&lt;p&gt;Body of feed %d item %d. %s&lt;/p&gt;'
                       '</description></item>\n'
                       % (f, j, self.link(f, j), f, j, 1 + j % 28, f % 24, j % 60, f, j,
                          "Lorem ipsum dolor sit amet. " * 8))
        out.append("</channel></rss>\n")
        return etag, "".join(out).encode()


def make_server(feeds):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            m = re.match(r"^/feed/(\d+)\.xml$", self.path)
            if not m or int(m.group(1)) >= feeds.nfeeds:
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            with feeds.lock:
                feeds.requests += 1
                etag, body = feeds.document(int(m.group(1)))
            if self.headers.get("If-None-Match", "").strip() == etag:
                with feeds.lock:
                    feeds.not_modified += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass   # a killed daemon resets its connections: expected here

    httpd = Server(("127.0.0.1", 0), Handler)
    feeds.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                     daemon=True).start()
    return httpd


# ---------------------------------------------------------------------------
# Spool inspection
# ---------------------------------------------------------------------------

class Inspector:
    def __init__(self, spool):
        self.spool = spool
        self.cache = {}   # (name, size, mtime_ns) -> (ok, reason, webUrl)

    def parse_file(self, path, key):
        if key in self.cache:
            return self.cache[key]
        import yaml
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            return (False, "cannot read: %s" % e, None)
        res = None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            res = (False, "not UTF-8 (%d bytes)" % len(data), None)
        if res is None and not text.startswith("---\n"):
            res = (False, "no opening --- (%d bytes)" % len(data), None)
        if res is None:
            end = text.find("\n---\n", 3)
            if end < 0:
                res = (False, "front matter not closed (%d bytes, ends %r)"
                       % (len(data), text[-40:]), None)
            else:
                try:
                    meta = yaml.safe_load(text[4:end + 1])
                except yaml.YAMLError as e:
                    meta = None
                    res = (False, "front matter not YAML: %s" % str(e).splitlines()[0], None)
                if res is None:
                    if not isinstance(meta, dict):
                        res = (False, "front matter not a mapping", None)
                    elif not isinstance(meta.get("webUrl"), str) or not isinstance(
                            meta.get("title"), str):
                        res = (False, "webUrl/title missing or not strings", None)
                    else:
                        res = (True, "", meta["webUrl"])
        self.cache[key] = res
        return res

    def listing(self, sub):
        try:
            return sorted(os.listdir(os.path.join(self.spool, sub)))
        except OSError:
            return []

    def read_log(self):
        """-> (records, problems, torn)"""
        path = os.path.join(self.spool, ".feedspool", "deliveries.log")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return [], [], False
        problems = []
        parts = data.split(b"\n")
        torn = parts[-1] != b""
        records = []
        for k, raw in enumerate(parts[:-1]):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                problems.append("log line %d not UTF-8: %r" % (k + 1, raw[:80]))
                continue
            m = LOG_LINE.match(line)
            if not m:
                problems.append("log line %d malformed: %r" % (k + 1, line[:120]))
                continue
            records.append((int(m.group(1)), m.group(2), m.group(3)))
        for k, (seq, _, _) in enumerate(records):
            if seq != k + 1:
                problems.append("log seq %d at record %d (want %d)" % (seq, k + 1, k + 1))
                break
        keys, names = {}, {}
        for seq, key, name in records:
            if key in keys:
                problems.append("key %s logged twice (seq %d and %d): delivered twice"
                                % (key, keys[key], seq))
            keys[key] = seq
            if name in names:
                problems.append("name %s logged twice (seq %d and %d)" % (name, names[name], seq))
            names[name] = seq
        return records, problems, torn

    def check(self):
        """The spool as left behind by a killed run. -> (problems, stats)"""
        problems = []
        records, lp, torn = self.read_log()
        problems += lp
        visible = {}
        for sub in ("new", "cur"):
            for n in self.listing(sub):
                if n in visible:
                    problems.append("%s in both new/ and cur/" % n)
                visible[n] = sub
        tmp = set(self.listing("tmp"))
        logged = {name: seq for seq, _, name in records}
        urls = {}
        for n, sub in visible.items():
            p = os.path.join(self.spool, sub, n)
            try:
                st = os.stat(p)
            except OSError as e:
                problems.append("%s/%s: %s" % (sub, n, e))
                continue
            ok, why, url = self.parse_file(p, (n, st.st_size, st.st_mtime_ns))
            if not ok:
                problems.append("partial or broken %s/%s: %s" % (sub, n, why))
            if url is not None:
                if url in urls:
                    problems.append("duplicate webUrl %s in %s and %s" % (url, urls[url], n))
                urls[url] = n
            if n not in logged:
                problems.append("%s/%s is visible but not in the delivery log" % (sub, n))
        in_flight = 0
        for name, seq in logged.items():
            if name in visible:
                continue
            if "%d-%s" % (seq, name) in tmp:
                in_flight += 1
            else:
                problems.append("logged seq %d %s is neither in new/, cur/ nor waiting in tmp/"
                                % (seq, name))
        return problems, {"files": len(visible), "logged": len(records), "in_flight": in_flight,
                          "tmp": len(tmp), "torn": torn, "urls": urls}


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def write_config(path, spool, state, feeds, mode):
    lines = ["# written by Scripts/crash.py", "spool: %s" % json.dumps(spool),
             "state: %s" % json.dumps(state), "interval: 60m", "feeds:"]
    for f in range(feeds.nfeeds):
        lines.append("  - url: %s" % json.dumps("http://127.0.0.1:%d/feed/%d.xml"
                                                % (feeds.port, f)))
        if mode == "daemon":
            lines.append("    interval: 1s")
    lines += ["network:", "  allow: [%s]" % json.dumps("127.0.0.1:%d" % feeds.port),
              "  perOrigin: 16", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def start(binary, cfg, mode, out, err):
    cmd = [binary, "run", "--config", cfg] + (["--once", "--force"] if mode == "once" else [])
    return subprocess.Popen(cmd, stdout=out, stderr=err)


def run_to_end(binary, cfg, out_path, err_path, timeout):
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = start(binary, cfg, "once", out, err)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=30)
            rc = "timeout"
    with open(out_path, errors="replace") as f:
        m = re.search(r"^stored=(\d+)\s*$", f.read(), re.M)
    return rc, (int(m.group(1)) if m else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, ".build/release/feedspool"))
    ap.add_argument("--shared", default=os.environ.get("FEEDSPOOL_SHARED",
                                                       os.path.join(REPO, "..", "shared")))
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--feeds", type=int, default=30)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--mode", choices=("once", "daemon"), default="once",
                    help="kill `run --once --force` rounds, or the daemon itself")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--max-delay", type=float, default=None,
                    help="kill delay upper bound, seconds (default: a measured full round)")
    ap.add_argument("--round-timeout", type=float, default=120.0)
    ap.add_argument("--workdir", help="scratch directory (default: new under $TMPDIR, kept)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print("crash.py: no executable %s (swift build -c release)" % binary, file=sys.stderr)
        return 2
    checker = os.path.join(os.path.abspath(args.shared), "hostile", "check_spool.py")
    work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="feedspool-crash-"))
    os.makedirs(work, exist_ok=True)
    log("workdir %s, seed %d, mode %s" % (work, seed, args.mode))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    feeds = Feeds(args.feeds, args.items, args.kills, seed)
    httpd = make_server(feeds)
    try:
        return run(args, rnd, binary, checker, work, feeds)
    finally:
        httpd.shutdown()


def run(args, rnd, binary, checker, work, feeds):
    # Calibrate: one complete round with every item offered, in a scratch sandbox.
    cal = os.path.join(work, "calibrate")
    if os.path.exists(cal):
        shutil.rmtree(cal)
    os.makedirs(cal)
    write_config(os.path.join(cal, "c.yaml"), os.path.join(cal, "spool"),
                 os.path.join(cal, "state"), feeds, "once")
    feeds.generation = 1 << 30
    t0 = time.monotonic()
    rc, stored = run_to_end(binary, os.path.join(cal, "c.yaml"), os.path.join(cal, "out"),
                            os.path.join(cal, "err"), args.round_timeout)
    full = time.monotonic() - t0
    log("calibration round: rc=%s stored=%s %.2f s" % (rc, stored, full))
    # The bound starts at a full round and then tracks this loop's typical round (most
    # rounds only see a few new items): it shrinks by 6 % when a round ends before its
    # kill and grows by 2 % when one is killed, which settles at about 3 kills in 4.
    # The daemon never ends by itself: its bound stays at a full round.
    max_delay = args.max_delay if args.max_delay is not None else max(0.2, full)
    adapt = args.max_delay is None and args.mode == "once"
    shutil.rmtree(cal)

    sandbox = os.path.join(work, "sandbox")
    if os.path.exists(sandbox):
        shutil.rmtree(sandbox)
    spool = os.path.join(sandbox, "spool")
    state = os.path.join(sandbox, "state")
    os.makedirs(sandbox)
    cfg = os.path.join(work, "crash.yaml")
    write_config(cfg, spool, state, feeds, args.mode)
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)
    insp = Inspector(spool)

    passed = failed = 0

    def result(ok, name, reason):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: %s" % (name, reason), flush=True)

    killed = finished = 0
    durations = []
    in_flight_seen = torn_seen = 0
    t_start = time.monotonic()
    max_rounds = 4 * args.kills + 20
    i = -1
    while killed < args.kills and i + 1 < max_rounds:
        i += 1
        feeds.generation = i
        delay = rnd.uniform(0, max_delay)
        t_run = time.monotonic()
        err_path = os.path.join(logs, "iter.err")
        with open(os.devnull, "wb") as out, open(err_path, "wb") as err:
            p = start(binary, cfg, args.mode, out, err)
            try:
                rc = p.wait(timeout=delay)
                finished += 1
                durations.append(time.monotonic() - t_run)
                if adapt:
                    max_delay = max(0.05, max_delay * 0.94)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                rc = p.wait(timeout=30)
                killed += 1
                if adapt:
                    max_delay *= 1.02
            finally:
                if p.poll() is None:
                    os.kill(p.pid, signal.SIGKILL)
                    p.wait(timeout=30)
        problems, st = insp.check()
        if rc not in (0, -signal.SIGKILL):
            problems.append("exit status %s (stderr tail: %s)" % (rc, tail(err_path)))
        if st["in_flight"]:
            in_flight_seen += 1
        if st["torn"]:
            torn_seen += 1
        if problems:
            keep = os.path.join(logs, "iter-%d.err" % (i + 1))
            shutil.copy(err_path, keep)
        result(not problems, "kill %d (after %.2fs, %s)" % (i + 1, delay,
                                                         "killed" if rc == -signal.SIGKILL
                                                         else "exited %s" % rc),
               "; ".join(problems[:4]) + (" (+%d more)" % (len(problems) - 4)
                                          if len(problems) > 4 else "")
               + " | files=%d logged=%d in-flight=%d tmp=%d" % (st["files"], st["logged"],
                                                                st["in_flight"], st["tmp"]))
        if (i + 1) % 20 == 0:
            log("round %d, %d/%d killed: files=%d logged=%d in-flight=%d tmp=%d failed=%d"
                % (i + 1, killed, args.kills, st["files"], st["logged"], st["in_flight"],
                   st["tmp"], failed))
    log("kill loop: %d killed, %d finished before the kill, %d left committed files in tmp/, "
        "%d left a torn log line; %.0f s; kill delays up to %.2f s (median finished round "
        "%.2f s)" % (killed, finished, in_flight_seen, torn_seen, time.monotonic() - t_start,
                     max_delay, sorted(durations)[len(durations) // 2] if durations else 0))

    result(killed >= args.kills, "kill count",
           "only %d of %d rounds killed in %d rounds" % (killed, args.kills, i + 1))

    # Final: everything offered, one clean round to completion.
    feeds.generation = 1 << 30
    rc, stored = run_to_end(binary, cfg, os.path.join(logs, "final.out"),
                            os.path.join(logs, "final.err"), args.round_timeout)
    result(rc == 0 and stored is not None, "final round",
           "rc=%s stored=%s (stderr tail: %s)" % (rc, stored, tail(os.path.join(logs,
                                                                                 "final.err"))))
    problems, st = insp.check()
    want = feeds.all_links()
    got = st["urls"]
    missing = sorted(want - set(got))
    extra = sorted(set(got) - want)
    total = feeds.nfeeds * feeds.nitems
    ok = st["files"] == total and not missing and not extra and not problems
    result(ok, "every article exactly once",
           "%d files for %d offered; missing %d %s; unexpected %d %s; %s"
           % (st["files"], total, len(missing), missing[:3], len(extra), extra[:3],
              "; ".join(problems[:3])))
    ok = st["logged"] == total and st["tmp"] == 0 and st["in_flight"] == 0 and not st["torn"]
    result(ok, "log matches files", "logged=%d files=%d tmp=%d in-flight=%d torn=%s"
           % (st["logged"], st["files"], st["tmp"], st["in_flight"], st["torn"]))
    rc2, stored2 = run_to_end(binary, cfg, os.path.join(logs, "again.out"),
                              os.path.join(logs, "again.err"), args.round_timeout)
    result(rc2 == 0 and stored2 == 0, "another round stores nothing",
           "rc=%s stored=%s" % (rc2, stored2))
    try:
        cs = subprocess.run([sys.executable, checker, spool, "--sandbox", sandbox, "--allow",
                             state], capture_output=True, text=True, timeout=600)
        lines = cs.stdout.strip().splitlines()
        result(cs.returncode == 0, "check_spool.py",
               "; ".join(lines[:3]) + (" ... " + lines[-1] if len(lines) > 3 else ""))
    except subprocess.TimeoutExpired:
        result(False, "check_spool.py", "timed out")
    log("server: %d feed requests, %d answered 304" % (feeds.requests, feeds.not_modified))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def tail(path, n=300):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace").replace("\n", " | ").strip()
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Hostile-input harness for feedspool ("Hostile input, crashes and full disks").

Starts the shared hostile loopback server, points a sandboxed feedspool at every
catalogue entry of the categories baseline, xml, encoding, http, ssrf and content,
runs several forced rounds (`feedspool run --once --force`), and evaluates every
check key of every entry as the catalogue and shared/hostile/README.md define them.

    python3 Scripts/hostile.py [--binary .build/release/feedspool] [--rounds 5]

Output: one line per case, `PASS|FAIL PATH: reason`, then `N passed, N failed`.
Exit status 1 when anything failed, 2 when the harness itself could not run.

How each check key is judged here (server log = /__log of the hostile server):

  requested          (every case) the server saw at least one request for the path.
  spool_files        files in SPOOL/new and SPOOL/cur whose front matter `feed` is the
                     configured feed URL, after the last round: N, "<=N" or "0 or 1".
                     Feeds that lead to the same articles (/ok/moved-target.xml, the 301
                     and the 308 feed; /ok/temp-target.xml and the 302 feed) are judged as
                     a group: dedup across feeds delivers each article once, to whichever
                     feed came first, so the group's files must number N and no member may
                     have more than N.
  idempotent         after the first round in which the feed produced files, no later
                     round adds a file attributed to it (a feed that never produced files
                     passes trivially when spool_files allows 0).
  max_seconds        every request for the path lasted <= N s (server `duration_s`).
  max_bytes_read_mb  every request for the path sent <= N MiB (server `bytes_sent`).
  max_rss_mb         the daemon's peak RSS (GNU time %M, else /proc VmHWM polling) stayed
                     <= N MB in every round. The peak is the whole process's, all feeds at
                     once; when a round exceeded N, the case is run alone in a scratch
                     sandbox and judged by that isolated peak instead.
  canary_hits        /__canary connections caused by this path == N. A canary entry is
                     attributed by the path in its request line (/from-http-..., /evil.dtd,
                     /external.dtd, /item, /_x, /schemeless); one without a recognisable
                     request line goes to the canary case whose request was nearest in time.
  no_refetch         exactly one request for the path over all rounds.
  no_refetch_before_s  for every response 429/503 at server time t, no later request for
                     the path starts before t + N.
  conditional        the second request carries If-None-Match or If-Modified-Since and is
                     answered 304.
  updates_url true   the redirecting path is requested in rounds 1..k for some k <= 3 (the
                     documented move after 3 consecutive permanent redirects), never in
                     rounds k+1..R, R > k, and the state file names the target as movedTo.
  updates_url false  the redirecting path is requested in every round.
  max_redirects_followed  the largest ?n= the redirect loop reached (n = redirects
                     followed in that chain) is <= N.
  backoff            Rounds are forced (`--force`) and start --round-spacing seconds
                     apart, with `interval: 4m` so that the daemon's first error backoff
                     (a quarter of the interval, >= 60 s) is in the order of one spacing.
                     Let r1 < ... < rn be the rounds in which the server saw the path, gaps
                     g_i = r_{i+1} - r_i and the open gap g_n = R + 1 - r_n. PASS iff the
                     gaps never shrink (g_1 <= g_2 <= ... <= g_n) and not all of them are 1:
                     some forced round inside the backoff skipped the failing feed (DESIGN:
                     --force never overrides a backoff), and retries never come closer
                     together again. Fetching it in every round (gaps 1,1,1,...) fails.
  absolute_urls      the feed's files have exactly the webUrls its relative links resolve
                     to (urljoin against xml:base / the feed URL).
  no_passwd_leak, no_nul, no_controls, valid_utf8, no_active_html, http_urls_only,
  no_duplicate_urls, front_matter_strings, no_escape, max_name_bytes
                     check_spool.py errors of that kind in files attributed to this feed
                     (or, for errors not tied to an article file, such as escapes outside
                     the spool, in the whole sandbox).

Two more lines judge the run as a whole: `daemon rounds` (every round exited 0 within
its timeout and printed stored=N) and `check_spool.py` (the whole spool is clean).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CATEGORIES = ("baseline", "xml", "encoding", "http", "ssrf", "content")
# Paths whose 429/503 Retry-After blocks the whole origin: each is configured with its
# own spelling of the server's origin, so that its wait holds back no other case (nor
# the other one: a 429 every 150 s would otherwise keep the 503 feed waiting forever).
ORIGIN_SPELLING = {"/http/too-many-requests": "localhost",
                   "/http/service-unavailable": "[::ffff:127.0.0.1]"}
# Feeds that end at the same articles (dedup across feeds delivers each once).
SHARED_GROUPS = [
    ("/ok/moved-target.xml", "/http/moved-permanently", "/http/permanent-redirect-308"),
    ("/ok/temp-target.xml", "/http/found-302"),
]
WARM_PATHS = ("/http/gzip-bomb.xml", "/feed/100k-items.xml", "/xml/deep-nesting.xml",
              "/xml/huge-text-node.xml")
# Where canary request lines point, per case.
CANARY_PATHS = {
    "/xml/xxe-parameter-oob.xml": ["/evil.dtd"],
    "/xml/external-dtd.xml": ["/external.dtd"],
    "/feed/bad-link-schemes.xml": ["/item", "/_x", "/schemeless"],
}
SPOOL_KEYS = {
    "no_passwd_leak": ["/etc/passwd", "canary secret"],
    "no_nul": ["NUL byte"],
    "no_controls": ["control character"],
    "valid_utf8": ["not valid UTF-8"],
    "no_active_html": ["body contains"],
    "http_urls_only": ["is not http(s)", "url is empty"],
    "no_duplicate_urls": ["duplicate url", "duplicate after canonicalisation"],
    "front_matter_strings": ["front matter", "not a string"],
    "no_escape": ["escape marker", "outside the spool", "resolves outside", "symlink",
                  "hard link", "starts with '-'"],
    "max_name_bytes": ["> 255", "PATH_MAX"],
}
FEED_LINE = re.compile(r'^feed:\s*(.*?)\s*$', re.M)


def log(msg):
    sys.stderr.write("[hostile %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def http_json(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode("utf-8"))


# ---------------------------------------------------------------------------
# Spool reading
# ---------------------------------------------------------------------------

class SpoolIndex:
    """Articles in SPOOL/new and SPOOL/cur with their `feed` and `webUrl`; files are
    read once (a delivered file never changes)."""

    def __init__(self, spool):
        self.spool = spool
        self.files = {}   # rel path -> {"feed":..., "webUrl":..., "title":..., "round": n}

    def scan(self, rnd):
        import yaml
        added = []
        for sub in ("new", "cur"):
            d = os.path.join(self.spool, sub)
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for n in names:
                rel = sub + "/" + n
                if rel in self.files:
                    continue
                # A file moved from new/ to cur/ by a reader keeps its round.
                other = ("cur/" if sub == "new" else "new/") + n
                info = {"round": rnd, "feed": None, "webUrl": None, "title": None}
                if other in self.files:
                    info = dict(self.files[other])
                else:
                    try:
                        with open(os.path.join(d, n), "rb") as f:
                            text = f.read(2 << 20).decode("utf-8", "replace")
                    except OSError:
                        text = ""
                    meta = None
                    if text.startswith("---\n"):
                        end = text.find("\n---\n", 3)
                        if end > 0:
                            try:
                                meta = yaml.safe_load(text[4:end + 1])
                            except Exception:
                                meta = None
                    if isinstance(meta, dict):
                        for k in ("feed", "webUrl", "title"):
                            v = meta.get(k)
                            info[k] = v if isinstance(v, str) else (None if v is None else str(v))
                    else:
                        m = FEED_LINE.search(text.split("\n---\n", 1)[0])
                        if m:
                            info["feed"] = m.group(1).strip("'\"")
                self.files[rel] = info
                added.append(rel)
        return added

    def by_feed(self, feed_url):
        return {rel: i for rel, i in self.files.items() if i["feed"] == feed_url}


# ---------------------------------------------------------------------------
# Running the daemon
# ---------------------------------------------------------------------------

def have_gnu_time():
    try:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "true"], capture_output=True,
                             timeout=10, text=True)
        return out.returncode == 0 and out.stderr.strip().isdigit()
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_daemon(binary, cfg, stdout_path, stderr_path, timeout, gnu_time, env=None):
    """One `run --once --force`. Returns dict(rc, wall, rss_mb, stored, timed_out)."""
    rss_file = stderr_path + ".rss"
    cmd = [binary, "run", "--once", "--force", "--config", cfg]
    if gnu_time:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd
    t0 = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True, env=env)
        hwm = 0
        timed_out = False
        try:
            while True:
                try:
                    p.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if not gnu_time:
                    hwm = max(hwm, vm_hwm_kb(p.pid))
                if time.monotonic() - t0 > timeout:
                    timed_out = True
                    break
        finally:
            if p.poll() is None:
                # The process group is the one this call created for the daemon.
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait(timeout=30)
    wall = time.monotonic() - t0
    rss_kb = hwm
    if gnu_time:
        try:
            with open(rss_file) as f:
                nums = [ln.strip() for ln in f if ln.strip().isdigit()]
            if nums:
                rss_kb = int(nums[-1])
        except OSError:
            pass
    stored = None
    try:
        with open(stdout_path, encoding="utf-8", errors="replace") as f:
            m = re.search(r"^stored=(\d+)\s*$", f.read(), re.M)
            stored = int(m.group(1)) if m else None
    except OSError:
        pass
    return {"rc": p.returncode, "wall": wall, "rss_mb": rss_kb / 1024.0, "stored": stored,
            "timed_out": timed_out}


def vm_hwm_kb(pid):
    """VmHWM of pid, or of its newest child (when pid is /usr/bin/time)."""
    best = 0
    for q in [pid] + children(pid):
        try:
            with open("/proc/%d/status" % q) as f:
                for ln in f:
                    if ln.startswith("VmHWM:"):
                        best = max(best, int(ln.split()[1]))
        except (OSError, ValueError):
            pass
    return best


def children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        pass
    return out


def yq(s):
    return json.dumps(s)   # a JSON string is a valid YAML double-quoted scalar


def write_config(path, spool, state, feeds, allow, interval="4m", per_origin=16):
    lines = ["# written by Scripts/hostile.py", "spool: %s" % yq(spool),
             "state: %s" % yq(state), "interval: %s" % interval, "feeds:"]
    for u in feeds:
        lines.append("  - url: %s" % yq(u))
    lines += ["network:", "  allow: [%s]" % ", ".join(yq(a) for a in allow),
              "  perOrigin: %d" % per_origin, ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def read_state(state_dir):
    """Feed states by URL: STATE/feeds.state (header `feedspool-state 2 GEN`, then
    `F<TAB>json` lines), then STATE/feeds.journal of the same generation (later lines
    win); STATE/feeds.json (the first format) if there is no snapshot."""
    out = {}

    def lines(name):
        try:
            with open(os.path.join(state_dir, name), encoding="utf-8") as f:
                text = f.read()
        except OSError:
            return None, []
        rows = text.split("\n")
        return rows[0], rows[1:-1]  # the last piece is empty or torn

    header, rows = lines("feeds.state")
    if header is None:
        try:
            with open(os.path.join(state_dir, "feeds.json"), encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            return {}
        for s in doc.get("feeds", []) if isinstance(doc, dict) else []:
            if isinstance(s, dict) and "url" in s:
                out[s["url"]] = s
        return out
    jheader, jrows = lines("feeds.journal")
    if jheader == header and header.startswith("feedspool-state 2 "):
        rows += jrows
    for row in rows:
        if not row.startswith("F\t"):
            continue
        try:
            s = json.loads(row[2:])
        except ValueError:
            continue
        if isinstance(s, dict) and "url" in s:
            out[s["url"]] = s
    return out


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------

def parse_count(spec):
    """spool_files spec -> predicate, text."""
    if isinstance(spec, int):
        return (lambda n: n == spec), "== %d" % spec
    s = str(spec).strip()
    if s.startswith("<="):
        k = int(s[2:])
        return (lambda n: n <= k), "<= %d" % k
    m = re.match(r"^(\d+) or (\d+)$", s)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        return (lambda n: n in (a, b)), "%d or %d" % (a, b)
    k = int(s)
    return (lambda n: n == k), "== %d" % k


class Case:
    def __init__(self, entry, url):
        self.entry = entry
        self.path = entry["path"]
        self.url = url
        self.fails = []
        self.notes = []

    def fail(self, msg):
        self.fails.append(msg)

    def note(self, msg):
        self.notes.append(msg)


def evaluate(args, cases, rounds, reqs, canary, index, spool_report, states_after, port,
             isolate):
    by_url = {c.url: c for c in cases}
    group_of = {}
    for g in SHARED_GROUPS:
        for p in g:
            group_of[p] = g
    urls_of = {c.path: c.url for c in cases}
    nrounds = len(rounds)

    # Canary attribution.
    canary_for = {c.path: [] for c in cases}
    canary_cases = [c for c in cases if "canary_hits" in c.entry["checks"]]
    for hit in canary:
        line = hit.get("first_line", "")
        parts = line.split()
        target = parts[1] if len(parts) >= 2 else ""
        target = urllib.parse.urlsplit(target).path if "://" in target else target
        owner = None
        for c in canary_cases:
            if target == "/from" + c.path.replace("/", "-"):
                owner = c
            elif target in CANARY_PATHS.get(c.path, []):
                owner = c
        if owner is None and canary_cases:
            # Not an HTTP request line: tell the protocol by what the client said first.
            # FTP clients wait for the server's greeting (empty line); DICT clients start
            # with CLIENT/DEFINE/MATCH; anything else is taken for gopher's selector.
            word = line.split(" ", 1)[0].upper() if line else ""
            if not line:
                names = ("/http/redirect-ftp", "/feed/bad-link-schemes.xml")
            elif word in ("CLIENT", "DEFINE", "MATCH", "D", "M"):
                names = ("/http/redirect-dict",)
            else:
                names = ("/feed/bad-link-schemes.xml",)
            cands = [c for c in canary_cases if c.path in names] or canary_cases

            def dist(c):
                ts = [r["t"] for r in reqs.get(c.path, [])]
                return min((abs(hit["t"] - t) for t in ts), default=1e9)
            owner = min(cands, key=dist)
        if owner is not None:
            canary_for[owner.path].append(hit)

    for c in cases:
        ch = c.entry["checks"]
        rs = reqs.get(c.path, [])
        files = index.by_feed(c.url)
        per_round = [0] * nrounds
        for r in rs:
            if r.get("round") is not None:
                per_round[r["round"]] += 1
        c.note("requests/round %s" % per_round)
        if not rs:
            c.fail("never requested by the daemon (server log has no request for it)")

        if "spool_files" in ch:
            ok, text = parse_count(ch["spool_files"])
            g = group_of.get(c.path)
            if g:
                gfiles = {}
                for p in g:
                    gfiles.update(index.by_feed(urls_of[p]))
                n = len(gfiles)
                own = len(files)
                if not ok(n):
                    c.fail("spool_files: %d files for the group %s, want %s"
                           % (n, "+".join(g), text))
                elif own > n:
                    c.fail("spool_files: %d files of its own, want %s" % (own, text))
                else:
                    c.note("spool_files %d (group %s; own %d)" % (n, "+".join(g), own))
            else:
                n = len(files)
                if not ok(n):
                    titles = sorted(str(i["title"])[:40] for i in files.values())[:5]
                    c.fail("spool_files: %d, want %s%s" % (n, text, (" (titles %s)" % titles)
                                                          if titles else ""))
                else:
                    c.note("spool_files %d" % n)

        if ch.get("idempotent"):
            rounds_with = sorted({i["round"] for i in files.values()})
            if len(rounds_with) > 1:
                later = {rel: i["round"] for rel, i in files.items() if i["round"] != rounds_with[0]}
                c.fail("idempotent: round %d added %d files, later rounds added %d more (%s)"
                       % (rounds_with[0] + 1, sum(1 for i in files.values()
                                                  if i["round"] == rounds_with[0]),
                          len(later), ", ".join(sorted(later)[:3])))

        if "max_seconds" in ch:
            lim = float(ch["max_seconds"])
            worst = max((r.get("duration_s") or 0 for r in rs), default=0)
            if worst > lim:
                bad = [r for r in rs if (r.get("duration_s") or 0) > lim][0]
                c.fail("max_seconds: a request lasted %.1f s > %g (outcome %s, %d bytes)"
                       % (worst, lim, bad.get("outcome"), bad.get("bytes_sent") or 0))
            else:
                c.note("longest request %.1f s" % worst)

        if "max_bytes_read_mb" in ch:
            lim = float(ch["max_bytes_read_mb"])
            worst = max((r.get("bytes_sent") or 0 for r in rs), default=0) / 1048576.0
            if worst > lim:
                c.fail("max_bytes_read_mb: %.1f MiB sent > %g" % (worst, lim))
            else:
                c.note("most bytes sent %.1f MiB" % worst)

        if "max_rss_mb" in ch:
            lim = float(ch["max_rss_mb"])
            peaks = [r["rss_mb"] for r in rounds]
            if peaks and max(peaks) > lim:
                iso = isolate(c) if isolate else None
                if iso is None:
                    c.fail("max_rss_mb: round peaks %s MB > %g" % (fmt_list(peaks), lim))
                elif iso["rss_mb"] > lim or iso["rc"] != 0:
                    c.fail("max_rss_mb: alone, peak %.0f MB (rc %s, %.1f s); round peaks %s MB"
                           % (iso["rss_mb"], iso["rc"], iso["wall"], fmt_list(peaks)))
                else:
                    c.note("alone peak %.0f MB (round peaks %s MB)" % (iso["rss_mb"],
                                                                   fmt_list(peaks)))
            else:
                c.note("round peaks %s MB" % fmt_list(peaks))

        if "canary_hits" in ch:
            hits = canary_for[c.path]
            if len(hits) != int(ch["canary_hits"]):
                c.fail("canary_hits: %d (%s)" % (len(hits), "; ".join(
                    "%s %r" % (h.get("peer"), h.get("first_line")) for h in hits[:3])))

        if ch.get("no_refetch"):
            if len(rs) > 1:
                c.fail("no_refetch: %d requests (status %s), rounds %s"
                       % (len(rs), [r.get("status") for r in rs], per_round))

        if "no_refetch_before_s" in ch:
            lim = float(ch["no_refetch_before_s"])
            srt = sorted(rs, key=lambda r: r["t"])
            for i, r in enumerate(srt):
                if r.get("status") in (429, 503):
                    for later in srt[i + 1:]:
                        if later["t"] - r["t"] < lim:
                            c.fail("no_refetch_before_s: requested again %.1f s after a %d "
                                   "(want >= %g)" % (later["t"] - r["t"], r["status"], lim))
                            break
            gaps = ["%.0f" % (b["t"] - a["t"]) for a, b in zip(srt, srt[1:])]
            c.note("request gaps %s s" % gaps)

        if ch.get("conditional"):
            srt = sorted(rs, key=lambda r: r["id"])
            if len(srt) < 2:
                c.fail("conditional: only %d request(s)" % len(srt))
            else:
                h = {k.lower(): v for k, v in (srt[1].get("headers") or {}).items()}
                cond = {k: v for k, v in h.items() if k in ("if-none-match", "if-modified-since")}
                if not cond or srt[1].get("status") != 304:
                    c.fail("conditional: second request had %s, status %s"
                           % (cond or "no validators", srt[1].get("status")))
                else:
                    c.note("second request %s -> 304" % cond)

        if "updates_url" in ch:
            hit_rounds = [i for i, n in enumerate(per_round) if n > 0]
            st = states_after[-1].get(c.url, {}) if states_after else {}
            if ch["updates_url"]:
                k = 0
                while k < nrounds and per_round[k] > 0:
                    k += 1
                later_hits = [i + 1 for i in hit_rounds if i >= k]
                if k == 0:
                    c.fail("updates_url: not requested in round 1")
                elif k > 3:
                    c.fail("updates_url: the redirecting path was still requested in rounds "
                           "1..%d (moves after 3 permanent redirects)" % k)
                elif later_hits:
                    c.fail("updates_url: requested again in round(s) %s after the move" % later_hits)
                elif k >= nrounds:
                    c.fail("updates_url: only %d rounds, no round after the move" % nrounds)
                elif not st.get("movedTo"):
                    c.fail("updates_url: state has no movedTo (state %s)" % short_state(st))
                else:
                    c.note("moved after round %d to %s" % (k, st.get("movedTo")))
            else:
                missing = [i + 1 for i in range(nrounds) if per_round[i] == 0]
                if missing:
                    c.fail("updates_url false: not requested at the original path in "
                           "round(s) %s (state %s)" % (missing, short_state(st)))

        if "max_redirects_followed" in ch:
            lim = int(ch["max_redirects_followed"])
            ns = []
            for r in rs:
                q = urllib.parse.parse_qs(r.get("query") or "")
                try:
                    ns.append(int(q.get("n", ["0"])[0]))
                except ValueError:
                    pass
            worst = max(ns, default=0)
            if worst > lim:
                c.fail("max_redirects_followed: a chain reached n=%d > %d (%d requests)"
                       % (worst, lim, len(rs)))
            else:
                c.note("longest chain %d redirects" % worst)

        if ch.get("backoff"):
            hit_rounds = [i + 1 for i, n in enumerate(per_round) if n > 0]
            if not hit_rounds:
                c.fail("backoff: never requested")
            else:
                gaps = [b - a for a, b in zip(hit_rounds, hit_rounds[1:])]
                gaps.append(nrounds + 1 - hit_rounds[-1])
                planned = []
                for i, st_all in enumerate(states_after):
                    s = st_all.get(c.url, {})
                    if per_round[i] and s.get("nextDue") and s.get("lastFetch"):
                        planned.append(round(s["nextDue"] - s["lastFetch"]))
                shrinks = any(b < a for a, b in zip(gaps, gaps[1:]))
                if shrinks or all(g == 1 for g in gaps):
                    c.fail("backoff: fetched in rounds %s of %d forced rounds %ds apart (gaps %s):"
                           " the retries do not space out; planned waits after each error %s s"
                           % (hit_rounds, nrounds, args.round_spacing, gaps, planned))
                else:
                    c.note("fetched in rounds %s (gaps %s), planned waits %s s"
                           % (hit_rounds, gaps, planned))

        if ch.get("absolute_urls"):
            base = "http://127.0.0.1:%d" % port
            xml_base = base + "/article/"
            want = {urllib.parse.urljoin(xml_base, u)
                    for u in ("/article/rel-1", "rel-2", "../article/rel-3")}
            got = {i["webUrl"] for i in files.values()}
            if got != want:
                c.fail("absolute_urls: webUrls %s, want %s" % (sorted(map(str, got)), sorted(want)))

        for key, needles in SPOOL_KEYS.items():
            if not ch.get(key):
                continue
            errs = []
            for e in spool_report.get("errors", []):
                msg = e.get("message", "")
                if not any(n in msg for n in needles):
                    continue
                owner = index.files.get(e.get("path", ""), {}).get("feed")
                if owner == c.url or (owner is None and not e.get("path", "").startswith(
                        ("new/", "cur/")) and key in ("no_escape", "max_name_bytes",
                                                       "no_passwd_leak")):
                    errs.append(e)
            if errs:
                c.fail("%s: %s" % (key, "; ".join("%s: %s" % (e["path"], e["message"][:160])
                                                    for e in errs[:3])
                                    + (" (+%d more)" % (len(errs) - 3) if len(errs) > 3 else "")))

    return by_url


def fmt_list(xs):
    return "[" + ", ".join("%.0f" % x for x in xs) + "]"


def short_state(s):
    keys = ("lastStatus", "errorCount", "movedTo", "redirectTarget", "redirectStreak",
            "retired", "lastError")
    return json.dumps({k: s.get(k) for k in keys if s.get(k) is not None})[:300]


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, ".build/release/feedspool"))
    ap.add_argument("--shared", default=os.environ.get("FEEDSPOOL_SHARED",
                                                       os.path.join(REPO, "..", "shared")))
    ap.add_argument("--workdir", help="scratch directory (default: a new one under $TMPDIR; "
                    "kept afterwards for inspection)")
    ap.add_argument("--rounds", type=int, default=5, help="forced rounds (at least 4)")
    ap.add_argument("--round-spacing", type=float, default=75.0,
                    help="least seconds from one round's start to the next")
    ap.add_argument("--round-timeout", type=float, default=300.0)
    ap.add_argument("--budget", type=float, default=1200.0,
                    help="no new round starts after this many seconds")
    ap.add_argument("--no-isolate", action="store_true",
                    help="do not rerun max_rss_mb cases alone when a round exceeded the limit")
    ap.add_argument("--only", action="append", default=[],
                    help="only the catalogue paths matching this regex (debugging)")
    args = ap.parse_args()
    args.rounds = max(4, args.rounds)
    # SIGTERM unwinds like Ctrl-C, so that the server and a running daemon are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    shared = os.path.abspath(args.shared)
    server_py = os.path.join(shared, "hostile", "hostile_server.py")
    checker = os.path.join(shared, "hostile", "check_spool.py")
    if not os.path.isfile(server_py):
        print("hostile.py: no %s (set FEEDSPOOL_SHARED)" % server_py, file=sys.stderr)
        return 2
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        print("hostile.py: no executable %s (swift build -c release)" % binary, file=sys.stderr)
        return 2
    work = args.workdir or tempfile.mkdtemp(prefix="feedspool-hostile-")
    work = os.path.abspath(work)
    os.makedirs(work, exist_ok=True)
    sandbox = os.path.join(work, "sandbox")
    if os.path.exists(sandbox):
        shutil.rmtree(sandbox)
    spool = os.path.join(sandbox, "a", "b", "spool")
    state = os.path.join(sandbox, "state")
    logs = os.path.join(work, "logs")
    os.makedirs(os.path.dirname(spool), exist_ok=True)
    os.makedirs(state, exist_ok=True)
    os.makedirs(logs, exist_ok=True)
    log("workdir %s" % work)

    lifetime = min(3600, args.budget + args.round_timeout + 600)
    info_file = os.path.join(work, "hostile.json")
    if os.path.exists(info_file):
        os.unlink(info_file)
    server_log = open(os.path.join(logs, "server.out"), "wb")
    server = subprocess.Popen([sys.executable, server_py, "--port", "0", "--lifetime",
                               str(int(lifetime)), "--info-file", info_file],
                              stdout=server_log, stderr=subprocess.STDOUT)
    try:
        return run(args, server, info_file, lifetime, binary, checker, work, sandbox, spool,
                   state, logs)
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        server_log.close()


def run(args, server, info_file, lifetime, binary, checker, work, sandbox, spool, state, logs):
    deadline = time.monotonic() + 30
    while not os.path.exists(info_file):
        if server.poll() is not None or time.monotonic() > deadline:
            print("hostile.py: the hostile server did not start", file=sys.stderr)
            return 2
        time.sleep(0.1)
    with open(info_file) as f:
        info = json.load(f)
    port, cport, base = info["port"], info["canary_port"], info["base"]
    # Build the server's big cached bodies (gzip bomb, 100k items, ...) before round 1,
    # so that the first round does not time out waiting for the server, then clear the log.
    t_warm = time.monotonic()
    for path in WARM_PATHS:
        try:
            urllib.request.urlopen(urllib.request.Request(base + path, method="HEAD"),
                                   timeout=900).close()
        except OSError as e:
            log("warm-up %s: %s" % (path, e))
    time.sleep(1)   # the server logs a HEAD after answering it
    urllib.request.urlopen(base + "/__reset", timeout=30).close()
    log("server warm-up %.0f s" % (time.monotonic() - t_warm))
    live = http_json(base + "/__info")
    server_t0 = time.monotonic() - (lifetime - live["deadline_in_s"])
    log("server %s canary %d" % (base, cport))

    catalogue = http_json(base + "/__catalogue")
    entries = [e for e in catalogue if e["category"] in CATEGORIES and "{" not in e["path"]]
    if args.only:
        rx = [re.compile(x) for x in args.only]
        entries = [e for e in entries if any(r.search(e["path"]) for r in rx)]
    cases = []
    for e in entries:
        host = ORIGIN_SPELLING.get(e["path"], "127.0.0.1")
        cases.append(Case(e, "http://%s:%d%s" % (host, port, e["path"])))
    allow = ["127.0.0.1:%d" % port] + ["%s:%d" % (h, port) for h in ORIGIN_SPELLING.values()]
    cfg = os.path.join(work, "hostile.yaml")
    write_config(cfg, spool, state, [c.url for c in cases], allow)
    log("config %s: %d feeds" % (cfg, len(cases)))

    gnu_time = have_gnu_time()
    log("peak RSS via %s" % ("/usr/bin/time %M" if gnu_time else "/proc VmHWM polling"))

    index = SpoolIndex(spool)
    rounds, states_after = [], []
    start = time.monotonic()
    for i in range(args.rounds):
        if i >= 4 and time.monotonic() - start > args.budget:
            log("budget spent: stopping after %d rounds" % i)
            break
        if i:
            wait = start + i * args.round_spacing - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        t_start = time.monotonic()
        r = run_daemon(binary, cfg, os.path.join(logs, "round-%d.out" % (i + 1)),
                       os.path.join(logs, "round-%d.err" % (i + 1)), args.round_timeout,
                       gnu_time)
        r["start"] = t_start - server_t0
        r["end"] = time.monotonic() - server_t0
        time.sleep(3)   # the server logs a request when it sees the hang-up
        added = index.scan(i)
        r["new_files"] = len(added)
        rounds.append(r)
        states_after.append(read_state(state))
        log("round %d: rc=%s stored=%s new files=%d wall=%.1fs peak RSS=%.0f MB%s"
            % (i + 1, r["rc"], r["stored"], len(added), r["wall"], r["rss_mb"],
               " TIMED OUT" if r["timed_out"] else ""))

    all_reqs = http_json(base + "/__log")
    canary = http_json(base + "/__canary")
    with open(os.path.join(logs, "server-log.json"), "w") as f:
        json.dump(all_reqs, f)
    with open(os.path.join(logs, "canary.json"), "w") as f:
        json.dump(canary, f)
    reqs = {}
    for r in all_reqs:
        if r["path"].startswith("/__"):
            continue
        r["round"] = None
        for k, rd in enumerate(rounds):
            if rd["start"] - 0.5 <= r["t"] <= rd["end"] + 0.5:
                r["round"] = k
        reqs.setdefault(r["path"], []).append(r)

    try:
        cs = subprocess.run([sys.executable, checker, spool, "--sandbox", sandbox, "--allow",
                             state, "--json"], capture_output=True, text=True, timeout=900)
        spool_report = json.loads(cs.stdout) if cs.stdout.strip() else {"errors": []}
        cs_rc = cs.returncode
        cs_summary = (cs.stderr.strip().splitlines() or [""])[-1]
    except (subprocess.TimeoutExpired, ValueError) as e:
        spool_report, cs_rc, cs_summary = {"errors": [{"path": "-", "message": str(e)}]}, 1, str(e)
    with open(os.path.join(logs, "check_spool.json"), "w") as f:
        json.dump(spool_report, f, indent=1)

    iso_cache = {}

    def isolate(case):
        if args.no_isolate:
            return None
        if case.path in iso_cache:
            return iso_cache[case.path]
        d = os.path.join(work, "isolate", case.path.strip("/").replace("/", "_"))
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        c2 = os.path.join(d, "config.yaml")
        write_config(c2, os.path.join(d, "spool"), os.path.join(d, "state"), [case.url], allow)
        r = run_daemon(binary, c2, os.path.join(d, "out"), os.path.join(d, "err"),
                       args.round_timeout, gnu_time)
        log("isolated %s: rc=%s peak RSS %.0f MB wall %.1f s" % (case.path, r["rc"], r["rss_mb"],
                                                                 r["wall"]))
        iso_cache[case.path] = r
        return r

    evaluate(args, cases, rounds, reqs, canary, index, spool_report, states_after, port,
             isolate)

    passed = failed = 0

    def emit(ok, name, reason):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, reason), flush=True)

    for c in cases:
        if c.fails:
            emit(False, c.path, "; ".join(c.fails) + " [" + "; ".join(c.notes[:1]) + "]")
        else:
            emit(True, c.path, "; ".join(c.notes) or "ok")

    bad = [(k + 1, r) for k, r in enumerate(rounds) if r["rc"] != 0 or r["timed_out"]
           or r["stored"] is None]
    summary = ", ".join("r%d %.0fs %.0fMB stored=%s" % (k + 1, r["wall"], r["rss_mb"], r["stored"])
                        for k, r in enumerate(rounds))
    if bad:
        emit(False, "daemon rounds", "; ".join(
            "round %d rc=%s%s stored=%s (log %s)" % (k, r["rc"], " timed out" if r["timed_out"]
                                                     else "", r["stored"],
                                                     os.path.join(logs, "round-%d.err" % k))
            for k, r in bad) + " | " + summary)
    else:
        emit(True, "daemon rounds", summary)
    unattributed = [e for e in spool_report.get("errors", [])
                    if index.files.get(e.get("path", ""), {}).get("feed") not in
                    {c.url for c in cases}]
    if cs_rc != 0:
        errs = spool_report.get("errors", [])
        emit(False, "check_spool.py", "%s; first: %s%s" % (
            cs_summary, "; ".join("%s: %s" % (e["path"], e["message"][:140]) for e in errs[:3]),
            "; %d not tied to a configured feed" % len(unattributed) if unattributed else ""))
    else:
        emit(True, "check_spool.py", cs_summary)
    print("%d passed, %d failed" % (passed, failed))
    log("details in %s" % logs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Scripts/fuzz.sh TARGET [SECONDS | -runs=N] [extra libFuzzer flags...]
#
# Builds and runs one libFuzzer target (or all, one after the other) for feedspool's parsers
# of hostile input:
#   feed         FeedParser.parse + FeedParser.corpusJSON (JSON validity checked); a clean
#                streaming parse must equal the DOM parser's (line ends aside)
#   extract      Extractor.extract + MarkdownConverter.convert(html:baseURL:)
#   url          CanonicalURL.canonicalize / normalize (http(s)-or-nil, idempotence, base
#                independence of absolute references)
#   frontmatter  FrontMatter.render read back with Yams: every field exactly as promised,
#                body controls removed and markup inert
#   all          each of the above in turn, for SECONDS each
# Default: 60 seconds. Every run is bounded (-max_total_time or -runs), -rss_limit_mb=2048,
# -timeout=10, one process unless FUZZ_WORKERS=N (N processes sharing the target's corpus
# directory, each with its own log, Fuzz/work/<target>/log.K; libFuzzer reloads the corpus
# to pick up what the others found; each runs the full bound). Inputs are capped
# (-max_len: feed 16 KiB, extract 32 KiB; seeds are cut to that): executions per second
# fall with input size under ASan, and big documents are the hostile harness's job.
# -timeout counts wall time: do not SIGSTOP a run (it reports a false timeout).
#
# How it is built (Swift 6.3.1, Linux). The main package exports no library product, so
# Fuzz/ is a separate package whose Sources/<Module> are symbolic links to
# ../Sources/<Module> (the same files, no copies; SwiftPM accepts them) plus one
# executable per target (Fuzz/Targets/*) that only defines LLVMFuzzerTestOneInput.
# Flags, found by trial:
#   --sanitize=fuzzer --sanitize=address  SwiftPM links with libFuzzer's main (no
#                                         `<module>_main` entry point renaming);
#   -Xswiftc -sanitize=fuzzer,address     needed as well: swift-driver keeps only the last
#                                         `-sanitize=` it is given, so SwiftPM's two flags
#                                         leave the modules without coverage
#                                         instrumentation ("Is the code instrumented?").
# libxml2/libpsl are the system's (not instrumented). SWIFT_BACKTRACE=enable=no: the Swift
# backtracer otherwise stalls on a crash for minutes on a loaded machine.
#
# Seeds are read in place from the corpus (FEEDSPOOL_CORPUS, default /work/shared/corpus:
# feeds/, articles/) and Fuzz/Seeds/ (url, frontmatter); libFuzzer only writes to the first
# corpus directory, Fuzz/work/<target>/corpus (git-ignored). Crashes, leaks, timeouts and
# OOMs go to Fuzz/work/<target>/artifacts/; the log to Fuzz/work/<target>/log.
# Reproduce one: Fuzz/.build/release/Fuzz<Target> Fuzz/work/<target>/artifacts/crash-...
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/Fuzz"
corpus="${FEEDSPOOL_CORPUS:-/work/shared/corpus}"
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"

target="${1:-}"
bound="${2:-60}"
shift $(( $# > 2 ? 2 : $# )) || true
case "$target" in
  feed | extract | url | frontmatter | all) ;;
  *) echo "usage: $0 feed|extract|url|frontmatter|all [SECONDS|-runs=N] [libFuzzer flags]" >&2; exit 2 ;;
esac

echo "== building (release, fuzzer + address sanitizer)" >&2
(cd "$fuzz" && swift build -c release --sanitize=fuzzer --sanitize=address \
  -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -vE "^warning: 'fuzz'|Cannot export local symbol" >&2)

run() {
  local name="$1" binary seeds=() dict maxlen
  shift
  case "$name" in
    feed) binary=FuzzFeed; seeds=("$corpus/feeds"); dict=xml; maxlen=16384 ;;
    extract) binary=FuzzExtract; seeds=("$corpus/articles"); dict=html; maxlen=32768 ;;
    url) binary=FuzzURL; seeds=("$fuzz/Seeds/url"); dict=url; maxlen=2048 ;;
    frontmatter) binary=FuzzFrontMatter; seeds=("$fuzz/Seeds/frontmatter"); dict=frontmatter; maxlen=4096 ;;
  esac
  local work="$fuzz/work/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  local limit
  if [[ "$bound" == -runs=* ]]; then limit="$bound"; else limit="-max_total_time=$bound"; fi
  echo "== $name: $limit" >&2
  local status=0 workers="${FUZZ_WORKERS:-1}" pids=() logs=() k
  for ((k = 1; k <= workers; k++)); do
    local log="$work/log"
    ((workers == 1)) || log="$work/log.$k"
    logs+=("$log")
    "$fuzz/.build/release/$binary" "$limit" -rss_limit_mb=2048 -timeout=10 \
      -max_len="$maxlen" -dict="$fuzz/Dictionaries/$dict.dict" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$@" "$work/corpus" "${seeds[@]}" >"$log" 2>&1 &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || status=$?; done
  # Summary per process: executions, exec/s, coverage, corpus, and any finding.
  for log in "${logs[@]}"; do
    echo "-- $log" >&2
    grep -E "^#[0-9]+.*(INITED|DONE|pulse|NEW|REDUCE)" "$log" | tail -1 >&2 || true
    grep -E "^stat::|^Done [0-9]+ runs" "$log" >&2 || true
    if grep -qE "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|Fatal error|SUMMARY" "$log"; then
      echo "== $name: FINDING (exit $status); see $log" >&2
      grep -E "ERROR:|Fatal error|SUMMARY|artifact_prefix|Test unit written" "$log" | head -20 >&2
    fi
  done
  return "$status"
}

if [[ "$target" == all ]]; then
  rc=0
  for t in feed extract url frontmatter; do run "$t" "$@" || rc=$?; done
  exit "$rc"
fi
run "$target" "$@"

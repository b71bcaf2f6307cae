#!/usr/bin/env bash
# Mutation testing with cargo-mutants: every mutant (a changed operator, a function body
# replaced by a default value, …) must make a test fail. Prints caught / missed / unviable /
# timed out, and fails when a missed mutant is not in the allow-list below, each entry of
# which says why no test can tell that mutant from the real code.
#
#   ./scripts/mutants.sh             the domain crate (src/domain) against its unit tests
#   ./scripts/mutants.sh dispatcher  src/server/dispatcher against the integration tests that
#                                    drive it (needs PostgreSQL; each mutant rebuilds the server
#                                    crate: about 2 minutes a mutant on 2 cores, so
#                                    MUTANTS_SHARD=1/4 … 4/4 runs it in parts, and
#                                    MUTANTS_FILTER=<regex> only the mutants it names)
#
# Not part of ./scripts/test.sh (too slow for CI); its last figures are in the README.
# Installs cargo-mutants (crates.io) when missing. Builds in its own target directory so a run
# never holds the lock of the main build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scope="${1:-domain}"
command -v cargo-mutants >/dev/null || env -u CARGO_TARGET_DIR cargo install --locked cargo-mutants
export CARGO_TARGET_DIR="$HOME/.cache/herald/mutants-target"
shard="${MUTANTS_SHARD:+-${MUTANTS_SHARD/\//-of-}}${MUTANTS_FILTER:+-filtered}"
out="$HOME/.cache/herald/mutants-$scope$shard"
mkdir -p "$out"

# Missed mutants that are not test gaps: "regex over the mutant's name|why".
allowed=(
  'time\.rs:[0-9]+:[0-9]+: replace > with >= in zone_label|an offset of 0 returns "UTC" before the sign is chosen, so > 0 and >= 0 pick the same sign'
  'record\.rs:[0-9]+:[0-9]+: replace > with >= in note_fenced|with 0 results fenced the counter gets +0; only a warning that says "fenced=0" is added'
  'time\.rs:[0-9]+:[0-9]+: replace < with <= in relative|0 s is "just now", returned before the future flag is read, so < 0 and <= 0 read the same'
  'mod\.rs:[0-9]+:[0-9]+: replace > with [=<>]+ in Dispatcher::run|`released > 0` only decides whether a warning is logged; release_dead has already made the deliveries of dead owners due either way (a_crashed_processes_deliveries_are_sent_as_soon_as_another_starts and crash.sh watch that)'
  'mod\.rs:[0-9]+:[0-9]+: replace match guard n as i64 >= self\.config\.batch_size with true in Dispatcher::lane|going straight on after a batch that was not full costs one more claim at once: it finds nothing, or deliveries that fell due meanwhile and are sent a little sooner; nothing is sent that would not be, nothing later'
)

# The integration-test modules that run the dispatcher: its own, hostile receivers, the
# features that fail silently (rate limits, Retry-After, the run loop), alerts, the REST
# retries and the test receiver.
dispatcher_tests='test(/^(dispatcher|hostile|silent_features|alerts|rest_api|receiver)::/)'

status=0
case "$scope" in
  domain)
    cargo mutants --package herald-domain --output "$out" --timeout 120 || status=$?
    ;;
  dispatcher)
    . scripts/db.sh
    # A database of its own: the test suite may run beside it.
    unset DATABASE_URL
    herald_db_setup herald_mutants
    # Each mutant rebuilds the server crate: debug builds without debug info link in seconds.
    export CARGO_PROFILE_DEV_DEBUG=0
    # The integration tests that drive the dispatcher (the library has no dispatcher unit
    # tests; its decisions are in the domain crate, tested above), under nextest, which stops
    # at the first failure.
    command -v cargo-nextest >/dev/null || env -u CARGO_TARGET_DIR cargo install --locked cargo-nextest
    # --cargo-arg reaches the build too: only the integration-test binary is rebuilt per
    # mutant, not the library's own test harness as well. MUTANTS_SHARD=k/n runs one part.
    cargo mutants --package herald --file 'src/server/dispatcher/*.rs' --output "$out" \
      --test-tool nextest --no-default-features --features ssr \
      --cargo-arg=--test --cargo-arg=it ${MUTANTS_SHARD:+--shard "$MUTANTS_SHARD"} \
      ${MUTANTS_FILTER:+-F "$MUTANTS_FILTER"} \
      -- -E "$dispatcher_tests" || status=$?
    ;;
  *) echo "usage: $0 [domain|dispatcher]" >&2; exit 2 ;;
esac
# 0: all caught; 2: some missed; 3: some timed out (a timeout is caught: the test noticed).
case "$status" in 0 | 2 | 3) ;; *) echo "cargo mutants failed ($status)" >&2; exit "$status" ;; esac

report="$out/mutants.out"
count() { if [ -f "$report/$1.txt" ]; then grep -c . "$report/$1.txt" || true; else echo 0; fi; }
echo "caught $(count caught), missed $(count missed), unviable $(count unviable), timed out $(count timeout)"
unexplained=0
while IFS= read -r mutant; do
  reason=""
  for entry in "${allowed[@]}"; do
    if [[ "$mutant" =~ ${entry%%|*} ]]; then reason="${entry#*|}"; break; fi
  done
  if [ -n "$reason" ]; then
    echo "explained: $mutant — $reason"
  else
    echo "UNEXPLAINED: $mutant"
    unexplained=$((unexplained + 1))
  fi
done < <([ -f "$report/missed.txt" ] && cat "$report/missed.txt")
echo "unexplained survivors: $unexplained"
[ "$unexplained" = 0 ]

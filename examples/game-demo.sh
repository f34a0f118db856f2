#!/bin/sh
# make demo, part 2: the verification game on localhost, one process per party.
#
#   game 1 (forced_error_ppm 0):
#     task A  an honest solver trains, a verifier re-runs it and accepts: paid
#     task B  a cheating solver flips one bit of node 19 at step 6; the verifier
#             rejects; the referee bisects the dispute down to that step and
#             node, recomputes the one node and slashes the cheater
#   game 2 (forced_error_ppm 1000000: EVERY claim draws a forced error; tax
#   30%, so a caught forced error pays the task's share, 30% of the bounty):
#     task C  the solver must first submit a deliberately wrong certificate; a
#             lazy verifier approves it without checking; a whistleblower
#             re-checks and challenges; the honest certificate follows and is
#             paid, and then the whistleblower collects the lazy verifier's
#             bond and the jackpot payout
#
# Every party keeps its own copy of the game, rebuilt from the referee's
# signed event log. The tiny tasks of spec/vectors/tiny keep this fast.
# POL_DEMO_PORT (default 17400) is the first of the 20 ports used.
set -eu
cd "$(dirname "$0")/.."
B=build/bin
T=spec/vectors/tiny
OUT=build/game-demo
P=${POL_DEMO_PORT:-17400}
rm -rf "$OUT"
mkdir -p "$OUT"

PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
start() { # start NAME CMD...: runs CMD in the background, output to $OUT/NAME.log
    n=$1; shift
    "$@" >"$OUT/$n.log" 2>&1 &
    PIDS="$PIDS $!"
    eval "PID_$n=$!"
}
pk() { head -c 64 "$OUT/$1.pub"; }
short() { pk "$1" | cut -c1-8; }
wait_for() { # wait_for FILE PATTERN: up to 20 s
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -le 200 ] || { echo "timed out waiting for '$2' in $1" >&2; exit 1; }
        sleep 0.1
    done
}
say() { printf '\n== %s\n' "$*"; }
show() { sed 's/^/   /' "$@"; }

say "keys: one BIP-340 key pair per party (pol-keygen)"
for p in referee submitter alice mallory victor larry wendy; do
    $B/pol-keygen --out "$OUT/$p" >/dev/null
done
printf '   %-10s %s\n' referee "$(short referee)  keeps the game, settles disputes" \
    submitter "$(short submitter)  posts tasks with a bounty" \
    alice "$(short alice)  honest solver" mallory "$(short mallory)  cheating solver (test switch)" \
    victor "$(short victor)  honest verifier" larry "$(short larry)  lazy verifier (test switch)" \
    wendy "$(short wendy)  whistleblower"

FUND="--fund $(pk submitter)=10000 --fund $(pk alice)=1000 --fund $(pk mallory)=1000
      --fund $(pk victor)=1000 --fund $(pk larry)=1000 --fund $(pk wendy)=1000"
# windows (ms): solve, verify, challenge, reveal, dispute
WIN=30000,30000,3000,15000,120000

say "game 1: genesis (forced_error_ppm 0, jackpot 500) and the referee on 127.0.0.1:$P"
# shellcheck disable=SC2086
$B/pol-referee genesis --referee-key "$(pk referee)" $FUND --jackpot 500 --jackpot-payout 300 \
    --forced-error-ppm 0 --windows $WIN --out "$OUT/game1.genesis" >/dev/null
R1=127.0.0.1:$P
start referee1 $B/pol-referee run --db "$OUT/game1.db" --listen "$R1" --key "$OUT/referee.key" \
    --genesis "$OUT/game1.genesis" --data-dir "$T"
wait_for "$OUT/referee1.log" "listening"
# shellcheck disable=SC2086
start victor $B/pol-verifier serve --referee "$R1" --key "$OUT/victor.key" \
    --listen "127.0.0.1:$((P + 3))" --work "$OUT/victor" --data-dir "$T"
wait_for "$OUT/victor.log" "serving"

say "task A: $T/sgd-relu.json, bounty 100; alice (honest) solves, victor verifies"
start alice $B/pol-solver serve --referee "$R1" --key "$OUT/alice.key" \
    --listen "127.0.0.1:$((P + 1))" --work "$OUT/alice" --data-dir "$T" --tasks 1
wait_for "$OUT/alice.log" "serving"
rc=0
$B/pol-submit --referee "$R1" --key "$OUT/submitter.key" --task "$T/sgd-relu.json" --bounty 100 \
    --wait --timeout 120 >"$OUT/taskA.log" || rc=$?
show "$OUT/taskA.log"
[ $rc = 0 ] || { echo "task A did not settle" >&2; exit 1; }
wait "$PID_alice" || true
echo "   alice:"; grep -v '^solver' "$OUT/alice.log" | show

say "task B: $T/adamw-gelu.json, bounty 100; mallory flips a bit of node 19 at step 6"
start mallory $B/pol-solver serve --referee "$R1" --key "$OUT/mallory.key" \
    --listen "127.0.0.1:$((P + 2))" --work "$OUT/mallory" --data-dir "$T" --tasks 1 \
    --cheat tamper-node:6:19
wait_for "$OUT/mallory.log" "serving"
rc=0
$B/pol-submit --referee "$R1" --key "$OUT/submitter.key" --task "$T/adamw-gelu.json" \
    --bounty 100 --wait --timeout 180 >"$OUT/taskB.log" || rc=$?
show "$OUT/taskB.log"
[ $rc = 3 ] || { echo "task B should have failed (the cheater slashed)" >&2; exit 1; }
wait "$PID_mallory" || true
echo "   mallory:"; grep -v '^solver' "$OUT/mallory.log" | show
echo "   victor:"; grep -E '^(reported|dispute|finished)' "$OUT/victor.log" | show
echo "   referee:"; grep -E 'dispute|ruling' "$OUT/referee1.log" | show
grep -q "step 6 node 19" "$OUT/taskB.log" || { echo "the dispute did not pinpoint step 6 node 19" >&2; exit 1; }
$B/pol-submit --referee "$R1" --key "$OUT/submitter.key" --balances >"$OUT/balances1.txt"
kill "$PID_victor" 2>/dev/null || true
wait "$PID_victor" 2>/dev/null || true

say "game 2: genesis with forced_error_ppm 1000000 (every claim is a forced error), jackpot 500, tax 30%"
R2=127.0.0.1:$((P + 10))
# shellcheck disable=SC2086
$B/pol-referee genesis --referee-key "$(pk referee)" $FUND --jackpot 500 --jackpot-payout 300 \
    --forced-error-ppm 1000000 --jackpot-tax-ppm 300000 --windows $WIN \
    --out "$OUT/game2.genesis" >/dev/null
start referee2 $B/pol-referee run --db "$OUT/game2.db" --listen "$R2" --key "$OUT/referee.key" \
    --genesis "$OUT/game2.genesis" --data-dir "$T"
wait_for "$OUT/referee2.log" "listening"
start larry $B/pol-verifier serve --referee "$R2" --key "$OUT/larry.key" \
    --listen "127.0.0.1:$((P + 12))" --work "$OUT/larry" --data-dir "$T" --cheat lazy
start wendy $B/pol-whistleblower --referee "$R2" --key "$OUT/wendy.key" \
    --listen "127.0.0.1:$((P + 13))" --work "$OUT/wendy" --data-dir "$T"
start alice2 $B/pol-solver serve --referee "$R2" --key "$OUT/alice.key" \
    --listen "127.0.0.1:$((P + 11))" --work "$OUT/alice2" --data-dir "$T" --tasks 1
wait_for "$OUT/larry.log" "serving"
wait_for "$OUT/wendy.log" "serving"
wait_for "$OUT/alice2.log" "serving"

say "task C: $T/sgd-relu.json, bounty 100; alice (honest, but forced), larry (lazy), wendy"
rc=0
$B/pol-submit --referee "$R2" --key "$OUT/submitter.key" --task "$T/sgd-relu.json" --bounty 100 \
    --wait --timeout 180 >"$OUT/taskC.log" || rc=$?
show "$OUT/taskC.log"
[ $rc = 0 ] || { echo "task C did not settle" >&2; exit 1; }
wait "$PID_alice2" || true
echo "   alice:"; grep -v '^solver' "$OUT/alice2.log" | show
echo "   larry:"; grep -E '^(reported|finished)' "$OUT/larry.log" | show
echo "   wendy:"; grep -E '^(checked|challenged|finished)' "$OUT/wendy.log" | show
echo "   referee:"; grep -E 'forced|jackpot' "$OUT/referee2.log" | show
$B/pol-submit --referee "$R2" --key "$OUT/submitter.key" --balances >"$OUT/balances2.txt"
cleanup
PIDS=""

say "summary"
bal() { grep "^$(pk "$2")" "$1" | awk '{ print $2 }'; }
jack() { grep '^jackpot' "$1" | awk '{ print $2 }'; }
served() { sed -n 's/^served *\([0-9]*\) pinpoint answers (\([0-9]*\) bytes), \([0-9]*\) blobs (\([0-9]*\) bytes)/\1 answers, \2 + \4 bytes/p' "$1"; }
EXCH=$(sed -n 's/.*; \([0-9]*\) exchanges.*/\1/p' "$OUT/referee1.log" | head -n 1)
RULING=$(sed -n 's/.*ruling at seq [0-9]*: \(.*\); [0-9]* exchanges.*/\1/p' "$OUT/referee1.log" | head -n 1)
COST=$(sed -n 's/.*: cost: \([0-9]*\) rounds (levels 1\/2\/3: \([0-9/]*\); bound \([0-9]*\)), \([0-9]*\) bytes (largest round \([0-9]*\)), referee recomputed \([0-9]*\) node(s) in \([0-9.]*\) ms/\1 rounds (\2 per level), bound \3|\4 bytes, largest round \5|\6 node, \7 ms/p' "$OUT/referee1.log" | head -n 1)
printf '   %-36s %s\n' "dispute of task B" "$RULING" \
    "bisection rounds" "$(echo "$COST" | cut -d'|' -f1)" \
    "bytes exchanged (pinpoint messages)" "$(echo "$COST" | cut -d'|' -f2)" \
    "referee recomputation" "$(echo "$COST" | cut -d'|' -f3)" \
    "referee exchanges (both parties)" "$EXCH" \
    "mallory (solver) answered" "$(served "$OUT/mallory.log")" \
    "victor (challenger) answered" "$(served "$OUT/victor.log")"
echo
printf '   %-10s %12s %12s %12s\n' "party" "start" "game 1" "game 2"
for p in submitter alice mallory victor larry wendy; do
    s=1000; [ $p = submitter ] && s=10000
    printf '   %-10s %12s %12s %12s\n' "$p" "$s" "$(bal "$OUT/balances1.txt" $p)" "$(bal "$OUT/balances2.txt" $p)"
done
printf '   %-10s %12s %12s %12s\n' "jackpot" 500 "$(jack "$OUT/balances1.txt")" "$(jack "$OUT/balances2.txt")"
echo
echo "   game 1: alice paid for task A; mallory's bond went to victor, who won the dispute."
echo "   game 2: wendy caught larry's lazy approval of the forced error; once alice's honest"
echo "           certificate was paid in the next round, wendy got larry's bond and the payout."
echo "   logs: $OUT/*.log"

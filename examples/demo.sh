#!/bin/sh
# make demo: train the digits MLP, then show determinism on screen:
#   run A  1 thread
#   run B  2 threads
#   run C  resumed from run A's checkpoint at step 600, 2 threads
# All three must end on the same final state hash.
set -eu
cd "$(dirname "$0")/.."
BIN=build/bin/pol-solver
TASK=examples/tasks/digits.json
OUT=build/demo
rm -rf "$OUT"
mkdir -p "$OUT"

field() { # field NAME FILE: a string or number value from pol-solver's --json line
    sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p" "$2"
}

echo "== libpol demo: exact-mode training of a 64-128-10 GELU MLP on the UCI digits"
echo "   task $TASK"
echo
echo "-- run A: 1 thread"
$BIN train --task "$TASK" --out "$OUT/a" --threads 1 --json > "$OUT/a.json"
awk -v a="$(field test_accuracy "$OUT/a.json")" -v l="$(field final_loss "$OUT/a.json")" \
    'BEGIN { printf "   test accuracy %.2f%% on 299 held-out digits, final training loss %.4f\n", 100 * a, l }'
echo "-- run B: 2 threads"
$BIN train --task "$TASK" --out "$OUT/b" --threads 2 --json > "$OUT/b.json"
echo "-- run C: resumed from run A's checkpoint at step 600, 2 threads"
$BIN train --task "$TASK" --out "$OUT/c" --from "$OUT/a/ckpt-00000600.safetensors" \
    --threads 2 --json > "$OUT/c.json"
echo
A=$(field final_state_hash "$OUT/a.json")
B=$(field final_state_hash "$OUT/b.json")
C=$(field final_state_hash "$OUT/c.json")
printf '%-34s %s\n' "run" "final state hash (SHA-256)"
printf '%-34s %s\n' "A  1 thread, from step 0" "$A"
printf '%-34s %s\n' "B  2 threads, from step 0" "$B"
printf '%-34s %s\n' "C  2 threads, resumed at step 600" "$C"
echo
ACC=$(field test_accuracy "$OUT/a.json")
if [ "$A" = "$B" ] && [ "$A" = "$C" ]; then
    echo "identical: the training step is a pure function of (state, batch), bit for bit."
else
    echo "MISMATCH: determinism is broken" >&2
    exit 1
fi
awk -v a="$ACC" 'BEGIN { if (a + 0 < 0.9) { print "accuracy " a " is below 0.9" > "/dev/stderr"; exit 1 } }'
echo "checkpoints and trace: $OUT/a (inspect one: $BIN inspect $OUT/a/ckpt-00001200.safetensors)"

#!/usr/bin/env bash
# The Penn Treebank figures on a CUDA GPU, as one prepared run (about 7 minutes on an H100 or H200; each step has
# a time limit, 8.5 minutes in all, so the whole run stays well inside 10 minutes):
#
#   1. training and evaluation speed beside the reference loop (scripts/bench_speed.py, issue 21): the PyTorch
#      example's configuration (embedding 200, 2 x 200 tanh, batch 20, bptt 35, full softmax) in fp32 and bf16,
#      the LSTM cell (cuDNN) in fp32 and bf16, the adaptive softmax, and evaluation in fp32 and bf16;
#   2. training speed of each speed lever, bf16 autocast and torch.compile included (bench_levers.py);
#   3. time per epoch and perplexity of configs/ptb-rnn.toml (2 epochs: speed, not the end point);
#   4. configs/ptb-lstm.toml on the GPU for about 2 minutes: validation perplexity and time per epoch.
#
# Usage, from the repository root:   DATA=path/to/ptb OUT=logs bash scripts/gpu_checks.sh
# DATA holds ptb.train.txt, ptb.valid.txt and ptb.test.txt (default ../shared/data/ptb); the logs go to
# $OUT (default gpu-logs).  On a machine that gets only the repository, copy the corpus in first
# (cp -r ../shared/data/ptb .ptb; echo /.ptb/ >> .git/info/exclude) and give DATA=.ptb.
# DEVICE=cpu QUICK=1 DATA=<a few hundred lines of each file> runs the same steps in seconds, to check the script.
set -euo pipefail
DATA=${DATA:-../shared/data/ptb}
OUT=${OUT:-gpu-logs}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # the checkout itself, installed or not

if [ "$DEVICE" = cuda ]; then
    python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
        || { echo "no CUDA GPU is visible to torch; run this on a GPU machine or set DEVICE=cpu." >&2; exit 1; }
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
fi
python3 -c "import tokenizers, safetensors, click, tqdm" \
    || { echo "seqtext's dependencies are missing: pip install -e . (or carry their wheels)." >&2; exit 1; }

if [ "${QUICK:-0}" = 1 ]; then windows=3; rnn=(--epochs 1); lstm=(--epochs 1); speed=(--pairs 1 --lines 300)
else windows=300; rnn=(--epochs 2); lstm=(--max-minutes 2); speed=(--pairs 2 --lines 6000); fi

echo "== 1. seqtext beside the reference loop on $DEVICE (bench_speed.py)" | tee "$OUT/speed.txt"
deadline=$((SECONDS + 210))  # the whole step; the configurations run in this order until it is spent
for config in "--cell rnn --precision fp32" "--cell rnn --precision bf16" "--cell lstm --precision fp32" \
              "--cell lstm --precision bf16" "--eval" "--cell lstm --softmax adaptive --precision bf16"; do
    left=$((deadline - SECONDS))
    if [ "$left" -le 10 ]; then echo "(no time left for: $config)" | tee -a "$OUT/speed.txt"; continue; fi
    # shellcheck disable=SC2086  # $config is a list of flags
    timeout "$left" python3 scripts/bench_speed.py --device "$DEVICE" --data "$DATA" "${speed[@]}" $config 2>&1 \
        | tee -a "$OUT/speed.txt" || echo "(stopped: $config)" | tee -a "$OUT/speed.txt"
done

echo "== 2. speed levers on $DEVICE" | tee "$OUT/levers.txt"
timeout 75 python3 scripts/bench_levers.py speed --device "$DEVICE" --data "$DATA" --windows "$windows" 2>&1 \
    | tee -a "$OUT/levers.txt" || echo "(stopped)" | tee -a "$OUT/levers.txt"

echo "== 3. configs/ptb-rnn.toml on $DEVICE" | tee "$OUT/rnn.txt"
timeout 75 python3 scripts/bench_lm.py --data "$DATA" --config configs/ptb-rnn.toml --device "$DEVICE" "${rnn[@]}" \
    2>&1 | tee -a "$OUT/rnn.txt" || echo "(stopped)" | tee -a "$OUT/rnn.txt"

echo "== 4. configs/ptb-lstm.toml on $DEVICE" | tee "$OUT/lstm.txt"
timeout 150 python3 scripts/bench_lm.py --data "$DATA" --config configs/ptb-lstm.toml --device "$DEVICE" "${lstm[@]}" \
    2>&1 | tee -a "$OUT/lstm.txt" || echo "(stopped)" | tee -a "$OUT/lstm.txt"
echo "== done in $SECONDS s; logs in $OUT"

#!/usr/bin/env bash
# The Penn Treebank figures on a CUDA GPU, as one prepared run (about 9 minutes on an H100 or H200):
#
#   1. training speed of the reference configuration (embedding 200, 2 x 200 tanh, batch 20, bptt 35,
#      full softmax) and of each speed lever, bf16 autocast and torch.compile included (bench_levers.py);
#   2. time per epoch and perplexity of configs/ptb-rnn.toml (3 epochs: speed, not the end point);
#   3. configs/ptb-lstm.toml to the end of its schedule, on the GPU: test perplexity, time per epoch.
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

if [ "${QUICK:-0}" = 1 ]; then windows=3; rnn=(--epochs 1); lstm=(--epochs 1)
else windows=300; rnn=(--epochs 3); lstm=(--max-minutes 6); fi  # the LSTM stops early only if an epoch is slow

echo "== 1. speed levers on $DEVICE" | tee "$OUT/levers.txt"
python3 scripts/bench_levers.py speed --device "$DEVICE" --data "$DATA" --windows "$windows" 2>&1 | tee -a "$OUT/levers.txt"

echo "== 2. configs/ptb-rnn.toml on $DEVICE" | tee "$OUT/rnn.txt"
python3 scripts/bench_lm.py --data "$DATA" --config configs/ptb-rnn.toml --device "$DEVICE" "${rnn[@]}" 2>&1 \
    | tee -a "$OUT/rnn.txt"

echo "== 3. configs/ptb-lstm.toml on $DEVICE" | tee "$OUT/lstm.txt"
python3 scripts/bench_lm.py --data "$DATA" --config configs/ptb-lstm.toml --device "$DEVICE" "${lstm[@]}" 2>&1 \
    | tee -a "$OUT/lstm.txt"

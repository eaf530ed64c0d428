#!/usr/bin/env bash
# Everything the gpu backend needs checked on a machine with an NVIDIA GPU, in one go, in
# under 5 minutes. Needs the repository, CuPy, PyTorch with CUDA, and minidl's own
# dependencies (numpy, scipy, protobuf, pytest, hypothesis); installs nothing.
#
#   bash benchmarks/gpu_run.sh            # results in ./gpu-results (or "$OUT" if set)
#
# 1. tests/test_gpu.py (-m gpu): every RawKernel against the NumPy reference, training on
#    the device equal to the numpy backend, device residency;
# 2. benchmarks/gpu_mobilenet.py: MobileNet v1 forward+backward at batch 1 and 40, (a)
#    RawKernels vs (b) grouped im2col vs (c) PyTorch CUDA, and the per-layer table;
# 3. the rest of the suite, where the `backend` fixture runs every kernel test on the GPU
#    as well (with whatever time is left of the 5 minutes).
# Each step's output is saved under the results folder; the exit status is 0 only if the
# GPU tests and the suite pass (the suite may run out of time) and the benchmark measured
# every row.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-./gpu-results}"
mkdir -p "$OUT_DIR"
PYTHON="${PYTHON:-$(command -v python3 || command -v python)}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # this checkout, installed or not
BUDGET=285                                             # seconds for the whole run
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }

{
    echo "date: $(date -u +%FT%TZ)"
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    command -v nvidia-smi >/dev/null && nvidia-smi -L && nvidia-smi \
        --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
} > "$OUT_DIR/environment.txt" 2>&1

if ! "$PYTHON" - >> "$OUT_DIR/environment.txt" 2>&1 <<'EOF'
import importlib, sys
missing = []
for name in ("numpy", "scipy", "google.protobuf", "pytest", "hypothesis", "cupy", "torch"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '')}")
    except Exception as error:
        missing.append(f"{name} ({error})")
if not missing:
    import cupy, torch
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        count, missing = 0, missing + [f"a CUDA device for CuPy ({error})"]
    if count:
        print("cupy device:", cupy.cuda.runtime.getDeviceProperties(0)["name"])
    if not torch.cuda.is_available():
        missing.append("a CUDA device for PyTorch (torch.cuda.is_available() is False)")
if missing:
    print("gpu_run.sh: missing " + "; ".join(missing), file=sys.stderr)
    sys.exit(1)
EOF
then
    cat "$OUT_DIR/environment.txt"
    exit 2
fi
cat "$OUT_DIR/environment.txt"

status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, keep its output
    local name=$1 limit=$2
    shift 2
    echo "== $name (at most ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT_DIR/$name.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && echo "== $name: stopped after ${limit}s" | tee -a "$OUT_DIR/$name.log"
    echo "== $name: exit $rc"
    return "$rc"
}

step test_gpu 100 "$PYTHON" -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py \
    --junitxml="$OUT_DIR/test_gpu.xml" || status=1
step gpu_mobilenet 150 "$PYTHON" benchmarks/gpu_mobilenet.py --out "$OUT_DIR" || status=1
remaining=$(left)
if [ "$remaining" -gt 20 ]; then
    step test_suite "$remaining" "$PYTHON" -m pytest -q -p no:cacheprovider tests \
        --ignore=tests/test_gpu.py --junitxml="$OUT_DIR/test_suite.xml"
    rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && status=1   # failures count; running out of time not
else
    echo "== test_suite: skipped, ${remaining}s left of the ${BUDGET}s budget" \
        | tee "$OUT_DIR/test_suite.log"
fi
echo "== done in $(($(date +%s) - START))s; results in $OUT_DIR (exit $status)"
exit "$status"

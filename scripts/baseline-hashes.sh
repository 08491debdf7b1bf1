#!/bin/sh
# The bit-identity check of issue 12: the eight `chainrule train` runs of docs/performance.md's baseline
# table. Each run's trained tensors (every tensor of model.safetensors, by sorted key: name, dtype, shape,
# bytes; not the JSON metadata, which grows new keys) are hashed (first 16 hex digits of sha256) and
# compared with the table.
# Usage: scripts/baseline-hashes.sh [python]   (default: .venv/bin/python, else python3; run from the repo)
# Exit 0 when all eight match, 1 otherwise.
PY=${1:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
status=0
HASH='
import hashlib, sys
from safetensors.numpy import load_file
h = hashlib.sha256()
for k, v in sorted(load_file(sys.argv[1]).items()):
    h.update(f"{k}|{v.dtype.str}|{v.shape}|".encode()); h.update(v.tobytes())
print(h.hexdigest()[:16])'
check() {  # expected-hash flags...
    want=$1; shift
    out="$TMP/run"
    rm -rf "$out"
    PYTHONPATH=src "$PY" -m chainrule train "$@" --out "$out" --progress lines >/dev/null 2>&1 || { echo "FAIL (exit) $*"; status=1; return; }
    got=$(PYTHONPATH=src "$PY" -c "$HASH" "$out/model.safetensors")
    if [ "$got" = "$want" ]; then echo "ok   $got  $*"; else echo "DIFF $got (want $want)  $*"; status=1; fi
}
check b1485a5b1b85cf21 --epochs 2 --seed 7
check af01a45047b12734 --epochs 2 --seed 7 --dtype float32
check 6dec80ac2766b61c --epochs 1 --seed 7 --batch-size 1
check fc6a5cb5cd2b2da6 --epochs 1 --seed 7 --batch-size 1 --dtype float32 --optimizer adam
check 4c217556a8b749ea --model cnn --epochs 2 --seed 7
check 57ceff0f55c8d346 --model cnn --epochs 2 --seed 7 --dtype float32
check 826d9f8fe2363c84 --model cnn --epochs 2 --seed 7 --dtype float32 --batch-size 64 --optimizer sgd
check f95a787878c39044 --model cnn --epochs 1 --seed 7 --threads 2
exit $status

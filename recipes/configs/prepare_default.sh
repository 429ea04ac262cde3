#!/usr/bin/env bash
# Builds what the shipped recipe configs read: the synthetic `default` preset, its stores (pretrained tiny encoder)
# and two adapters under runs/default: all losses (AR, TAD, AD seen; batch-centred NT-Xent w_B 20; a rank-12 bottleneck,
# docs/aam.md) and the same without latent consistency. Re-running resumes.
#   bash recipes/configs/prepare_default.sh        (uses .venv/bin/python when run.sh created it; PYTHON=... overrides)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-runs/default}
PRESET=${PRESET:-default}  # PRESET=small OUT=/tmp/x checks the script in a few minutes
PY=${PYTHON:-python}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && PY=.venv/bin/python
CKPT=checkpoints/i3d-r50-tiny-synthetic/model.safetensors
$PY -m latentanon.datasets.synthetic --preset "$PRESET" --out "$OUT/synthetic" --workers 2
for suite in ucf101 vispr thumos14 ucf_crime casia_b ntu60 toyota_smarthome; do
  static=0; [ "$suite" = ucf101 ] && static=2
  $PY -m latentanon.precompute --dataset "$suite" --root "$OUT/synthetic/$suite" --encoder i3d-r50-tiny \
    --checkpoint "$CKPT" --out "$OUT/stores/$suite.zarr" --static-clips "$static"
done
common=(--action-store "$OUT/stores/ucf101.zarr" --tad-store "$OUT/stores/thumos14.zarr"
  --ad-store "$OUT/stores/ucf_crime.zarr" --epochs 30 --batch-size 64 --lr 1e-3 --raw.ad.steps 25
  --raw.ad.lr 1e-4 --raw.ad.dims 64,128,256 --center-budget true --weights.budget 20 --aam.bottleneck 12 --raw-heads "$OUT/aam/raw_heads")
$PY -m latentanon.train_aam "${common[@]}" --out "$OUT/aam/all-losses"
$PY -m latentanon.train_aam "${common[@]}" --weights.lc 0 --out "$OUT/aam/no-lc"

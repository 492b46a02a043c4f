#!/usr/bin/env bash
# Sets up (packages + build) and runs the main job: DINO attention heatmaps and
# PCA colours of a picture, written to ./out/.
#
# Uses the official DINO ViT-S/8 weights when models/dino_deitsmall8_pretrain.pth
# exists (see models/README.md); otherwise generates a RANDOM-weight model and
# says so: the pictures then show the pipeline working, not what DINO sees.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
dinoclip=build/examples/cli/dinoclip
mkdir -p out

picture=${1:-}
if [ -z "$picture" ]; then
  picture=out/picture.png
  $dinoclip make-picture --out "$picture" --width 480 --height 480
fi

weights=models/dino_deitsmall8_pretrain.pth
if [ ! -f "$weights" ]; then
  weights=out/dino_random_vits8.safetensors
  [ -f "$weights" ] || $dinoclip make-model --arch vits8 --out "$weights"
  echo
  echo "*** models/dino_deitsmall8_pretrain.pth not found: using RANDOM weights ($weights)."
  echo "*** The heatmaps below show the pipeline, not DINO's attention. See models/README.md."
  echo
fi

$dinoclip attention --weights "$weights" --image "$picture" --size 480x480 -o out/attention_heads.png
$dinoclip attention --weights "$weights" --image "$picture" --size 480x480 --head mean -o out/attention_mean.png
$dinoclip pca --weights "$weights" --image "$picture" --size 480x480 -o out/pca.png
$dinoclip dino-features --weights "$weights" --image "$picture" --size 480x480 --out out/features
echo "done: see out/attention_heads.png, out/attention_mean.png, out/pca.png, out/features/"

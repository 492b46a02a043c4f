#!/usr/bin/env bash
# Sets up (packages + build) and runs the main job, written to ./out/:
#  1. DINO attention heatmaps and PCA colours of a picture;
#  2. one-shot video segmentation: a generated sequence (DAVIS layout) ->
#     dinofeatures -> dinoseg trained on frame 0 -> attnoverlay mode=mask -> mp4,
#     with the IoU against the exact masks, then `dinoclip davis` for the
#     ground truth | prediction video and per-frame IoU.
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
echo "pictures: out/attention_heads.png, out/attention_mean.png, out/pca.png, out/features/"

# ---- one-shot video segmentation -------------------------------------------
# ViT-S/8 at 480x480 (the notebook's size) takes ~6 s a frame on 2 CPU cores, so
# the demo runs at 224x224 (~0.7 s a frame) on 24 frames unless told otherwise:
#   DEMO_INPUT_SIZE=480x480 DEMO_FRAMES=50 ./scripts/demo.sh
input_size=${DEMO_INPUT_SIZE:-224x224}
frames=${DEMO_FRAMES:-24}
export GST_PLUGIN_PATH=$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}
echo
echo "== one-shot video segmentation: $frames generated frames, model input $input_size =="
$dinoclip make-sequence --out out/sequence --frames "$frames" --force
seq=out/sequence/JPEGImages/480p/synthetic
masks=out/sequence/Annotations/480p/synthetic
pipeline=(multifilesrc location=$seq/%05d.jpg index=0 stop-index=$((frames - 1)) caps=image/jpeg,framerate=24/1
  ! jpegdec ! videoconvert ! dinofeatures model=$weights input-size=$input_size
  ! dinoseg name=seg annotation=$masks/00000.png annotation-frame=0 ground-truth=$masks/%05d.png
  ! attnoverlay mode=mask ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux
  ! filesink location=out/segmentation.mp4)
echo "gst-launch-1.0 ${pipeline[*]}"
# -m prints the element messages: keep dinoseg's training report and IoU summary.
gst-launch-1.0 -m "${pipeline[@]}" |
  sed -n 's/.*from element "seg" (element): \(dinoseg-\(trained\|summary\)\)/\1/; T; s/([a-z0-9]*)//g; p'
echo "wrote out/segmentation.mp4 (frames with the predicted mask)"
echo
$dinoclip davis --root out/sequence --sequence synthetic --weights "$weights" --train-frame 0 \
  --input-size "$input_size" --out out/davis_synthetic.mp4 --force
if [ "$weights" != models/dino_deitsmall8_pretrain.pth ]; then
  echo
  echo "*** RANDOM weights: the masks come from colour and texture the random patch embedding still carries,"
  echo "*** not from DINO's features. See models/README.md for the official weights."
fi
echo "done: out/segmentation.mp4 (mask overlay), out/davis_synthetic.mp4 (ground truth | prediction)"

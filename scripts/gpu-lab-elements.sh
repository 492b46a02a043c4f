# Issue 21's element table, sourced by gpu-lab-run.sh on the GPU machine (needs its D, O, M, step and
# bench-free helpers; the bundle carries clip150.mp4 / clip1500.mp4 and mask720.png).
#
# Every element rate is measured as the difference of two stream lengths (start-up and model loading
# cancel out), and set against what bounds it: the model alone (`dinoclip bench`, same model, size,
# precision and batch, input already on the GPU) and the source alone (the same source into fakesink).
# Issue 21's targets: >= 80% of the slower of the two from system-memory frames, >= 90% from NVDEC's
# CUDA memory; 8 streams sharing one instance >= 90% of one stream at that batch size.
#
# GPU_LAB_DEVICE=cpu is a dry run on a machine without a GPU: every pipeline of the table runs with a few
# frames (1 + 1/400 of them), in fp32 (CPUs without AVX512_BF16 refuse bf16) and with 300 s limits, so a
# mistake in a pipeline, a property name or the bundle's plugin set shows up before the GPU's minutes are
# spent. Its numbers mean nothing; the NVDEC rows fail (no nvh264dec without a GPU).
DEV=${GPU_LAB_DEVICE:-cuda}
PREC=bf16 LIMIT=90; [ "$DEV" = cpu ] && PREC=fp32 LIMIT=300
frames() { if [ "$DEV" = cpu ]; then echo $((1 + $1 / 400)); else echo "$1"; fi; }

# rate LABEL N1 N2 FRAMES_PER_BUFFER PIPELINE: frames/s of PIPELINE (NBUF replaced by N1 and N2); prints
# nothing and returns 1 when a run fails (its error goes to $O/errors.txt).
rate() {
  local n1 n2 k=$4 pipe=$5 t1 t2
  n1=$(frames "$2") n2=$(frames "$3")
  t1=$(secs timeout $LIMIT gst-launch-1.0 -q ${pipe//NBUF/$n1}) || return 1
  t2=$(secs timeout $LIMIT gst-launch-1.0 -q ${pipe//NBUF/$n2}) || return 1
  case "$t1$t2" in *FAIL*) return 1 ;; esac
  python3 -c "print(f'{$k * ($n2 - $n1) / ($t2 - $t1):.0f}')"
}
# The model alone, frames/s (dinoclip bench; not in a dry run, where a batch of 64 takes minutes).
model_rate() {
  [ "$DEV" = cpu ] && { echo "(dry run)"; return; }
  timeout $LIMIT dinoclip bench "$@" --device $DEV --iters 20 2>/dev/null | grep -oE '[0-9.]+ frames/s' | head -1 | cut -d' ' -f1
}
# row LABEL ELEMENT_FPS MODEL_FPS SOURCE_FPS TARGET: one table row with the ratio to the slower bound.
row() {
  python3 - "$@" <<'PY'
import sys
label, element, model, source, target = sys.argv[1:6]
def num(x):
    try: return float(x)
    except ValueError: return None
e, m, s, t = num(element), num(model), num(source), float(target)
if e is None or m is None or s is None:
    print(f"{label} | element {element or 'FAILED'} | model {model or '?'} | source {source or '?'} | -")
else:
    bound, by = (m, "model") if m <= s else (s, "source")
    verdict = "meets" if e >= t * bound else "below"
    print(f"{label} | element {e:.0f} | model {m:.0f} | source {s:.0f} | {e / bound:.0%} of the {by} "
          f"({verdict} the {t:.0%} target)")
PY
}

step "elements (issue 21): frames/s; element vs the slower of model alone and source alone"
SYS="videotestsrc pattern=black num-buffers=NBUF ! video/x-raw,format=RGB,width=1280,height=720,framerate=30/1 ! queue"
SHORT=$D/clip150.mp4 LONG=$D/clip1500.mp4
nvdec() { echo "filesrc location=$1 ! qtdemux ! h264parse ! nvh264dec ! video/x-raw(memory:CUDAMemory),format=NV12 ! queue"; }
# NVDEC rates come from the two clips (150 and 1500 frames) instead of num-buffers.
nv_rate() {
  local pipe=$1 t1 t2
  t1=$(secs timeout $LIMIT gst-launch-1.0 -q $(nvdec $SHORT) ! $pipe) || return 1
  t2=$(secs timeout $LIMIT gst-launch-1.0 -q $(nvdec $LONG) ! $pipe) || return 1
  case "$t1$t2" in *FAIL*) return 1 ;; esac
  python3 -c "print(f'{1350 / ($t2 - $t1):.0f}')"
}
src_sys=$(rate x 100 3100 1 "$SYS ! fakesink sync=false")
src_nv=$(nv_rate "fakesink sync=false")
echo "source alone: videotestsrc 1280x720 RGB through a queue ${src_sys:-FAILED} fps; NVDEC 1280x720 NV12 CUDA memory ${src_nv:-FAILED} fps"

V="model=$M/vits8.safetensors device=$DEV precision=$PREC"
C="model=$M/clipb16.safetensors device=$DEV precision=$PREC labels=dog;cat;car"
W="dino --weights $M/vits8.safetensors --precision $PREC"
m224b64=$(model_rate $W --size 224x224 --batch 64)
m480b16=$(model_rate $W --size 480x480 --batch 16)
m480b8=$(model_rate $W --size 480x480 --batch 8)
m480b1=$(model_rate $W --size 480x480 --batch 1)
mclip=$(model_rate clip --weights $M/clipb16.safetensors --precision bf16 --batch 64)
element_rows() {  # element_rows LABEL MODEL_FPS N1 N2 ELEMENT
  local label=$1 model=$2 n1=$3 n2=$4 element=$5
  row "$label, system memory" "$(rate x $n1 $n2 1 "$SYS ! $element ! fakesink sync=false")" "$model" "$src_sys" 0.8
  row "$label, NVDEC CUDA memory" "$(nv_rate "$element ! fakesink sync=false")" "$model" "$src_nv" 0.9
}
element_rows "dinofeatures 224 b64" "$m224b64" 100 2100 "dinofeatures $V input-size=224x224 batch-size=64"
element_rows "dinofeatures 480 b16" "$m480b16" 50 1650 "dinofeatures $V input-size=480x480 batch-size=16"
element_rows "dinofeatures 480 b1" "$m480b1" 50 850 "dinofeatures $V input-size=480x480"
element_rows "clipzeroshot B/16 b64" "$mclip" 100 2100 "clipzeroshot $C batch-size=64"

step "8 streams sharing one instance (480 b8) vs one stream"
B="$SYS ! dinofeatures $V input-size=480x480 model-instance-id=s batch-size=8 ! fakesink sync=false"
one=$(rate x 40 840 1 "$B")
eight=$(rate x 40 440 8 "$B $B $B $B $B $B $B $B")
python3 -c "
one, eight = '$one', '$eight'
try: print(f'8 streams {float(eight):.0f} fps in all, one stream {float(one):.0f} fps: {float(eight) / float(one):.0%} (target 90%)')
except ValueError: print(f'8 streams: {eight or \"FAILED\"}, one stream: {one or \"FAILED\"}')"

step "overlay at 1280x720 (heatmap)"
[ -x "$D/bin/bench_overlay" ] && timeout 60 bench_overlay --device cuda 2>&1 | tail -n 8
row "dinofeatures 480 b16 ! attnoverlay device=gpu, NVDEC CUDA memory" \
  "$(nv_rate "dinofeatures $V input-size=480x480 batch-size=16 ! attnoverlay device=gpu ! fakesink sync=false")" \
  "$m480b16" "$src_nv" 0.9
row "dinofeatures 480 b16 ! attnoverlay, system memory" \
  "$(rate x 50 1650 1 "$SYS ! dinofeatures $V input-size=480x480 batch-size=16 ! attnoverlay ! fakesink sync=false")" \
  "$m480b16" "$src_sys" 0.8

step "decode to overlay on the GPU: nvh264dec ! dinofeatures ! dinoseg ! attnoverlay ! cudadownload"
CHAIN="dinofeatures $V input-size=480x480 batch-size=16 ! dinoseg annotation=$D/mask720.png num-iters=50 \
! attnoverlay mode=mask ! cudadownload ! video/x-raw,format=NV12 ! fakesink sync=false"
if [ "$DEV" = cpu ]; then  # dry run: no NVDEC or cudadownload without a GPU; the chain's own elements from NV12
  CHAIN=${CHAIN/cudadownload ! /}
  timeout $LIMIT gst-launch-1.0 -q ${SYS//NBUF/3} ! videoconvert ! video/x-raw,format=NV12 ! $CHAIN > "$O/chain.txt" 2>&1
else
  GST_DEBUG=dinoclipcuda:5 timeout $LIMIT gst-launch-1.0 -q $(nvdec $LONG) ! $CHAIN > "$O/chain.txt" 2>&1
fi
echo "chain rc=$? ($(grep -ciE 'error' "$O/chain.txt") error lines); frames mapped to host memory (dinoclipcuda log): \
$(grep -c 'mapped for the CPU (downloaded)' "$O/chain.txt")"
row "whole chain, NVDEC CUDA memory" "$(nv_rate "$CHAIN")" "$m480b16" "$src_nv" 0.9

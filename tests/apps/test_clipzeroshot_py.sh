#!/bin/sh
# Runs examples/apps/clipzeroshot_messages.py (the PyGObject snippet of
# docs/elements/clipzeroshot.md) on 4 test frames with the tiny CLIP fixture,
# and checks it printed one label line per frame and the query event.
# Arguments: PYTHON SCRIPT FIXTURES_DIR
set -eu
python=$1 script=$2 fixtures=$3
model=$fixtures/clip_tiny/clip_tiny_state.pth
vocab=$fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz
for f in "$model" "$vocab"; do
  if [ ! -f "$f" ]; then
    echo "missing fixture $f"
    [ "${CI:-}" = true ] && exit 1
    exit 77  # meson: skipped
  fi
done
if ! "$python" -c 'import gi; gi.require_version("Gst", "1.0"); from gi.repository import Gst' 2>/dev/null; then
  echo "PyGObject with GStreamer is not installed (python3-gi, gir1.2-gstreamer-1.0, python3-gst-1.0)"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
out=$("$python" "$script" --model "$model" --vocab "$vocab" --labels "a person;a cat;an empty room" \
  --query "a dog" --query-threshold -1 --source "videotestsrc num-buffers=4")
echo "$out"
labels=$(echo "$out" | grep -c -E '^ +[0-9.]+s  (a person|a cat|an empty room) [0-9.]+ +\[.*, .*, .*\]$' || true)
events=$(echo "$out" | grep -c 'query start: "a dog"' || true)
if [ "$labels" -ne 4 ] || [ "$events" -ne 1 ]; then
  echo "expected 4 label lines with a 3-entry top-k and 1 query start event, got $labels and $events"
  exit 1
fi

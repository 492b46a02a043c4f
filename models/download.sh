#!/usr/bin/env bash
# Downloads the official weights and CLIP's vocabulary into models/ (needs internet).
# Usage: models/download.sh [dino-s8] [dino-s16] [dino-b8] [dino-b16] [clip-b32] [vocab]   (default: dino-s8 clip-b32 vocab)
set -euo pipefail
cd "$(dirname "$0")"
fetch() {  # url file [sha256]
  if [ ! -f "$2" ]; then
    echo "downloading $2"
    curl -fL --retry 3 -o "$2.part" "$1" && mv "$2.part" "$2"
  fi
  local sum; sum=$(sha256sum "$2" | cut -d' ' -f1)
  if [ -n "${3:-}" ] && [ "$sum" != "$3" ]; then
    echo "error: $2 has sha256 $sum, expected $3: delete it and download again" >&2; exit 1
  fi
  echo "$2 sha256 $sum"
}
dino=https://dl.fbaipublicfiles.com/dino
for what in "${@:-dino-s8 clip-b32 vocab}"; do
  for w in $what; do
    case "$w" in
      dino-s8)  fetch $dino/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth dino_deitsmall8_pretrain.pth ;;
      dino-s16) fetch $dino/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth dino_deitsmall16_pretrain.pth ;;
      dino-b8)  fetch $dino/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth dino_vitbase8_pretrain.pth ;;
      dino-b16) fetch $dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth dino_vitbase16_pretrain.pth ;;
      clip-b32) fetch https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt \
                  ViT-B-32.pt 40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af ;;
      vocab)    fetch https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz bpe_simple_vocab_16e6.txt.gz \
                  924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a ;;
      *) echo "unknown model '$w'" >&2; exit 2 ;;
    esac
  done
done

#!/usr/bin/env bash
# Fetch the benign test corpus (photos + astronomical photos, no videos) used by the robustness
# benchmark and the corpus tests, unless it is already there.
# Destination: $STOPFRAME_CORPUS, else ~/.cache/stopframe/corpus. Run from the repository root.
set -euo pipefail
dest="${STOPFRAME_CORPUS:-$HOME/.cache/stopframe/corpus}"
if [ -d "$dest/images" ] && [ -n "$(ls -A "$dest/images" 2>/dev/null)" ] \
   && [ -d "$dest/images_astro" ] && [ -n "$(ls -A "$dest/images_astro" 2>/dev/null)" ]; then
  echo "corpus already at $dest"
  exit 0
fi
bash ../shared/corpus/get-corpus.sh "$dest" --astro --no-video

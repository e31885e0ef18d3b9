#!/usr/bin/env bash
# Builds the noderack CLAP plugin (release) as target/release/noderack.clap and installs it in
# ~/.clap, where CLAP hosts look (CLAP_PATH adds other folders), with the editor program it opens
# (noderack-editor) beside it. The one file holds both plugins: "noderack" (instrument) and
# "noderack FX" (effect).
#
#   scripts/bundle-plugin.sh              build and install
#   scripts/bundle-plugin.sh --no-install build only
#   scripts/bundle-plugin.sh --debug      a debug build (target/debug/noderack.clap)
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
profile=release
for arg in "$@"; do
  case "$arg" in
    --no-install) install=0 ;;
    --debug) profile=debug ;;
    *) echo "unknown option: $arg (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done

if [ "$profile" = release ]; then
  cargo build --release -p noderack-plugin -p noderack-editor
else
  cargo build -p noderack-plugin -p noderack-editor
fi
# On Linux a .clap is the shared library, renamed.
built="${CARGO_TARGET_DIR:-target}/$profile/libnoderack_plugin.so"
bundle="${CARGO_TARGET_DIR:-target}/$profile/noderack.clap"
cp "$built" "$bundle"
# The release profile keeps line tables for profiling; a plugin a DAW loads does not need them.
if [ "$profile" = release ] && command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$bundle"
fi
echo "built $bundle ($(du -h "$bundle" | cut -f1))"
if [ "$install" = 1 ]; then
  mkdir -p "$HOME/.clap"
  cp "$bundle" "$HOME/.clap/noderack.clap"
  # The plugin's editor window is this program, looked for beside the plugin first.
  cp "${CARGO_TARGET_DIR:-target}/$profile/noderack-editor" "$HOME/.clap/noderack-editor"
  echo "installed $HOME/.clap/noderack.clap and its editor, $HOME/.clap/noderack-editor"
fi

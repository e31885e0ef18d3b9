#!/usr/bin/env bash
# Installs everything noderack needs on a fresh Debian (or Ubuntu) machine: the system packages
# and, if no Rust toolchain is present, Rust through rustup. Safe to run again.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# JACK (server, client library and headers) and ALSA headers are for live playback (the jack,
# cpal and midir crates build against them; the live tests run their own dummy JACK servers).
# The General MIDI SoundFonts and FluidSynth are for the SF2 tests and the comparison renders;
# flac and vorbis-tools encode the FLAC and Ogg Vorbis fixtures of the decoding tests; sox checks
# written WAV files; time measures scripts/bench-fluidsynth.sh. zam-plugins installs real CLAP
# effects in /usr/lib/clap for the plugin-hosting tests. xvfb is a virtual X server for the test
# of the plugin's editor inside a host's window.
packages=(build-essential pkg-config curl ca-certificates jackd2 libjack-jackd2-dev libasound2-dev
  timgm6mb-soundfont fluid-soundfont-gm fluidsynth flac vorbis-tools sox time zam-plugins xvfb)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    echo "Rust is installed in ~/.cargo/bin; add it to PATH: . \"\$HOME/.cargo/env\""
  else
    echo "installing Rust (rustup, stable toolchain)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  fi
fi

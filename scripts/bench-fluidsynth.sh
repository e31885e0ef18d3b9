#!/usr/bin/env bash
# Renders one MIDI file through one SoundFont with FluidSynth and with `noderack render`, side
# by side on this machine, and compares CPU time (user + sys) and peak memory (max RSS).
# Figures and how to read them: docs/PERFORMANCE.md, "Sampler vs FluidSynth".
#
# Usage: scripts/bench-fluidsynth.sh [--runs N] [--midi FILE] [--soundfont FILE] [--no-build]
#                                   [--fluidsynth-loads played|all] [--noderack-loads notes|programs]
#                                   [--concurrent]
#
# Runs alternate (fluidsynth, noderack, fluidsynth, ...) so drift on a noisy machine hits both
# alike; the summary gives the median and the spread (min–max) of each, and the ratio of the
# medians. With --concurrent (two cores or more), each run starts both at once, each pinned to
# its own core (the cores swapped every run): noise from outside the machine then hits both in
# the same moments, and the summary adds the median of the runs' own ratios. noderack finishes
# first, so it shares the machine for all of its run and FluidSynth for part of its own: if
# anything, that counts against noderack. On a machine shared with builds, run the whole script
# under the build lock so no build runs meanwhile, e.g.
# `flock /tmp/noderack-cargo.lock scripts/bench-fluidsynth.sh` (the script itself never takes
# that lock).
#
# Settings held equal: 48 kHz, 32-bit float WAV output, reverb and chorus off in FluidSynth
# (`-R 0 -C 0`; noderack has neither), polyphony 256 in both (FluidSynth's default
# `synth.polyphony`; noderack's `render --soundfont` uses 256 voices), FluidSynth's default
# interpolation (4th order: 4-point cubic). FluidSynth renders with `-F` (fast, no audio device).
# Sample data: `noderack render --soundfont` reads, of the programs the file plays, only the
# zones its notes reach (`--noderack-loads notes`, its default); `--noderack-loads programs`
# reads every zone of those programs, as FluidSynth does with `synth.dynamic-sample-loading`
# (the default here: `--fluidsynth-loads played`); `--fluidsynth-loads all` measures FluidSynth
# loading the whole bank, its default.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
testdata="${NODERACK_TESTDATA:-$repo/../shared/testdata}"
runs=5
midi="$testdata/midi/dense60.mid"
soundfont=/usr/share/sounds/sf2/TimGM6mb.sf2
build=1
rate=48000
fs_loads=played
nr_loads=notes
concurrent=0

while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --midi) midi="$2"; shift 2 ;;
        --soundfont) soundfont="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --fluidsynth-loads) fs_loads="$2"; shift 2 ;;
        --noderack-loads) nr_loads="$2"; shift 2 ;;
        --concurrent) concurrent=1; shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

case "$fs_loads" in
    played) fs_opts=(-o synth.dynamic-sample-loading=1) ;;
    all) fs_opts=(-o synth.dynamic-sample-loading=0) ;;
    *) echo "--fluidsynth-loads takes played or all, not $fs_loads" >&2; exit 2 ;;
esac
case "$nr_loads" in
    notes | programs) ;;
    *) echo "--noderack-loads takes notes or programs, not $nr_loads" >&2; exit 2 ;;
esac

missing=()
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[[ -x /usr/bin/time ]] || missing+=(time)
((concurrent == 0)) || command -v taskset >/dev/null || missing+=(util-linux)
[[ -f "$soundfont" ]] || { [[ "$soundfont" == */TimGM6mb.sf2 ]] && missing+=(timgm6mb-soundfont); }
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing: ${missing[*]}" >&2
    echo "install with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
[[ -f "$soundfont" ]] || { echo "sound font not found: $soundfont" >&2; exit 1; }
[[ -f "$midi" ]] || { echo "MIDI file not found: $midi (set NODERACK_TESTDATA or pass --midi)" >&2; exit 1; }

noderack="$repo/target/release/noderack"
if [[ $build == 1 ]]; then
    (cd "$repo" && cargo build --release -p noderack --quiet)
fi
[[ -x "$noderack" ]] || { echo "$noderack not built (run without --no-build)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs a command under /usr/bin/time; appends "cpu_seconds max_rss_kb" to the file $1 and
# keeps its output in $work/stdout.$2.
measure() {
    local log="$1" tag="$2"; shift 2
    /usr/bin/time -f "%U %S %M" -o "$work/time.$tag" "$@" >"$work/stdout.$tag" 2>"$work/stderr.$tag" || {
        echo "failed: $*" >&2; cat "$work/stderr.$tag" >&2; exit 1; }
    awk '{ printf "%.3f %d\n", $1 + $2, $3 }' "$work/time.$tag" >>"$log"
}

# FluidSynth renders until its MIDI player ends (the file's end-of-track), noderack until the
# last event plus --tail: give noderack the tail that makes both files equally long.
fluidsynth -ni -q -R 0 -C 0 -r "$rate" -O float "${fs_opts[@]}" -F "$work/probe-fs.wav" "$soundfont" "$midi" >/dev/null 2>&1
fs_seconds=$(awk -v b="$(stat -c %s "$work/probe-fs.wav")" -v r="$rate" 'BEGIN { printf "%.3f", b / (8 * r) }')
"$noderack" render --soundfont "$soundfont" --soundfont-load "$nr_loads" --midi "$midi" --sample-rate "$rate" --tail 0 \
    -o "$work/probe-nr.wav" >"$work/probe.out"
nr_seconds=$(sed -n 's/.*(\([0-9.]*\) s,.*/\1/p' "$work/probe.out")
tail_seconds=$(awk -v f="$fs_seconds" -v n="$nr_seconds" 'BEGIN { t = f - n; printf "%.2f", (t > 0 ? t : 0) }')

echo "machine:    $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "fluidsynth: $(fluidsynth --version 2>/dev/null | head -1)"
echo "noderack:   $(cd "$repo" && git describe --always --dirty 2>/dev/null || echo unknown)"
echo "MIDI:       $midi"
echo "sound font: $soundfont"
if ((concurrent)); then
    (($(nproc) >= 2)) || { echo "--concurrent needs two cores" >&2; exit 1; }
    echo "rate:       $rate Hz, $runs runs each, both at once on cores 0 and 1 (swapped every run)"
else
    echo "rate:       $rate Hz, $runs runs each, alternating"
fi
echo "samples:    noderack reads, of the programs the file plays: $nr_loads; FluidSynth loads: $fs_loads"
echo "length:     FluidSynth renders ${fs_seconds} s; noderack gets --tail ${tail_seconds} to match"
echo
printf '%-4s %-12s %10s %12s\n' run program "CPU s" "peak RSS MB"
fs_run=(fluidsynth -ni -q -R 0 -C 0 -r "$rate" -O float "${fs_opts[@]}" -F "$work/fluidsynth.wav" "$soundfont" "$midi")
nr_run=("$noderack" render --soundfont "$soundfont" --soundfont-load "$nr_loads" --midi "$midi" \
    --sample-rate "$rate" --tail "$tail_seconds" --format f32 -o "$work/noderack.wav")
for ((i = 1; i <= runs; i++)); do
    if ((concurrent)); then
        measure "$work/fluidsynth" fs taskset -c $((i % 2)) "${fs_run[@]}" &
        fs_pid=$!
        measure "$work/noderack" nr taskset -c $(((i + 1) % 2)) "${nr_run[@]}" &
        nr_pid=$!
        wait "$fs_pid" && wait "$nr_pid" || exit 1
    else
        measure "$work/fluidsynth" fs "${fs_run[@]}"
        measure "$work/noderack" nr "${nr_run[@]}"
    fi
    printf '%-4s %-12s %10.2f %12.1f\n' "$i" fluidsynth $(tail -1 "$work/fluidsynth" | awk '{ print $1, $2 / 1024 }')
    printf '%-4s %-12s %10.2f %12.1f\n' "$i" noderack $(tail -1 "$work/noderack" | awk '{ print $1, $2 / 1024 }')
    cp "$work/stdout.nr" "$work/noderack.out"
done

# "median min max" of column $2 of file $1.
stats() {
    sort -n -k"$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}
read -r fs_cpu fs_cpu_min fs_cpu_max < <(stats "$work/fluidsynth" 1)
read -r nr_cpu nr_cpu_min nr_cpu_max < <(stats "$work/noderack" 1)
read -r fs_rss _ fs_rss_max < <(stats "$work/fluidsynth" 2)
read -r nr_rss _ nr_rss_max < <(stats "$work/noderack" 2)

echo
printf '%-12s %22s %22s\n' "" "CPU s: median (range)" "peak RSS MB: max"
printf '%-12s %10.2f (%.2f–%.2f) %22.1f\n' fluidsynth "$fs_cpu" "$fs_cpu_min" "$fs_cpu_max" "$(awk -v k="$fs_rss_max" 'BEGIN { print k / 1024 }')"
printf '%-12s %10.2f (%.2f–%.2f) %22.1f\n' noderack "$nr_cpu" "$nr_cpu_min" "$nr_cpu_max" "$(awk -v k="$nr_rss_max" 'BEGIN { print k / 1024 }')"
awk -v n="$nr_cpu" -v f="$fs_cpu" -v nmin="$nr_cpu_min" -v nmax="$nr_cpu_max" -v fmin="$fs_cpu_min" -v fmax="$fs_cpu_max" \
    -v nr="$nr_rss_max" -v fr="$fs_rss_max" 'BEGIN {
    printf "ratio noderack / fluidsynth: CPU %.2f× (spread %.2f–%.2f), peak RSS %.2f×\n", n / f, nmin / fmax, nmax / fmin, nr / fr
    printf "goal CPU ≤ 0.50×: %s, peak RSS ≤ 0.75×: %s\n", (n / f <= 0.5) ? "met" : "not met", (nr / fr <= 0.75) ? "met" : "not met" }'
if ((concurrent)); then
    paste "$work/noderack" "$work/fluidsynth" | awk '{ printf "%.4f\n", $1 / $3 }' | sort -n >"$work/ratios"
    read -r paired paired_min paired_max < <(stats "$work/ratios" 1)
    printf "paired: median of the runs' own ratios %.2f× (range %.2f–%.2f)\n" "$paired" "$paired_min" "$paired_max"
fi

echo
echo "noderack's render of the last run:"
sed 's/^/  /' "$work/noderack.out"
if grep -q ' 0 samples over full scale' "$work/noderack.out"; then
    echo "  sane: no sample over full scale"
else
    echo "  WARNING: samples over full scale (see above)"
fi
echo
echo "interpolation: fluidsynth 4th order (4-point Catmull-Rom, 256-row coefficient table, its default);"
echo "               noderack 4-point Catmull-Rom, 513-row table, fraction rounded (nodes/src/dsp/interpolate.rs)"

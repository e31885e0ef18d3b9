#!/usr/bin/env bash
# Live playback under JACK, side by side with FluidSynth (issue 10's benchmark). Each player
# runs alone on a fresh JACK server of the same kind (dummy backend, 48 kHz, 64-frame periods,
# --no-realtime) for 60 s of the dense General MIDI file dense60.mid through the FluidR3 GM
# SoundFont; then noderack alone plays a heavy patch (presets/bench-heavy.json: 16 sampler
# channels and four synth layers). For every run it reports:
#   - xruns: the server's ("JackTimedDriver::Process XRun" lines in its log) and, for noderack,
#     its own count (JACK's xrun callbacks, and callbacks that overran their deadline);
#   - JACK's DSP load (the server's own measure of the whole cycle, sampled once a second by
#     jack_cpu_load): average and peak over the window;
#   - CPU time of the player process over the same window (/proc/PID/stat user + system), so
#     that loading the SoundFont is not counted;
#   - for noderack, its own DSP load meter (time in the callback / the block's duration).
# First runs measure the machine's own xrun floor: jack_simple_client, and noderack playing
# the same patch with no MIDI.
#
# Usage: scripts/bench-live.sh [--seconds N] [--period FRAMES] [--no-build] [--no-heavy]
#
# Settings held equal: 48 kHz, FluidR3_GM.sf2, the same MIDI file played from the start, 256
# voices (FluidSynth's default polyphony; presets/gm.json's sampler), reverb and chorus off in
# FluidSynth (-R 0 -C 0; noderack has neither), no audio ports connected (the dummy server has
# no sound card to feed). Both evaluate SF2 modulators, the modulation envelope and two LFOs
# per voice and load the whole bank; what still differs (velocity -> cutoff, event timing,
# quiet voices) is in docs/PERFORMANCE.md, "Sampler vs FluidSynth". Run it on an otherwise
# idle machine: both players share the two cores with the server.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
testdata="${NODERACK_TESTDATA:-$repo/../shared/testdata}"
seconds=60
period=64
build=1
heavy=1
midi="$testdata/midi/dense60.mid"
soundfont=/usr/share/sounds/sf2/FluidR3_GM.sf2

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --period) period="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --no-heavy) heavy=0; shift ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

missing=()
for tool in jackd jack_wait jack_lsp jack_cpu_load; do command -v "$tool" >/dev/null || missing+=(jackd2); done
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[[ -f "$soundfont" ]] || missing+=(fluid-soundfont-gm)
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing: ${missing[*]}; install with: sudo apt-get install $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 1
fi
[[ -f "$midi" ]] || { echo "MIDI file not found: $midi (set NODERACK_TESTDATA)" >&2; exit 1; }

noderack="$repo/target/release/noderack"
if [[ $build == 1 ]]; then
    (cd "$repo" && cargo build --release -p noderack --quiet)
fi
[[ -x "$noderack" ]] || { echo "$noderack not built (run without --no-build)" >&2; exit 1; }

work="$(mktemp -d)"
export JACK_DEFAULT_SERVER="noderack-bench-$$"
server_pid=""
player_pid=""
cleanup() {
    [[ -n "$player_pid" ]] && kill "$player_pid" 2>/dev/null || true
    [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ticks_per_second=$(getconf CLK_TCK)

start_server() {
    jackd -n "$JACK_DEFAULT_SERVER" --no-realtime -d dummy -r 48000 -p "$period" >"$work/jackd-$1.log" 2>&1 &
    server_pid=$!
    jack_wait -w -t 10 >/dev/null 2>&1
}

stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

# CPU ticks (user + system) of process $1; the command name may hold spaces, so fields are
# counted after its closing parenthesis.
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

wait_for_port() {
    for _ in $(seq 300); do
        jack_lsp 2>/dev/null | grep -Eq "$1" && return 0
        sleep 0.1
    done
    echo "port $1 did not appear" >&2
    return 1
}

# Measures player $player_pid (whose JACK port $2 shows it is playing) for $seconds; prints a
# table row for label $1 and leaves the figures in $work/$1.row.
measure() {
    local label="$1" port="$2"
    wait_for_port "$port"
    local t0; t0=$(cpu_ticks "$player_pid")
    jack_cpu_load >"$work/$label.load" 2>/dev/null &
    local load_pid=$!
    sleep "$seconds"
    local t1; t1=$(cpu_ticks "$player_pid")
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    local cpu; cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$ticks_per_second" 'BEGIN {printf "%.2f", (b - a) / hz}')
    # jack_cpu_load prints "jack DSP load N" once a second; the first sample is skipped.
    local load; load=$(awk '/DSP load/ {n++; if (n > 1) {s += $4; if ($4 > m) m = $4; c++}} END {if (c) printf "%.1f %.1f", s / c, m; else print "- -"}' "$work/$label.load")
    echo "$label $cpu $load" >"$work/$label.row"
}

row() {
    local label="$1" extra="$2"
    read -r _ cpu load_avg load_peak <"$work/$label.row"
    local xruns; xruns=$(grep -c "XRun" "$work/jackd-$label.log" || true)
    printf "| %-28s | %5s | %6s s | %7s %% | %7s %% | %s |\n" "$label" "$xruns" "$cpu" "$load_avg" "$load_peak" "$extra"
}

play_noderack() {
    local label="$1" patch="$2" midi_args=(--midi-file "$midi")
    [[ "$label" == idle ]] && midi_args=()
    start_server "$label"
    "$noderack" play "$patch" --backend jack --client-name noderack "${midi_args[@]}" \
        --duration $((seconds + 5)) --report "$work/$label.json" >"$work/$label.out" 2>"$work/$label.err" &
    player_pid=$!
    measure "$label" "noderack:main_L"
    wait "$player_pid" || { echo "noderack failed:" >&2; cat "$work/$label.err" >&2; exit 1; }
    player_pid=""
    stop_server
}

# Another JACK client $3... as label $1, measured once its port $2 exists, then stopped.
play_other() {
    local label="$1" port="$2"
    shift 2
    start_server "$label"
    "$@" >"$work/$label.out" 2>&1 &
    player_pid=$!
    measure "$label" "$port"
    kill "$player_pid" 2>/dev/null || true
    wait "$player_pid" 2>/dev/null || true
    player_pid=""
    stop_server
}

echo "live benchmark: ${seconds} s, JACK dummy server at 48 kHz, ${period}-frame periods, $(basename "$midi"), $(basename "$soundfont")"
echo "machine: $(nproc) cores, $(uname -r)"

# The machine's own floor: JACK's example client (a sine from a table: no work to speak of),
# then noderack with the same patch playing nothing. Xruns here come from the machine (a
# virtual CPU descheduled, a thread without real-time priority preempted), not from work.
play_other simple "^jack_simple_client:output1$" jack_simple_client
play_noderack idle "$repo/presets/gm.json"
play_noderack noderack "$repo/presets/gm.json"

play_other fluidsynth "^fluidsynth.*:left$" fluidsynth -a jack -m jack -i -q -R 0 -C 0 -r 48000 \
    -o synth.polyphony=256 -o audio.jack.autoconnect=0 "$soundfont" "$midi"

if [[ $heavy == 1 ]]; then
    play_noderack heavy "$repo/presets/bench-heavy.json"
fi

ours() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"own meter {100*r['load_average']:.1f} % avg, {100*r['load_peak']:.1f} % peak; xruns {r['backend_xruns']} + {r['overruns']} overruns; {r['peak_voices']} voices at most\")" "$1"
}
echo
echo "| run                          | xruns |    CPU    | JACK load avg | JACK load peak | notes |"
echo "|---|---|---|---|---|---|"
row simple "jack_simple_client (the machine's floor)"
row idle "noderack, the same patch, no MIDI: $(ours "$work/idle.json")"
row noderack "$(ours "$work/noderack.json")"
row fluidsynth "FluidSynth $(fluidsynth --version 2>/dev/null | grep -o '[0-9]*\.[0-9]*\.[0-9]*' | head -1), reverb and chorus off"
if [[ $heavy == 1 ]]; then
    row heavy "$(ours "$work/heavy.json")"
fi

#!/usr/bin/env python3
"""Writes presets/demo.mid: 16 bars in A minor at 100 bpm for the demo patch.

Channel 1 pad chords, channel 2 bass, channel 3 lead, channel 10 drums (General MIDI layout,
so the demo patch also plays GM files sensibly). Standard library only; deterministic.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smf import write_smf  # noqa: E402

TPB = 480  # ticks per beat
BAR = 4 * TPB
events = []  # (tick, order, bytes)


def note(ch, key, start, length, vel):
    events.append((start, 1, bytes([0x90 | ch, key, vel])))
    events.append((start + length, 0, bytes([0x80 | ch, key, 0])))


# Am, F, C, G (root notes and triads), four times.
chords = [(57, [57, 60, 64]), (53, [53, 57, 60]), (48, [52, 55, 60]), (55, [55, 59, 62])]
melody = [  # (beat offset in bar, key, beats) per chord
    [(0, 76, 1.5), (1.5, 74, 0.5), (2, 72, 1), (3, 71, 1)],
    [(0, 72, 1.5), (1.5, 69, 0.5), (2, 72, 1), (3, 74, 1)],
    [(0, 76, 1), (1, 79, 1), (2, 76, 1), (3, 72, 1)],
    [(0, 74, 2), (2, 71, 1), (3, 67, 1)],
]
for bar in range(16):
    root, triad = chords[bar % 4]
    t0 = bar * BAR
    for k in triad:  # pad: whole-bar chords, a little under the beat grid
        note(0, k, t0, BAR - 20, 70)
    for e in range(8):  # bass: eighths alternating root and octave
        key = root - 24 + (12 if e % 2 else 0)
        note(1, key, t0 + e * TPB // 2, TPB // 2 - 30, 100 if e % 4 == 0 else 80)
    if bar >= 4:  # lead enters in bar 5
        for beat, key, beats in melody[bar % 4]:
            note(2, key, t0 + int(beat * TPB), int(beats * TPB) - 40, 96)
    for beat in range(4):  # drums: kick 1 & 3, snare 2 & 4, hats on eighths
        note(9, 36 if beat % 2 == 0 else 38, t0 + beat * TPB, TPB // 4, 110)
        for half in range(2):
            note(9, 42, t0 + beat * TPB + half * TPB // 2, TPB // 8, 60 if half else 80)

path = sys.argv[1] if len(sys.argv) > 1 else "presets/demo.mid"
write_smf(path, events, TPB, 600000, b"\x00\xff\x58\x04\x04\x02\x18\x08")

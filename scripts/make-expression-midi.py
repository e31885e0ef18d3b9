#!/usr/bin/env python3
"""Writes a MIDI file (default ./expression.mid): 60 s of General MIDI with heavy expression, for the
FluidSynth comparison with modulation in play (docs/PERFORMANCE.md, "Sampler vs FluidSynth").

Eight melodic channels (strings, violin, cello, flute, trumpet, organ, lead, pad) play chords
and lines at 120 bpm while every one of them sweeps the mod wheel (CC1, a sine per channel,
every 20 ms) and four bend their pitch (±2 semitones, a slow sine, every 10 ms), two press
(channel pressure) and drums play on channel 10. Standard library only; deterministic.
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smf import write_smf  # noqa: E402

TPB = 480  # ticks per beat; 120 bpm: 960 ticks per second
SECONDS = 60
TICKS = SECONDS * 2 * TPB
events = []  # (tick, order, bytes)


def note(ch, key, start, length, vel):
    events.append((start, 2, bytes([0x90 | ch, key, vel])))
    events.append((start + length, 0, bytes([0x80 | ch, key, 0])))


programs = [48, 40, 42, 73, 56, 19, 80, 88]
for ch, program in enumerate(programs):
    events.append((0, 1, bytes([0xC0 | ch, program])))
# Chords on strings, organ and pad; lines on the others.
progression = [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]]
bar = 4 * TPB
for b in range(TICKS // bar):
    chord = progression[b % 4]
    for ch in (0, 5, 7):
        for k in chord:
            note(ch, k + (12 if ch == 7 else 0), b * bar, bar - 30, 80)
    for i in range(8):
        t = b * bar + i * TPB // 2
        note(1, chord[i % 3] + 12, t, TPB // 2 - 20, 90)  # violin eighths
        note(3, chord[(i + 1) % 3] + 24, t, TPB // 2 - 20, 85)  # flute
    for i in range(4):
        note(2, chord[0] - 12, b * bar + i * TPB, TPB - 30, 100)  # cello
        note(4, chord[i % 3] + 12, b * bar + i * TPB, TPB // 2, 95)  # trumpet
        note(6, chord[(2 * i) % 3] + 24, b * bar + i * TPB + TPB // 4, TPB // 2, 100)  # lead
        note(9, 36 if i % 2 == 0 else 38, b * bar + i * TPB, TPB // 4, 110)
        note(9, 42, b * bar + i * TPB + TPB // 2, TPB // 8, 70)
# Expression: CC1 every 20 ms on every melodic channel, bend every 10 ms on four, pressure on two.
for tick in range(0, TICKS, TPB * 2 // 100):  # 10 ms
    seconds = tick / (2 * TPB)
    if tick % (TPB * 2 // 50) == 0:
        for ch in range(8):
            value = int(63.5 + 63.5 * math.sin(2 * math.pi * (0.2 + 0.05 * ch) * seconds + ch))
            events.append((tick, 1, bytes([0xB0 | ch, 1, value])))
        for ch in (1, 3):
            pressure = int(63.5 + 63.5 * math.sin(2 * math.pi * 0.5 * seconds + ch))
            events.append((tick, 1, bytes([0xD0 | ch, pressure])))
    for ch in (2, 4, 6, 7):
        bend = int(8192 + 4000 * math.sin(2 * math.pi * (0.3 + 0.1 * ch) * seconds)) & 0x3FFF
        events.append((tick, 1, bytes([0xE0 | ch, bend & 0x7F, bend >> 7])))

path = sys.argv[1] if len(sys.argv) > 1 else "expression.mid"
write_smf(path, events, TPB, 500000)

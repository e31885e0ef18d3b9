"""Writes a one-track Standard MIDI File: shared by the scripts that make test and demo MIDI."""
import struct


def write_smf(path, events, tpb, tempo_us, meta=b""):
    """Writes `events` ((tick, order, bytes), sorted here) as a format-0 file at `tempo_us`
    microseconds per beat, `tpb` ticks per beat, with `meta` events (delta 0) after the tempo."""
    events = sorted(events, key=lambda e: (e[0], e[1]))
    track = bytearray(b"\x00\xff\x51\x03" + tempo_us.to_bytes(3, "big")) + meta
    last = 0
    for tick, _, data in events:
        delta = tick - last
        last = tick
        vlq = [delta & 0x7F]
        delta >>= 7
        while delta:
            vlq.append((delta & 0x7F) | 0x80)
            delta >>= 7
        track += bytes(reversed(vlq)) + data
    track += b"\x00\xff\x2f\x00"
    out = b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpb) + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)
    with open(path, "wb") as f:
        f.write(out)
    print(f"wrote {path}: {len(out)} bytes, {len(events)} events")

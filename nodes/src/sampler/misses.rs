//! Notes the sampler could not play because no zone of the channel's instrument answers
//! their key and velocity: counted on the audio thread without locks or allocation, read on
//! the control side to report after a render ("342 notes had no zone in `String Ensemble 1`,
//! which covers F#6–F7"), not silently dropped.

use std::sync::atomic::{AtomicU64, Ordering};

use noderack_presets::instrument::{Bank, ProgramNumber, Trigger};

/// Distinct (program, key) pairs the log can hold; more are counted in
/// [`MissLog::unrecorded`] only.
pub const MISS_SLOTS: usize = 1024;

/// A lock-free table of missed notes: each slot packs `(program, key) + 1` in its high 32
/// bits and a count in its low 32, claimed with a compare-and-swap (open addressing).
pub struct MissLog {
    slots: Box<[AtomicU64]>,
    unrecorded: AtomicU64,
}

impl Default for MissLog {
    fn default() -> Self {
        Self { slots: (0..MISS_SLOTS).map(|_| AtomicU64::new(0)).collect(), unrecorded: AtomicU64::new(0) }
    }
}

/// Missed notes of one program and key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Missed {
    /// The program the channel played.
    pub program: ProgramNumber,
    /// The key.
    pub key: u8,
    /// How many notes.
    pub count: u32,
}

fn pack(program: ProgramNumber, key: u8) -> u64 {
    (((program.bank as u64) << 16 | (program.program as u64) << 8 | key as u64) + 1) << 32
}

impl MissLog {
    /// Counts a note of `key` that `program` had no zone for. Real-time safe: a few atomic
    /// operations, bounded probing.
    pub fn record(&self, program: ProgramNumber, key: u8) {
        let id = pack(program, key);
        let start = (id >> 32).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize % MISS_SLOTS;
        for probe in 0..MISS_SLOTS {
            let slot = &self.slots[(start + probe) % MISS_SLOTS];
            let current = slot.load(Ordering::Relaxed);
            if current & !0xFFFF_FFFF == id {
                slot.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if current == 0 {
                match slot.compare_exchange(0, id | 1, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return,
                    Err(now) if now & !0xFFFF_FFFF == id => {
                        slot.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => continue,
                }
            }
        }
        self.unrecorded.fetch_add(1, Ordering::Relaxed);
    }

    /// Every (program, key) with missed notes, by program then key.
    pub fn missed(&self) -> Vec<Missed> {
        let mut out: Vec<Missed> = self
            .slots
            .iter()
            .map(|s| s.load(Ordering::Relaxed))
            .filter(|&v| v != 0)
            .map(|v| {
                let id = (v >> 32) - 1;
                Missed {
                    program: ProgramNumber { bank: (id >> 16) as u16, program: (id >> 8) as u8 },
                    key: id as u8,
                    count: v as u32,
                }
            })
            .collect();
        out.sort_by_key(|m| (m.program, m.key));
        out
    }

    /// Missed notes the table had no room to record by key.
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded.load(Ordering::Relaxed)
    }

    /// One line per program with missed notes, naming the instrument `bank` has there and
    /// the keys its zones cover; `None` when every note found a zone.
    pub fn report(&self, bank: Option<&Bank>) -> Vec<String> {
        let missed = self.missed();
        let mut lines = Vec::new();
        let mut i = 0;
        while i < missed.len() {
            let program = missed[i].program;
            let group: Vec<&Missed> = missed[i..].iter().take_while(|m| m.program == program).collect();
            i += group.len();
            let count: u64 = group.iter().map(|m| m.count as u64).sum();
            let (low, high) = (group[0].key, group[group.len() - 1].key);
            let keys = if low == high { note_name(low) } else { format!("{}–{}", note_name(low), note_name(high)) };
            let instrument = bank.and_then(|b| b.resolve(program));
            let name = instrument.map_or_else(
                || format!("bank {} program {}", program.bank, program.program),
                |i| format!("`{}`", i.name),
            );
            let covers = instrument
                .and_then(|i| {
                    let keys: Vec<_> = i.regions().filter(|r| r.trigger == Trigger::Attack).map(|r| r.keys).collect();
                    let low = keys.iter().map(|k| k.low).min()?;
                    let high = keys.iter().map(|k| k.high).max()?;
                    Some(format!(", which covers {}–{}", note_name(low), note_name(high)))
                })
                .unwrap_or_default();
            let notes = if count == 1 { "note" } else { "notes" };
            lines.push(format!("{count} {notes} ({keys}) had no zone in {name}{covers}"));
        }
        let unrecorded = self.unrecorded();
        if unrecorded > 0 {
            lines.push(format!("{unrecorded} more notes had no zone (too many different keys to list)"));
        }
        lines
    }
}

/// `key` as a note name, C4 = 60 (`F#6`).
pub fn note_name(key: u8) -> String {
    const NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
    format!("{}{}", NAMES[key as usize % 12], key as i32 / 12 - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_program_and_key_and_reports_ranges() {
        let log = MissLog::default();
        let p = ProgramNumber { bank: 0, program: 48 };
        for _ in 0..3 {
            log.record(p, 20);
        }
        log.record(p, 100);
        log.record(ProgramNumber { bank: 128, program: 0 }, 1);
        let missed = log.missed();
        assert_eq!(missed.len(), 3);
        assert_eq!(missed[0], Missed { program: p, key: 20, count: 3 });
        let report = log.report(None);
        assert_eq!(report[0], "4 notes (G#0–E7) had no zone in bank 0 program 48");
        assert_eq!(report[1], "1 note (C#-1) had no zone in bank 128 program 0");
    }

    #[test]
    fn a_full_table_counts_what_it_cannot_list() {
        let log = MissLog::default();
        for n in 0..(MISS_SLOTS + 10) {
            log.record(ProgramNumber { bank: (n / 128) as u16, program: 0 }, (n % 128) as u8);
        }
        assert_eq!(log.missed().len(), MISS_SLOTS);
        assert_eq!(log.unrecorded(), 10);
        assert_eq!(note_name(60), "C4");
        assert_eq!(note_name(90), "F#6");
    }
}

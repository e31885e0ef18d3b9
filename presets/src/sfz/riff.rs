//! The `smpl` chunk (root key and loops) of WAV files, and of FLAC files that carry their
//! WAV chunks in `riff` application blocks (as `flac --keep-foreign-metadata` writes them).
//! symphonia decodes the audio but does not expose this chunk, so it is read here.

use crate::instrument::LoopDirection;

use super::opcodes::SampleInfo;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads what a sampler needs from a `smpl` chunk body.
fn smpl_body(body: &[u8]) -> SampleInfo {
    let unity = u32_at(body, 12).and_then(|n| u8::try_from(n).ok()).filter(|n| *n <= 127);
    let loops = u32_at(body, 28).unwrap_or(0);
    let sample_loop = (loops > 0)
        .then(|| {
            let at = 36;
            let kind = u32_at(body, at + 4)?;
            let start = u32_at(body, at + 8)?;
            let end = u32_at(body, at + 12)?;
            let direction = if kind == 1 { LoopDirection::PingPong } else { LoopDirection::Forward };
            (end > start).then_some((start as u64, end as u64, direction))
        })
        .flatten();
    SampleInfo { unity_note: unity, sample_loop }
}

/// Finds the `smpl` chunk in a run of RIFF chunks (id, little-endian size, body, pad byte).
fn find_smpl(mut chunks: &[u8]) -> Option<SampleInfo> {
    while chunks.len() >= 8 {
        let id = &chunks[..4];
        let size = u32_at(chunks, 4)? as usize;
        let body = chunks.get(8..8 + size.min(chunks.len() - 8))?;
        if id == b"smpl" {
            return Some(smpl_body(body));
        }
        let next = 8usize.checked_add(size)?.checked_add(size & 1)?;
        chunks = chunks.get(next..)?;
    }
    None
}

/// The root key and first loop recorded in `bytes` (a WAV or FLAC file), if any.
pub fn sample_info(bytes: &[u8]) -> SampleInfo {
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return find_smpl(&bytes[12..]).unwrap_or_default();
    }
    if bytes.len() >= 4 && &bytes[..4] == b"fLaC" {
        // Metadata blocks: a header byte (bit 7 = last, bits 0..7 = type) and a 24-bit size.
        let mut foreign = Vec::new();
        let mut at = 4;
        while let Some(header) = bytes.get(at..at + 4) {
            let last = header[0] & 0x80 != 0;
            let kind = header[0] & 0x7f;
            let size = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
            let Some(body) = bytes.get(at + 4..at + 4 + size) else { break };
            if kind == 2 && body.starts_with(b"riff") {
                foreign.extend_from_slice(&body[4..]);
            }
            at += 4 + size;
            if last {
                break;
            }
        }
        // The foreign blocks hold the RIFF header, then its chunks.
        let chunks = if foreign.starts_with(b"RIFF") { foreign.get(12..).unwrap_or(&[]) } else { &foreign[..] };
        return find_smpl(chunks).unwrap_or_default();
    }
    SampleInfo::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_with_smpl(unity: u32, loop_kind: u32, start: u32, end: u32) -> Vec<u8> {
        let mut smpl = vec![0u8; 36];
        smpl[12..16].copy_from_slice(&unity.to_le_bytes());
        smpl[28..32].copy_from_slice(&1u32.to_le_bytes());
        let mut l = vec![0u8; 24];
        l[4..8].copy_from_slice(&loop_kind.to_le_bytes());
        l[8..12].copy_from_slice(&start.to_le_bytes());
        l[12..16].copy_from_slice(&end.to_le_bytes());
        smpl.extend(l);
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        out.extend(b"junk\x03\0\0\0abc\0"); // odd size: padded
        out.extend(b"smpl");
        out.extend((smpl.len() as u32).to_le_bytes());
        out.extend(smpl);
        out
    }

    #[test]
    fn reads_unity_note_and_first_loop_after_a_padded_chunk() {
        let info = sample_info(&wav_with_smpl(38, 1, 100, 900));
        assert_eq!(info.unity_note, Some(38));
        assert_eq!(info.sample_loop, Some((100, 900, LoopDirection::PingPong)));
    }

    #[test]
    fn truncated_or_foreign_bytes_give_nothing() {
        let wav = wav_with_smpl(60, 0, 0, 10);
        for cut in [0, 5, 13, 30, wav.len() - 3] {
            let _ = sample_info(&wav[..cut]); // never panics
        }
        assert_eq!(sample_info(b"ID3 not a wav"), SampleInfo::default());
    }
}

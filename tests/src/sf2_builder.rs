//! Writes small, valid SoundFont 2 files for tests: samples given as 16-bit points,
//! instruments and presets as zones of raw generators. Everything the importer reads comes
//! from here, so tests can state exactly what the file says.

/// A sample: its points and header fields. Loop points are relative to the sample's start.
#[derive(Clone, Debug)]
pub struct SampleDef {
    /// Name (up to 20 bytes).
    pub name: String,
    /// The points.
    pub points: Vec<i16>,
    /// Recording rate.
    pub sample_rate_hz: u32,
    /// Key of the recorded pitch.
    pub original_pitch: u8,
    /// Pitch correction in cents.
    pub pitch_correction_cents: i8,
    /// Loop start and end (exclusive), relative to the sample's first point.
    pub loop_points: (u32, u32),
    /// 1 mono, 2 right, 4 left.
    pub sample_type: u16,
    /// The other sample of a stereo pair.
    pub link: u16,
}

impl SampleDef {
    /// A mono sample with its loop over the whole data.
    pub fn mono(name: &str, points: Vec<i16>, sample_rate_hz: u32, original_pitch: u8) -> Self {
        let len = points.len() as u32;
        Self {
            name: name.to_string(),
            points,
            sample_rate_hz,
            original_pitch,
            pitch_correction_cents: 0,
            loop_points: (0, len),
            sample_type: 1,
            link: 0,
        }
    }
}

/// A zone: generators `(operator, amount)` in file order, then the instrument (preset zones)
/// or sample (instrument zones) it plays, if any; a first zone without one is global.
#[derive(Clone, Debug, Default)]
pub struct ZoneDef {
    /// Generators before the terminal one.
    pub generators: Vec<(u16, u16)>,
    /// Instrument or sample index.
    pub target: Option<u16>,
    /// Modulator records: source, destination, amount, amount source, transform.
    pub modulators: Vec<(u16, u16, i16, u16, u16)>,
}

impl ZoneDef {
    /// A zone playing `target` with `generators`.
    pub fn to(target: u16, generators: Vec<(u16, u16)>) -> Self {
        Self { generators, target: Some(target), modulators: Vec::new() }
    }

    /// The same zone with modulator records `(source, destination, amount, amount source,
    /// transform)`.
    pub fn with_modulators(mut self, modulators: Vec<(u16, u16, i16, u16, u16)>) -> Self {
        self.modulators = modulators;
        self
    }

    /// A global zone.
    pub fn global(generators: Vec<(u16, u16)>) -> Self {
        Self { generators, target: None, modulators: Vec::new() }
    }
}

/// A generator with a signed amount.
pub fn gen(operator: u16, amount: i16) -> (u16, u16) {
    (operator, amount as u16)
}

/// A key or velocity range generator (`operator` 43 or 44).
pub fn range(operator: u16, low: u8, high: u8) -> (u16, u16) {
    (operator, low as u16 | (high as u16) << 8)
}

/// A SoundFont under construction.
#[derive(Clone, Debug, Default)]
pub struct Sf2Builder {
    /// Samples, in `shdr` order.
    pub samples: Vec<SampleDef>,
    /// Instruments: name and zones.
    pub instruments: Vec<(String, Vec<ZoneDef>)>,
    /// Presets: name, program, bank, zones.
    pub presets: Vec<(String, u16, u16, Vec<ZoneDef>)>,
}

/// Zero points written after every sample, as the spec requires.
const PAD_POINTS: usize = 46;

fn name20(name: &str) -> [u8; 20] {
    let mut out = [0u8; 20];
    for (o, b) in out.iter_mut().zip(name.bytes().take(19)) {
        *o = b;
    }
    out
}

fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 9);
    out.extend_from_slice(id);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

fn list(form: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut body = form.to_vec();
    for c in chunks {
        body.extend_from_slice(c);
    }
    chunk(b"LIST", &body)
}

/// `bags`, `gens` and `mods` chunks for a list of zone lists, plus each owner's first bag
/// index (with the terminal one).
fn hydra_zones(owners: &[&[ZoneDef]], terminal_operator: u16) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u16>) {
    let (mut bags, mut gens, mut mods, mut firsts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut bag_count = 0u16;
    let mut gen_count = 0u16;
    let mut mod_count = 0u16;
    for zones in owners {
        firsts.push(bag_count);
        for zone in *zones {
            bags.extend_from_slice(&gen_count.to_le_bytes());
            bags.extend_from_slice(&mod_count.to_le_bytes());
            bag_count += 1;
            for &(source, destination, amount, amount_source, transform) in &zone.modulators {
                for v in [source, destination, amount as u16, amount_source, transform] {
                    mods.extend_from_slice(&v.to_le_bytes());
                }
                mod_count += 1;
            }
            let terminal = zone.target.map(|t| (terminal_operator, t));
            for (op, amount) in zone.generators.iter().copied().chain(terminal) {
                gens.extend_from_slice(&op.to_le_bytes());
                gens.extend_from_slice(&amount.to_le_bytes());
                gen_count += 1;
            }
        }
    }
    firsts.push(bag_count);
    // Terminal bag and generator.
    bags.extend_from_slice(&gen_count.to_le_bytes());
    bags.extend_from_slice(&mod_count.to_le_bytes());
    gens.extend_from_slice(&[0; 4]);
    mods.extend_from_slice(&[0; 10]);
    (bags, gens, mods, firsts)
}

impl Sf2Builder {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; returns its index.
    pub fn sample(&mut self, sample: SampleDef) -> u16 {
        self.samples.push(sample);
        self.samples.len() as u16 - 1
    }

    /// Adds an instrument; returns its index.
    pub fn instrument(&mut self, name: &str, zones: Vec<ZoneDef>) -> u16 {
        self.instruments.push((name.to_string(), zones));
        self.instruments.len() as u16 - 1
    }

    /// Adds a preset.
    pub fn preset(&mut self, name: &str, bank: u16, program: u16, zones: Vec<ZoneDef>) {
        self.presets.push((name.to_string(), program, bank, zones));
    }

    /// The file's bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut smpl = Vec::new();
        let mut shdr = Vec::new();
        for s in &self.samples {
            let start = (smpl.len() / 2) as u32;
            for p in &s.points {
                smpl.extend_from_slice(&p.to_le_bytes());
            }
            let end = (smpl.len() / 2) as u32;
            smpl.extend(std::iter::repeat_n(0u8, PAD_POINTS * 2));
            shdr.extend_from_slice(&name20(&s.name));
            for v in [start, end, start + s.loop_points.0, start + s.loop_points.1, s.sample_rate_hz] {
                shdr.extend_from_slice(&v.to_le_bytes());
            }
            shdr.push(s.original_pitch);
            shdr.push(s.pitch_correction_cents as u8);
            shdr.extend_from_slice(&s.link.to_le_bytes());
            shdr.extend_from_slice(&s.sample_type.to_le_bytes());
        }
        shdr.extend_from_slice(&name20("EOS"));
        shdr.extend_from_slice(&[0; 26]);

        let inst_zones: Vec<&[ZoneDef]> = self.instruments.iter().map(|(_, z)| z.as_slice()).collect();
        let (ibag, igen, imod, inst_firsts) = hydra_zones(&inst_zones, 53);
        let mut inst = Vec::new();
        for (i, (name, _)) in self.instruments.iter().enumerate() {
            inst.extend_from_slice(&name20(name));
            inst.extend_from_slice(&inst_firsts[i].to_le_bytes());
        }
        inst.extend_from_slice(&name20("EOI"));
        inst.extend_from_slice(&inst_firsts[self.instruments.len()].to_le_bytes());

        let preset_zones: Vec<&[ZoneDef]> = self.presets.iter().map(|p| p.3.as_slice()).collect();
        let (pbag, pgen, pmod, preset_firsts) = hydra_zones(&preset_zones, 41);
        let mut phdr = Vec::new();
        let terminal = std::iter::once(("EOP".to_string(), 0u16, 0u16));
        let headers = self.presets.iter().map(|(n, p, b, _)| (n.clone(), *p, *b)).chain(terminal);
        for (i, (name, program, bank)) in headers.enumerate() {
            phdr.extend_from_slice(&name20(&name));
            phdr.extend_from_slice(&program.to_le_bytes());
            phdr.extend_from_slice(&bank.to_le_bytes());
            phdr.extend_from_slice(&preset_firsts[i].to_le_bytes());
            phdr.extend_from_slice(&[0; 12]);
        }

        let info = list(b"INFO", &[chunk(b"ifil", &[2, 0, 4, 0]), chunk(b"INAM", b"noderack test\0\0\0")]);
        let sdta = list(b"sdta", &[chunk(b"smpl", &smpl)]);
        let pdta = list(
            b"pdta",
            &[
                chunk(b"phdr", &phdr),
                chunk(b"pbag", &pbag),
                chunk(b"pmod", &pmod),
                chunk(b"pgen", &pgen),
                chunk(b"inst", &inst),
                chunk(b"ibag", &ibag),
                chunk(b"imod", &imod),
                chunk(b"igen", &igen),
                chunk(b"shdr", &shdr),
            ],
        );
        let mut body = b"sfbk".to_vec();
        body.extend(info);
        body.extend(sdta);
        body.extend(pdta);
        chunk(b"RIFF", &body)
    }
}

/// `seconds` of a sine at `hz` recorded at `rate` Hz, peak `amplitude` (0..1), as 16-bit points.
pub fn sine_points(hz: f64, rate: u32, seconds: f64, amplitude: f64) -> Vec<i16> {
    let frames = (seconds * rate as f64).round() as usize;
    (0..frames)
        .map(|i| (amplitude * 32_767.0 * (std::f64::consts::TAU * hz * i as f64 / rate as f64).sin()).round() as i16)
        .collect()
}

/// A SoundFont with a looped 440 Hz sine as program 0, a 600 Hz sine (key 74) as program 1
/// and a kit (bank 128) whose key 36 plays an 880 Hz sine (key 81), each recorded at its
/// root key.
pub fn three_sines() -> Vec<u8> {
    const KEY_RANGE: u16 = 43;
    const SAMPLE_MODES: u16 = 54;
    const SCALE_TUNING: u16 = 56;
    let mut b = Sf2Builder::new();
    let a = b.sample(SampleDef::mono("A", sine_points(440.0, 44_000, 0.5, 0.5), 44_000, 69));
    let e = b.sample(SampleDef::mono("E", sine_points(600.0, 48_000, 0.5, 0.5), 48_000, 74));
    let hi = b.sample(SampleDef::mono("Hi", sine_points(880.0, 44_000, 0.5, 0.5), 44_000, 81));
    let looped = |s| ZoneDef::to(s, vec![gen(SAMPLE_MODES, 1)]);
    let ia = b.instrument("A", vec![looped(a)]);
    let ie = b.instrument("E", vec![looped(e)]);
    let kit = b.instrument(
        "Kit",
        vec![ZoneDef::to(hi, vec![range(KEY_RANGE, 36, 36), gen(SAMPLE_MODES, 1), gen(SCALE_TUNING, 0)])],
    );
    b.preset("A", 0, 0, vec![ZoneDef::to(ia, vec![])]);
    b.preset("E", 0, 1, vec![ZoneDef::to(ie, vec![])]);
    b.preset("Kit", 128, 0, vec![ZoneDef::to(kit, vec![])]);
    b.build()
}

//! `loadPreset` names checked against a preset library: found as a load would find them
//! (`LibraryClient::find`), else refused with the closest names the library has.

use crate::library::LibraryClient;

use super::song::PresetCheck;

/// How many names a refusal suggests.
const SUGGESTIONS: usize = 3;

/// A library's presets, for checking songs.
pub struct LibraryPresets<'c> {
    client: &'c LibraryClient,
    /// Every preset as `"Library/Name"`.
    names: Vec<String>,
}

impl<'c> LibraryPresets<'c> {
    /// Reads the indexes of `client`'s library (fetched or from its cache).
    pub fn new(client: &'c LibraryClient) -> Result<Self, crate::library::LibraryError> {
        let mut names = Vec::new();
        for library in client.libraries()? {
            for preset in client.presets(&library)? {
                names.push(format!("{}/{}", library.name.replace(' ', "_"), preset.name));
            }
        }
        Ok(Self { client, names })
    }
}

impl PresetCheck for LibraryPresets<'_> {
    fn check(&self, name: &str) -> Result<(), Vec<String>> {
        if self.client.find(name).is_ok() {
            return Ok(());
        }
        // Ranked by shared letter pairs (Sørensen–Dice), which finds "Electric Bass (finger)"
        // for "Fingered Bass" where edit distance does not.
        // The preset part is compared, not the library part all names of a library share.
        let preset_part = |n: &str| n.rsplit_once('/').map_or(n, |(_, p)| p).to_lowercase();
        let query = preset_part(name);
        let mut ranked: Vec<(f64, &String)> =
            self.names.iter().map(|n| (strsim::sorensen_dice(&query, &preset_part(n)), n)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let suggestions: Vec<String> = ranked.iter().take(SUGGESTIONS).map(|(_, n)| format!("\"{n}\"")).collect();
        Err(suggestions)
    }
}

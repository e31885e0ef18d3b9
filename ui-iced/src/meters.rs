//! Level meters, one per bus, from −60 dB to 0 dBFS: the RMS level (how loud it sounds) as a
//! solid bar, the peak (how near it comes to clipping) as a paler bar beyond it ending in a
//! tick; green, then yellow above −12 dB and red above −3 dB, with the bus's name and peak
//! written beside it. Fed by the server's `meters` messages (about 30 a second).

use iced::widget::canvas::{self, Frame, Geometry, Path};
use iced::widget::{canvas as canvas_widget, row, text};
use iced::{mouse, Color, Element, Length, Point, Rectangle, Renderer, Size, Theme};

use crate::graph_view::PALETTE;

/// The lowest level shown.
const FLOOR_DB: f64 = -60.0;

/// One bus's levels in dBFS (`None`: silence).
#[derive(Clone, Debug, PartialEq)]
pub struct BusLevel {
    /// The bus's name.
    pub bus: String,
    /// Its peak (falling back at 20 dB/s).
    pub peak_db: Option<f64>,
    /// Its RMS level (a 300 ms average).
    pub rms_db: Option<f64>,
}

/// One bus's bar.
struct Meter {
    level: BusLevel,
}

/// The colour of a level: green, yellow above −12 dB, red above −3 dB.
fn colour(db: f64) -> Color {
    if db > -3.0 {
        Color::from_rgb8(0xe0, 0x4f, 0x4f)
    } else if db > -12.0 {
        Color::from_rgb8(0xe0, 0xc0, 0x4f)
    } else {
        PALETTE.audio
    }
}

/// The share of the bar's width a level fills.
fn share(db: Option<f64>) -> f32 {
    db.map_or(0.0, |db| ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0) as f32)
}

impl<Message> canvas::Program<Message> for Meter {
    type State = ();

    fn draw(&self, _: &(), renderer: &Renderer, _: &Theme, bounds: Rectangle, _: mouse::Cursor) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        frame.fill(&Path::rectangle(Point::ORIGIN, bounds.size()), PALETTE.node);
        let (rms, peak) = (share(self.level.rms_db), share(self.level.peak_db));
        if let Some(db) = self.level.peak_db {
            let pale = Color { a: 0.35, ..colour(db) };
            frame.fill(&Path::rectangle(Point::ORIGIN, Size::new(peak * bounds.width, bounds.height)), pale);
            let tick = (peak * bounds.width - 2.0).max(0.0);
            frame.fill(&Path::rectangle(Point::new(tick, 0.0), Size::new(2.0, bounds.height)), colour(db));
        }
        if let Some(db) = self.level.rms_db {
            frame.fill(&Path::rectangle(Point::ORIGIN, Size::new(rms * bounds.width, bounds.height)), colour(db));
        }
        vec![frame.into_geometry()]
    }
}

/// The meters of `buses`, side by side.
pub fn meters<Message: 'static>(buses: &[BusLevel]) -> Element<'_, Message> {
    let mut list = row![].spacing(12).align_y(iced::Center);
    for level in buses {
        let peak = level.peak_db.map_or("–".to_string(), |db| format!("{db:.0}"));
        list = list.push(
            row![
                text(&level.bus).size(12).color(PALETTE.text),
                canvas_widget(Meter { level: level.clone() }).width(Length::Fixed(80.0)).height(Length::Fixed(8.0)),
                text(peak).size(12).color(PALETTE.text).width(Length::Fixed(26.0)),
            ]
            .spacing(4)
            .align_y(iced::Center),
        );
    }
    list.into()
}

/// Each bus's levels in a server status (its `bus_peaks_db` and `bus_rms_db`), in the order
/// the peaks list them.
pub fn bus_levels(status: &serde_json::Value) -> Vec<BusLevel> {
    let Some(peaks) = status["bus_peaks_db"].as_object() else { return Vec::new() };
    peaks
        .iter()
        .map(|(bus, peak)| BusLevel {
            bus: bus.clone(),
            peak_db: peak.as_f64(),
            rms_db: status["bus_rms_db"][bus].as_f64(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_gives_each_bus_its_peak_and_rms() {
        let status = serde_json::json!({
            "bus_peaks_db": { "main": -6.0, "drums": null },
            "bus_rms_db": { "main": -9.5, "drums": null },
        });
        let levels = bus_levels(&status);
        let main = levels.iter().find(|l| l.bus == "main").unwrap();
        assert_eq!((main.peak_db, main.rms_db), (Some(-6.0), Some(-9.5)));
        let drums = levels.iter().find(|l| l.bus == "drums").unwrap();
        assert_eq!((drums.peak_db, drums.rms_db), (None, None));
        assert!(bus_levels(&serde_json::json!({})).is_empty(), "an older server sends no levels");
    }

    #[test]
    fn levels_fill_their_share_of_the_bar_from_minus_60_db() {
        assert_eq!(share(None), 0.0);
        assert_eq!(share(Some(-60.0)), 0.0);
        assert_eq!(share(Some(-30.0)), 0.5);
        assert_eq!(share(Some(6.0)), 1.0);
    }
}

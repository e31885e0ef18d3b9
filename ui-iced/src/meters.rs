//! Peak meters, one per bus: a bar from −60 dB to 0 dBFS, green, then yellow above −12 dB
//! and red above −3 dB, with the bus's name and level written beside it. Fed by the server's
//! `meters` messages (about 30 a second).

use iced::widget::canvas::{self, Frame, Geometry, Path};
use iced::widget::{canvas as canvas_widget, row, text};
use iced::{mouse, Color, Element, Length, Point, Rectangle, Renderer, Size, Theme};

use crate::graph_view::PALETTE;

/// The lowest level shown.
const FLOOR_DB: f64 = -60.0;

/// One bus's bar at `db` (`None`: silence).
struct Meter {
    db: Option<f64>,
}

impl<Message> canvas::Program<Message> for Meter {
    type State = ();

    fn draw(&self, _: &(), renderer: &Renderer, _: &Theme, bounds: Rectangle, _: mouse::Cursor) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        frame.fill(&Path::rectangle(Point::ORIGIN, bounds.size()), PALETTE.node);
        if let Some(db) = self.db {
            let share = ((db - FLOOR_DB) / -FLOOR_DB).clamp(0.0, 1.0) as f32;
            let colour = if db > -3.0 {
                Color::from_rgb8(0xe0, 0x4f, 0x4f)
            } else if db > -12.0 {
                Color::from_rgb8(0xe0, 0xc0, 0x4f)
            } else {
                PALETTE.audio
            };
            frame.fill(&Path::rectangle(Point::ORIGIN, Size::new(share * bounds.width, bounds.height)), colour);
        }
        vec![frame.into_geometry()]
    }
}

/// The meters of `buses` (name, peak dB), side by side.
pub fn meters<Message: 'static>(buses: &[(String, Option<f64>)]) -> Element<'_, Message> {
    let mut list = row![].spacing(12).align_y(iced::Center);
    for (bus, db) in buses {
        let level = db.map_or("–".to_string(), |db| format!("{db:.0}"));
        list = list.push(
            row![
                text(bus).size(12).color(PALETTE.text),
                canvas_widget(Meter { db: *db }).width(Length::Fixed(80.0)).height(Length::Fixed(8.0)),
                text(level).size(12).color(PALETTE.text).width(Length::Fixed(26.0)),
            ]
            .spacing(4)
            .align_y(iced::Center),
        );
    }
    list.into()
}

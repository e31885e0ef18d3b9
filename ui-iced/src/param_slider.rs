//! One parameter as a horizontal bar: drag it sideways to change the value (relative to where
//! the drag started, so grabbing never jumps; the bar's width is the whole range, on a
//! logarithmic scale for frequencies), hold Shift for fine adjustment (a tenth of the speed),
//! double-click to return to the default. The value and its unit are written on the bar.

use std::time::{Duration, Instant};

use iced::widget::canvas::{self, Action, Event, Frame, Geometry, Path, Text};
use iced::{keyboard, mouse, Color, Point, Rectangle, Renderer, Size, Theme};

use crate::graph_view::{FONT, PALETTE};
use crate::kinds::{ParamInfo, ParamUnit};

/// Two presses closer than this are a double-click.
const DOUBLE_CLICK: Duration = Duration::from_millis(400);
/// How much slower a drag with Shift held moves the value.
const FINE: f64 = 0.1;
/// The bar's height, in pixels.
pub const HEIGHT: f32 = 22.0;

/// What a person did to the bar.
#[derive(Clone, Debug, PartialEq)]
pub enum SliderMessage {
    /// Dragged it to this value (the drag goes on).
    Drag(f64),
    /// Let go after dragging.
    Released,
    /// Double-clicked it: back to the default.
    Reset,
}

/// The bar of parameter `info` at `value`.
pub struct ParamSlider<'a> {
    /// The parameter.
    pub info: &'a ParamInfo,
    /// Its value now.
    pub value: f64,
}

/// A drag under way and what double-click and fine adjustment need to know.
#[derive(Default)]
pub struct SliderState {
    /// Where the drag started: the pointer's x and the value's place along the bar (0–1).
    drag: Option<(f32, f64)>,
    /// Whether the pointer has moved the value since the press.
    moved: bool,
    /// When the last press was.
    last_press: Option<Instant>,
    /// The keyboard's modifiers (Shift for fine adjustment).
    modifiers: keyboard::Modifiers,
}

impl canvas::Program<SliderMessage> for ParamSlider<'_> {
    type State = SliderState;

    fn update(
        &self,
        state: &mut SliderState,
        event: &Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<Action<SliderMessage>> {
        match event {
            Event::Keyboard(keyboard::Event::ModifiersChanged(modifiers)) => {
                state.modifiers = *modifiers;
                None
            }
            Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => {
                let at = cursor.position_in(bounds)?;
                let now = Instant::now();
                let double = state.last_press.is_some_and(|last| now.duration_since(last) < DOUBLE_CLICK);
                state.last_press = Some(now);
                if double {
                    state.drag = None;
                    state.last_press = None;
                    return Some(Action::publish(SliderMessage::Reset).and_capture());
                }
                state.drag = Some((at.x, self.info.to_unit(self.value)));
                state.moved = false;
                Some(Action::capture())
            }
            Event::Mouse(mouse::Event::CursorMoved { position }) => {
                let (start_x, start_unit) = state.drag?;
                let speed = if state.modifiers.shift() { FINE } else { 1.0 };
                let moved = f64::from(position.x - bounds.x - start_x) / f64::from(bounds.width.max(1.0));
                let value = self.info.from_unit(start_unit + moved * speed);
                if value == self.value {
                    return Some(Action::capture());
                }
                state.moved = true;
                Some(Action::publish(SliderMessage::Drag(value)).and_capture())
            }
            Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)) => {
                state.drag.take()?;
                let moved = std::mem::take(&mut state.moved);
                Some(if moved { Action::publish(SliderMessage::Released).and_capture() } else { Action::capture() })
            }
            _ => None,
        }
    }

    fn draw(
        &self,
        state: &SliderState,
        renderer: &Renderer,
        _theme: &Theme,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let size = bounds.size();
        let hot = state.drag.is_some() || cursor.is_over(bounds);
        frame.fill(&Path::rounded_rectangle(Point::ORIGIN, size, 4.0.into()), PALETTE.node);
        let at = |value: f64| (self.info.to_unit(value) as f32 * size.width).clamp(0.0, size.width);
        // A pan fills from the centre; everything else from its lowest value.
        let from = if self.info.unit == ParamUnit::Pan { at(0.0) } else { 0.0 };
        let to = at(self.value);
        let (left, right) = (from.min(to), from.max(to));
        let accent = if hot { PALETTE.selected } else { Color { a: 0.75, ..PALETTE.audio } };
        frame.fill(
            &Path::rounded_rectangle(Point::new(left, 0.0), Size::new(right - left, size.height), 4.0.into()),
            accent,
        );
        frame.fill_text(Text {
            content: self.info.format(self.value),
            position: Point::new(size.width / 2.0, size.height / 2.0),
            color: PALETTE.text,
            size: 13.0.into(),
            font: FONT,
            align_x: iced::Center.into(),
            align_y: iced::Center.into(),
            ..Text::default()
        });
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(&self, state: &SliderState, bounds: Rectangle, cursor: mouse::Cursor) -> mouse::Interaction {
        if state.drag.is_some() || cursor.is_over(bounds) {
            mouse::Interaction::ResizingHorizontally
        } else {
            mouse::Interaction::default()
        }
    }
}

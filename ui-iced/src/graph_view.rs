//! The graph view: nodes as boxes with typed ports (inputs left, outputs right; audio, events
//! and control in distinct colours), cables as curves in the colour of what they carry. Drag a
//! node to move it, drag from a port to another to connect them (a port that cannot take the
//! cable is crossed out while dragging), drag the background to pan, scroll to zoom.

use iced::mouse;
use iced::widget::canvas::{self, Action, Event, Frame, Geometry, Path, Stroke, Text};
use iced::{Color, Font, Point, Rectangle, Renderer, Size, Theme, Vector};

use crate::geometry::{
    node_at, node_height, port_at, port_position, Camera, PortRef, Side, Xy, NODE_WIDTH, PORT_RADIUS,
};
use crate::model::{can_connect, GraphModel, PortKind};

/// Below this zoom, labels (11 px text at 1:1) would be under 5 px tall: unreadable, so not drawn.
pub const MIN_LABEL_ZOOM: f32 = 0.45;

/// The font every label is drawn in: embedded, so the view looks the same on every machine.
pub const FONT: Font = Font::with_name("Fira Sans");

/// What the graph view asks the application to do.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphMessage {
    /// A node was picked (or nothing, on the background).
    Select(Option<usize>),
    /// A node is being dragged to this position (graph units).
    Drag(usize, Xy),
    /// A drag ended: save where the node is.
    Dropped(usize),
    /// Connect output `from` to input `to`.
    Connect(PortRef, PortRef),
    /// The camera moved.
    Camera(Camera),
}

/// Colours of the view.
pub struct Palette {
    /// Background.
    pub background: Color,
    /// Node body.
    pub node: Color,
    /// A selected node's outline.
    pub selected: Color,
    /// Labels.
    pub text: Color,
    /// Audio ports and cables.
    pub audio: Color,
    /// Event ports and cables.
    pub events: Color,
    /// Control ports and cables.
    pub control: Color,
    /// A port that refuses the cable being dragged.
    pub refused: Color,
}

/// The view's colours (dark, as audio tools are).
pub const PALETTE: Palette = Palette {
    background: Color::from_rgb8(0x1c, 0x1e, 0x24),
    node: Color::from_rgb8(0x2e, 0x32, 0x3c),
    selected: Color::from_rgb8(0xf0, 0xc0, 0x40),
    text: Color::from_rgb8(0xe6, 0xe6, 0xe6),
    audio: Color::from_rgb8(0x4c, 0xc2, 0x7a),
    events: Color::from_rgb8(0xf0, 0x8c, 0x3c),
    control: Color::from_rgb8(0x5a, 0x9c, 0xf0),
    refused: Color::from_rgb8(0xd0, 0x40, 0x40),
};

fn kind_colour(kind: PortKind) -> Color {
    match kind {
        PortKind::Audio(_) => PALETTE.audio,
        PortKind::Events => PALETTE.events,
        PortKind::Control => PALETTE.control,
    }
}

/// The view of one graph, as the application holds it.
pub struct GraphView<'a> {
    /// The graph.
    pub model: &'a GraphModel,
    /// Where the camera is.
    pub camera: Camera,
    /// The selected node.
    pub selected: Option<usize>,
}

/// What a drag is doing.
#[derive(Default, Debug)]
pub enum Drag {
    /// Nothing.
    #[default]
    None,
    /// Moving a node, grabbed at this offset from its corner (graph units).
    Node(usize, Xy),
    /// Drawing a cable from a port, the pointer at this screen point.
    Cable(PortRef, Xy),
    /// Panning, the pointer last at this screen point.
    Pan(Xy),
}

impl canvas::Program<GraphMessage> for GraphView<'_> {
    type State = Drag;

    fn update(
        &self,
        drag: &mut Drag,
        event: &Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<Action<GraphMessage>> {
        let at = cursor.position_in(bounds).map(|p| [p.x, p.y]);
        match event {
            Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => {
                let screen = at?;
                let graph = self.camera.to_graph(screen);
                if let Some(port) = port_at(self.model, graph) {
                    *drag = Drag::Cable(port, screen);
                    return Some(Action::request_redraw().and_capture());
                }
                if let Some(node) = node_at(self.model, graph) {
                    let [x, y] = self.model.nodes[node].position;
                    *drag = Drag::Node(node, [graph[0] - x, graph[1] - y]);
                    return Some(Action::publish(GraphMessage::Select(Some(node))).and_capture());
                }
                *drag = Drag::Pan(screen);
                Some(Action::publish(GraphMessage::Select(None)).and_capture())
            }
            Event::Mouse(mouse::Event::CursorMoved { .. }) => {
                let screen = at?;
                match *drag {
                    Drag::None => None,
                    Drag::Node(node, grab) => {
                        let graph = self.camera.to_graph(screen);
                        let position = [graph[0] - grab[0], graph[1] - grab[1]];
                        Some(Action::publish(GraphMessage::Drag(node, position)).and_capture())
                    }
                    Drag::Cable(port, _) => {
                        *drag = Drag::Cable(port, screen);
                        Some(Action::request_redraw().and_capture())
                    }
                    Drag::Pan(last) => {
                        *drag = Drag::Pan(screen);
                        let mut camera = self.camera;
                        camera.offset =
                            [camera.offset[0] + screen[0] - last[0], camera.offset[1] + screen[1] - last[1]];
                        Some(Action::publish(GraphMessage::Camera(camera)).and_capture())
                    }
                }
            }
            Event::Mouse(mouse::Event::ButtonReleased(mouse::Button::Left)) => match std::mem::take(drag) {
                Drag::Node(node, _) => Some(Action::publish(GraphMessage::Dropped(node)).and_capture()),
                Drag::Cable(from, _) => {
                    let target = at.and_then(|screen| port_at(self.model, self.camera.to_graph(screen)));
                    let action = match target.and_then(|to| self.cable_between(from, to)) {
                        Some((output, input)) => Action::publish(GraphMessage::Connect(output, input)),
                        None => Action::request_redraw(),
                    };
                    Some(action.and_capture())
                }
                Drag::Pan(_) | Drag::None => None,
            },
            Event::Mouse(mouse::Event::WheelScrolled { delta }) => {
                let screen = at?;
                let steps = match delta {
                    mouse::ScrollDelta::Lines { y, .. } => *y,
                    mouse::ScrollDelta::Pixels { y, .. } => y / 60.0,
                };
                let camera = self.camera.zoomed(1.1f32.powf(steps), screen);
                Some(Action::publish(GraphMessage::Camera(camera)).and_capture())
            }
            _ => None,
        }
    }

    fn draw(
        &self,
        drag: &Drag,
        renderer: &Renderer,
        _theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        self.draw_into(&mut frame, drag);
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(&self, drag: &Drag, bounds: Rectangle, cursor: mouse::Cursor) -> mouse::Interaction {
        match drag {
            Drag::Node(..) | Drag::Pan(_) => mouse::Interaction::Grabbing,
            Drag::Cable(..) => mouse::Interaction::Crosshair,
            Drag::None => match cursor.position_in(bounds) {
                Some(p) if port_at(self.model, self.camera.to_graph([p.x, p.y])).is_some() => {
                    mouse::Interaction::Crosshair
                }
                Some(p) if node_at(self.model, self.camera.to_graph([p.x, p.y])).is_some() => mouse::Interaction::Grab,
                _ => mouse::Interaction::default(),
            },
        }
    }
}

impl GraphView<'_> {
    /// The (output, input) pair a cable dragged from `a` and dropped on `b` connects, if the
    /// two may be connected.
    pub fn cable_between(&self, a: PortRef, b: PortRef) -> Option<(PortRef, PortRef)> {
        let (output, input) = match (a.side, b.side) {
            (Side::Output, Side::Input) => (a, b),
            (Side::Input, Side::Output) => (b, a),
            _ => return None,
        };
        let from = &self.model.nodes[output.node].outputs[output.port];
        let to = &self.model.nodes[input.node].inputs[input.port];
        (output.node != input.node && can_connect(from, to)).then_some((output, input))
    }

    fn screen(&self, graph: Xy) -> Point {
        let [x, y] = self.camera.to_screen(graph);
        Point::new(x, y)
    }

    /// Draws the whole view into `frame`. What lies outside the frame is skipped, and labels too
    /// small to read (zoomed far out) are not drawn: a frame costs what is visible.
    pub fn draw_into(&self, frame: &mut Frame, drag: &Drag) {
        frame.fill_rectangle(Point::ORIGIN, frame.size(), PALETTE.background);
        let zoom = self.camera.zoom;
        let view = Rectangle::new(Point::ORIGIN, frame.size());
        let labels = zoom >= MIN_LABEL_ZOOM;
        for cable in &self.model.cables {
            let from = &self.model.nodes[cable.from];
            let to = &self.model.nodes[cable.to];
            let kind = from.outputs[cable.from_port].kind;
            let a = self.screen(port_position(from, Side::Output, cable.from_port));
            let b = self.screen(port_position(to, Side::Input, cable.to_port));
            // The curve stays within its end points' box, widened by its horizontal pull.
            let pull = ((b.x - a.x).abs() * 0.5).max(40.0 * zoom);
            let reach = Rectangle::new(
                Point::new(a.x.min(b.x) - pull, a.y.min(b.y)),
                Size::new((a.x - b.x).abs() + 2.0 * pull, (a.y - b.y).abs().max(1.0)),
            );
            if reach.intersects(&view) {
                self.cable(frame, a, b, kind_colour(kind));
            }
        }
        for (n, node) in self.model.nodes.iter().enumerate() {
            let corner = self.screen(node.position);
            let size = Size::new(NODE_WIDTH * zoom, node_height(node) * zoom);
            // Port dots and labels reach a little beyond the box.
            let reach = Rectangle::new(
                corner - Vector::new(60.0 * zoom, 0.0),
                Size::new(size.width + 120.0 * zoom, size.height),
            );
            if !reach.intersects(&view) {
                continue;
            }
            let body = Path::rounded_rectangle(corner, size, (6.0 * zoom).into());
            frame.fill(&body, PALETTE.node);
            let outline = if self.selected == Some(n) { PALETTE.selected } else { Color::from_rgb8(0x48, 0x4e, 0x5a) };
            frame.stroke(
                &body,
                Stroke::default().with_color(outline).with_width(if self.selected == Some(n) { 2.0 } else { 1.0 }),
            );
            if labels {
                self.label(frame, &node.id, corner + Vector::new(10.0 * zoom, 5.0 * zoom), 14.0, PALETTE.text, false);
                let dim = Color { a: 0.6, ..PALETTE.text };
                self.label(frame, &node.kind, corner + Vector::new(10.0 * zoom, 21.0 * zoom), 11.0, dim, false);
            }
            for (side, ports) in [(Side::Input, &node.inputs), (Side::Output, &node.outputs)] {
                for (p, port) in ports.iter().enumerate() {
                    let centre = self.screen(port_position(node, side, p));
                    let refused = match drag {
                        Drag::Cable(from, _) => {
                            let here = PortRef { node: n, side, port: p };
                            *from != here && self.cable_between(*from, here).is_none()
                        }
                        _ => false,
                    };
                    let colour = if refused { PALETTE.refused } else { kind_colour(port.kind) };
                    frame.fill(&Path::circle(centre, PORT_RADIUS * zoom), colour);
                    if refused {
                        let r = PORT_RADIUS * zoom * 1.6;
                        let cross = Path::new(|b| {
                            b.move_to(centre + Vector::new(-r, -r));
                            b.line_to(centre + Vector::new(r, r));
                            b.move_to(centre + Vector::new(-r, r));
                            b.line_to(centre + Vector::new(r, -r));
                        });
                        frame.stroke(&cross, Stroke::default().with_color(PALETTE.refused).with_width(2.0));
                    }
                    let (offset, right) = match side {
                        Side::Input => (Vector::new(9.0 * zoom, -7.0 * zoom), false),
                        Side::Output => (Vector::new(-9.0 * zoom, -7.0 * zoom), true),
                    };
                    if labels {
                        self.label(frame, &port.name, centre + offset, 11.0, PALETTE.text, right);
                    }
                }
            }
        }
        if let Drag::Cable(from, pointer) = drag {
            let node = &self.model.nodes[from.node];
            let start = self.screen(port_position(node, from.side, from.port));
            let end = Point::new(pointer[0], pointer[1]);
            let kind = match from.side {
                Side::Output => node.outputs[from.port].kind,
                Side::Input => node.inputs[from.port].kind,
            };
            let (a, b) = if from.side == Side::Output { (start, end) } else { (end, start) };
            self.cable(frame, a, b, kind_colour(kind));
        }
    }

    /// A cable from output point `a` to input point `b`: a curve leaving and entering
    /// horizontally.
    fn cable(&self, frame: &mut Frame, a: Point, b: Point, colour: Color) {
        let pull = ((b.x - a.x).abs() * 0.5).max(40.0 * self.camera.zoom);
        let path = Path::new(|p| {
            p.move_to(a);
            p.bezier_curve_to(a + Vector::new(pull, 0.0), b - Vector::new(pull, 0.0), b);
        });
        frame.stroke(&path, Stroke::default().with_color(colour).with_width(2.0 * self.camera.zoom.max(0.5)));
    }

    fn label(&self, frame: &mut Frame, text: &str, at: Point, size: f32, colour: Color, right_aligned: bool) {
        frame.fill_text(Text {
            content: text.to_string(),
            position: at,
            color: colour,
            size: (size * self.camera.zoom).into(),
            font: FONT,
            align_x: if right_aligned {
                iced::widget::text::Alignment::Right
            } else {
                iced::widget::text::Alignment::Left
            },
            ..Text::default()
        });
    }
}

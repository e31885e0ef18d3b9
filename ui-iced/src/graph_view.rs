//! The graph view: nodes as boxes with typed ports (inputs left, outputs right; audio, events
//! and control in distinct colours), cables as curves in the colour of what they carry. Drag a
//! node to move it, drag from a port to another to connect them (a port that cannot take the
//! cable is crossed out while dragging), drag the background to pan, scroll to zoom.

use iced::advanced::layout::{self, Layout};
use iced::advanced::renderer;
use iced::advanced::widget::{Tree, Widget};
use iced::widget::canvas::{self, path, Action, Event, Frame, Geometry, Stroke};
use iced::widget::stack;
use iced::{keyboard, mouse};
use iced::{Color, Font, Point, Rectangle, Renderer, Size, Theme, Vector};
use iced::{Element, Fill, Length};

use crate::geometry::{
    node_at, node_height, nodes_in, port_at, port_position, Camera, PortRef, Side, Xy, NODE_WIDTH, PORT_RADIUS,
};
use crate::model::{can_connect, GraphModel, PortKind};

/// Below this zoom, labels (11 px text at 1:1) would be under 5 px tall: unreadable, so not drawn.
pub const MIN_LABEL_ZOOM: f32 = 0.45;

/// The font every label is drawn in: embedded, so the view looks the same on every machine.
pub const FONT: Font = Font::with_name("Fira Sans");

/// What the graph view asks the application to do.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphMessage {
    /// A node was picked (or nothing, on the background): the selection is that node alone.
    Select(Option<usize>),
    /// Shift-click on a node: in or out of the selection.
    Toggle(usize),
    /// Shift-drag on the background drew a box around these nodes: added to the selection.
    SelectIn(Vec<usize>),
    /// A node is being dragged to this position (graph units); the rest of the selection, if
    /// it is in one, moves with it.
    Drag(usize, Xy),
    /// A drag ended: save where the node (and the rest of its selection) is.
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
    /// The selected nodes.
    pub selected: Vec<usize>,
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
    /// Drawing a selection box from the first screen point to the second.
    Box(Xy, Xy),
}

/// The canvas's own state: the drag under way, and whether Shift is held.
#[derive(Default, Debug)]
pub struct ViewState {
    /// The drag under way.
    pub drag: Drag,
    /// Shift is held (shift-click toggles a node, shift-drag draws a selection box).
    pub shift: bool,
}

impl canvas::Program<GraphMessage> for GraphView<'_> {
    type State = ViewState;

    fn update(
        &self,
        state: &mut ViewState,
        event: &Event,
        bounds: Rectangle,
        cursor: mouse::Cursor,
    ) -> Option<Action<GraphMessage>> {
        let at = cursor.position_in(bounds).map(|p| [p.x, p.y]);
        let drag = &mut state.drag;
        match event {
            Event::Keyboard(keyboard::Event::ModifiersChanged(modifiers)) => {
                state.shift = modifiers.shift();
                None
            }
            Event::Mouse(mouse::Event::ButtonPressed(mouse::Button::Left)) => {
                let screen = at?;
                let graph = self.camera.to_graph(screen);
                if let Some(port) = port_at(self.model, graph) {
                    *drag = Drag::Cable(port, screen);
                    return Some(Action::request_redraw().and_capture());
                }
                if let Some(node) = node_at(self.model, graph) {
                    if state.shift {
                        return Some(Action::publish(GraphMessage::Toggle(node)).and_capture());
                    }
                    let [x, y] = self.model.nodes[node].position;
                    *drag = Drag::Node(node, [graph[0] - x, graph[1] - y]);
                    // Grabbing a node of the selection moves the whole selection.
                    if self.selected.contains(&node) {
                        return Some(Action::capture());
                    }
                    return Some(Action::publish(GraphMessage::Select(Some(node))).and_capture());
                }
                if state.shift {
                    *drag = Drag::Box(screen, screen);
                    return Some(Action::request_redraw().and_capture());
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
                    Drag::Box(start, _) => {
                        *drag = Drag::Box(start, screen);
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
                Drag::Box(start, end) => {
                    let (a, b) = (self.camera.to_graph(start), self.camera.to_graph(end));
                    let picked =
                        nodes_in(self.model, [a[0].min(b[0]), a[1].min(b[1])], [a[0].max(b[0]), a[1].max(b[1])]);
                    Some(Action::publish(GraphMessage::SelectIn(picked)).and_capture())
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
        state: &ViewState,
        renderer: &Renderer,
        _theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        self.draw_into(&mut frame, &state.drag);
        vec![frame.into_geometry()]
    }

    fn mouse_interaction(&self, state: &ViewState, bounds: Rectangle, cursor: mouse::Cursor) -> mouse::Interaction {
        match &state.drag {
            Drag::Node(..) | Drag::Pan(_) => mouse::Interaction::Grabbing,
            Drag::Cable(..) | Drag::Box(..) => mouse::Interaction::Crosshair,
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
        // Zoomed out, labels are too small to read and a node's rounded corners and outline
        // are a pixel or two: plain boxes, straight-segment cables and square port dots draw
        // the same picture for far less rasterising.
        let detailed = zoom >= MIN_LABEL_ZOOM;
        // Shapes are gathered into one path per colour and drawn at the end: tiny-skia's cost
        // per path (pipeline set-up, a pass over the clip) then falls once, not per shape.
        let mut shapes = Shapes::default();
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
                shapes.cable(kind_colour(kind), a, b, pull, detailed);
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
            let selected = self.selected.contains(&n);
            shapes.node(corner, size, 6.0 * zoom, detailed, selected);
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
                    shapes.dot(colour, centre, PORT_RADIUS * zoom, detailed);
                    if refused {
                        let r = PORT_RADIUS * zoom * 1.6;
                        shapes.cross(centre, r);
                    }
                }
            }
        }
        shapes.draw(frame, zoom);
        if let Drag::Box(a, b) = drag {
            let corner = Point::new(a[0].min(b[0]), a[1].min(b[1]));
            let size = Size::new((a[0] - b[0]).abs(), (a[1] - b[1]).abs());
            frame.fill_rectangle(corner, size, Color { a: 0.12, ..PALETTE.selected });
            frame.stroke(
                &canvas::Path::rectangle(corner, size),
                Stroke::default().with_color(PALETTE.selected).with_width(1.0),
            );
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
            let mut drawn = Shapes::default();
            drawn.cable(kind_colour(kind), a, b, ((b.x - a.x).abs() * 0.5).max(40.0 * zoom), true);
            drawn.draw(frame, zoom);
        }
    }

    /// The labels to write over the view `size` big (node ids and kinds, port names), where
    /// they are readable and in view: drawn by [`Labels`], a widget over the canvas, because
    /// text written on a canvas costs the software renderer a frame-sized clip mask per label.
    pub fn labels(&self, size: Size) -> Vec<Label> {
        let zoom = self.camera.zoom;
        if zoom < MIN_LABEL_ZOOM {
            return Vec::new();
        }
        let view = Rectangle::new(Point::ORIGIN, size);
        let mut labels = Vec::new();
        let dim = Color { a: 0.6, ..PALETTE.text };
        for node in &self.model.nodes {
            let corner = self.screen(node.position);
            let reach = Rectangle::new(
                corner - Vector::new(60.0 * zoom, 0.0),
                Size::new((NODE_WIDTH + 120.0) * zoom, node_height(node) * zoom),
            );
            if !reach.intersects(&view) {
                continue;
            }
            let label = |text: &str, at: Point, size: f32, colour, right| Label {
                text: text.to_string(),
                at,
                size: size * zoom,
                colour,
                right,
            };
            labels.push(label(&node.id, corner + Vector::new(10.0 * zoom, 5.0 * zoom), 14.0, PALETTE.text, false));
            labels.push(label(&node.kind, corner + Vector::new(10.0 * zoom, 21.0 * zoom), 11.0, dim, false));
            for (side, ports) in [(Side::Input, &node.inputs), (Side::Output, &node.outputs)] {
                for (p, port) in ports.iter().enumerate() {
                    let centre = self.screen(port_position(node, side, p));
                    let (offset, right) = match side {
                        Side::Input => (Vector::new(9.0 * zoom, -7.0 * zoom), false),
                        Side::Output => (Vector::new(-9.0 * zoom, -7.0 * zoom), true),
                    };
                    labels.push(label(&port.name, centre + offset, 11.0, PALETTE.text, right));
                }
            }
        }
        labels
    }
}

impl<'a> GraphView<'a> {
    /// The view as an element: the canvas, and its labels over it.
    pub fn element(self) -> Element<'a, GraphMessage> {
        let labels = Labels { view: GraphView { model: self.model, camera: self.camera, selected: Vec::new() } };
        stack![iced::widget::canvas(self).width(Fill).height(Fill), labels].into()
    }
}

/// A piece of text over the graph view.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// What it says.
    pub text: String,
    /// Where: its top-left corner (its top-right one when `right`), in view pixels.
    pub at: Point,
    /// Its size in pixels.
    pub size: f32,
    /// Its colour.
    pub colour: Color,
    /// Aligned to the right of `at`.
    pub right: bool,
}

/// The graph view's labels as a widget over its canvas: text drawn with the view's bounds as
/// its clip, which the software renderer needs no clip mask for.
pub struct Labels<'a> {
    view: GraphView<'a>,
}

impl<Message> Widget<Message, Theme, Renderer> for Labels<'_> {
    fn size(&self) -> Size<Length> {
        Size::new(Length::Fill, Length::Fill)
    }

    fn layout(&mut self, _tree: &mut Tree, _renderer: &Renderer, limits: &layout::Limits) -> layout::Node {
        layout::Node::new(limits.max())
    }

    fn draw(
        &self,
        _tree: &Tree,
        renderer: &mut Renderer,
        _theme: &Theme,
        _style: &renderer::Style,
        layout: Layout<'_>,
        _cursor: mouse::Cursor,
        _viewport: &Rectangle,
    ) {
        let bounds = layout.bounds();
        for label in self.view.labels(bounds.size()) {
            let text = iced::advanced::Text {
                content: label.text,
                // Finite: an infinite size here comes out of the layer's transformation as a
                // width of one glyph (iced_tiny_skia 0.14.1).
                bounds: Size::new(bounds.width, label.size * 2.0),
                size: label.size.into(),
                line_height: iced::widget::text::LineHeight::default(),
                font: FONT,
                align_x: if label.right {
                    iced::widget::text::Alignment::Right
                } else {
                    iced::widget::text::Alignment::Left
                },
                align_y: iced::alignment::Vertical::Top,
                shaping: iced::widget::text::Shaping::Basic,
                wrapping: iced::widget::text::Wrapping::None,
            };
            let at = Point::new(bounds.x + label.at.x, bounds.y + label.at.y);
            iced::advanced::text::Renderer::fill_text(renderer, text, at, label.colour, bounds);
        }
    }
}

impl<'a, Message: 'a> From<Labels<'a>> for Element<'a, Message> {
    fn from(labels: Labels<'a>) -> Self {
        Element::new(labels)
    }
}

/// The view's shapes gathered by colour, drawn as one path each.
#[derive(Default)]
struct Shapes {
    /// Cables, by colour.
    cables: Vec<(Color, path::Builder)>,
    /// Node bodies, rounded.
    bodies: Option<path::Builder>,
    /// Node bodies as plain boxes (zoomed out): drawn without anti-aliasing, which the
    /// rasteriser fills a row at a time.
    boxes: Vec<Rectangle>,
    /// Node outlines (selected nodes apart).
    outlines: Option<path::Builder>,
    selected: Option<path::Builder>,
    /// Port dots, by colour.
    dots: Vec<(Color, path::Builder)>,
    /// Crosses over ports that refuse the cable being drawn.
    crosses: Option<path::Builder>,
}

/// The builder for `colour` in `list`, added if new.
fn builder_for(list: &mut Vec<(Color, path::Builder)>, colour: Color) -> &mut path::Builder {
    match list.iter().position(|(c, _)| *c == colour) {
        Some(i) => &mut list[i].1,
        None => {
            list.push((colour, path::Builder::new()));
            &mut list.last_mut().expect("just pushed").1
        }
    }
}

impl Shapes {
    /// A cable from output point `a` to input point `b`, leaving and entering horizontally
    /// (`pull`: how far its handles reach); `smooth`: as a curve, else as a few straight
    /// segments along it.
    fn cable(&mut self, colour: Color, a: Point, b: Point, pull: f32, smooth: bool) {
        let path = builder_for(&mut self.cables, colour);
        let (c1, c2) = (a + Vector::new(pull, 0.0), b - Vector::new(pull, 0.0));
        path.move_to(a);
        if smooth {
            path.bezier_curve_to(c1, c2, b);
        } else {
            // A segment per 64 pixels of the cable's reach, two to six: each segment costs
            // the rasteriser a set-up, and at this zoom a cable is a few dozen pixels long.
            let segments = (((b.x - a.x).abs() + (b.y - a.y).abs()) / 64.0).ceil().clamp(2.0, 6.0) as usize;
            for i in 1..=segments {
                let t = i as f32 / segments as f32;
                let u = 1.0 - t;
                let (w0, w1, w2, w3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                path.line_to(Point::new(
                    w0 * a.x + w1 * c1.x + w2 * c2.x + w3 * b.x,
                    w0 * a.y + w1 * c1.y + w2 * c2.y + w3 * b.y,
                ));
            }
        }
    }

    /// A node's box at `corner`; `detailed`: rounded and outlined (a selected node is outlined
    /// at every zoom).
    fn node(&mut self, corner: Point, size: Size, radius: f32, detailed: bool, selected: bool) {
        if detailed {
            self.bodies.get_or_insert_with(path::Builder::new).rounded_rectangle(corner, size, radius.into());
        } else {
            self.boxes.push(Rectangle::new(corner, size));
        }
        let outline = if selected {
            Some(self.selected.get_or_insert_with(path::Builder::new))
        } else if detailed {
            Some(self.outlines.get_or_insert_with(path::Builder::new))
        } else {
            None
        };
        if let Some(outline) = outline {
            if detailed {
                outline.rounded_rectangle(corner, size, radius.into());
            } else {
                outline.rectangle(corner, size);
            }
        }
    }

    /// A port's dot; `round`: a circle, else a square of the same width.
    fn dot(&mut self, colour: Color, centre: Point, radius: f32, round: bool) {
        let dots = builder_for(&mut self.dots, colour);
        if round {
            dots.circle(centre, radius);
        } else {
            dots.rectangle(centre - Vector::new(radius, radius), Size::new(2.0 * radius, 2.0 * radius));
        }
    }

    /// A cross of half-width `r` over a port.
    fn cross(&mut self, centre: Point, r: f32) {
        let crosses = self.crosses.get_or_insert_with(path::Builder::new);
        crosses.move_to(centre + Vector::new(-r, -r));
        crosses.line_to(centre + Vector::new(r, r));
        crosses.move_to(centre + Vector::new(-r, r));
        crosses.line_to(centre + Vector::new(r, -r));
    }

    /// Draws everything: cables, then boxes and their outlines, then port dots and crosses.
    fn draw(self, frame: &mut Frame, zoom: f32) {
        let cable_width = 2.0 * zoom.max(0.5);
        for (colour, path) in self.cables {
            frame.stroke(&path.build(), Stroke::default().with_color(colour).with_width(cable_width));
        }
        if let Some(bodies) = self.bodies {
            frame.fill(&bodies.build(), PALETTE.node);
        }
        for body in self.boxes {
            frame.fill_rectangle(body.position(), body.size(), PALETTE.node);
        }
        if let Some(outlines) = self.outlines {
            frame.stroke(&outlines.build(), Stroke::default().with_color(OUTLINE).with_width(1.0));
        }
        if let Some(selected) = self.selected {
            frame.stroke(&selected.build(), Stroke::default().with_color(PALETTE.selected).with_width(2.0));
        }
        for (colour, path) in self.dots {
            frame.fill(&path.build(), colour);
        }
        if let Some(crosses) = self.crosses {
            frame.stroke(&crosses.build(), Stroke::default().with_color(PALETTE.refused).with_width(2.0));
        }
    }
}

/// A node's outline when it is not selected.
const OUTLINE: Color = Color::from_rgb8(0x48, 0x4e, 0x5a);

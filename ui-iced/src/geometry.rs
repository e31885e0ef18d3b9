//! Where things are in the graph view: node boxes, port dots, what lies under the pointer,
//! and the camera that maps graph units to the screen (pan and zoom). Shared by drawing and
//! hit-testing so that what is drawn is what is clicked.

use crate::model::{GraphModel, Node};

/// Width of a node box, in graph units.
pub const NODE_WIDTH: f32 = 170.0;
/// Height of a node's title bar.
pub const HEADER_HEIGHT: f32 = 38.0;
/// Vertical distance between two ports.
pub const PORT_SPACING: f32 = 20.0;
/// Radius of a port's dot.
pub const PORT_RADIUS: f32 = 5.0;
/// How far from a dot's centre a click still hits it.
const PORT_HIT_RADIUS: f32 = 9.0;
/// Zoom limits.
pub const MIN_ZOOM: f32 = 0.2;
/// Zoom limits.
pub const MAX_ZOOM: f32 = 3.0;

/// A point or size in graph units (or screen pixels, where said).
pub type Xy = [f32; 2];

/// Which side of a node a port is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// Inputs, on the left.
    Input,
    /// Outputs, on the right.
    Output,
}

/// A port of a node.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PortRef {
    /// The node's index.
    pub node: usize,
    /// Its side.
    pub side: Side,
    /// The port's index on that side.
    pub port: usize,
}

/// The height of `node`'s box.
pub fn node_height(node: &Node) -> f32 {
    HEADER_HEIGHT + node.inputs.len().max(node.outputs.len()).max(1) as f32 * PORT_SPACING + 6.0
}

/// The centre of a port's dot.
pub fn port_position(node: &Node, side: Side, port: usize) -> Xy {
    let [x, y] = node.position;
    let px = match side {
        Side::Input => x,
        Side::Output => x + NODE_WIDTH,
    };
    [px, y + HEADER_HEIGHT + PORT_SPACING * (port as f32 + 0.5)]
}

/// The port whose dot is under `at` (graph units), if any.
pub fn port_at(model: &GraphModel, at: Xy) -> Option<PortRef> {
    for (n, node) in model.nodes.iter().enumerate().rev() {
        for (side, count) in [(Side::Input, node.inputs.len()), (Side::Output, node.outputs.len())] {
            for port in 0..count {
                let [px, py] = port_position(node, side, port);
                if (px - at[0]).hypot(py - at[1]) <= PORT_HIT_RADIUS {
                    return Some(PortRef { node: n, side, port });
                }
            }
        }
    }
    None
}

/// The node whose box is under `at` (graph units), the topmost (last drawn) first.
pub fn node_at(model: &GraphModel, at: Xy) -> Option<usize> {
    model.nodes.iter().enumerate().rev().find_map(|(n, node)| {
        let [x, y] = node.position;
        let inside = at[0] >= x && at[0] <= x + NODE_WIDTH && at[1] >= y && at[1] <= y + node_height(node);
        inside.then_some(n)
    })
}

/// The nodes whose boxes touch the graph-space rectangle from `low` to `high`, in order.
pub fn nodes_in(model: &GraphModel, low: Xy, high: Xy) -> Vec<usize> {
    model
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            let [x, y] = n.position;
            x <= high[0] && x + NODE_WIDTH >= low[0] && y <= high[1] && y + node_height(n) >= low[1]
        })
        .map(|(i, _)| i)
        .collect()
}

/// Maps graph units to screen pixels: `screen = graph · zoom + offset`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Camera {
    /// Screen position of the graph's origin, in pixels.
    pub offset: Xy,
    /// Pixels per graph unit.
    pub zoom: f32,
}

impl Default for Camera {
    fn default() -> Self {
        Camera { offset: [0.0, 0.0], zoom: 1.0 }
    }
}

impl Camera {
    /// A screen point in graph units.
    pub fn to_graph(&self, screen: Xy) -> Xy {
        [(screen[0] - self.offset[0]) / self.zoom, (screen[1] - self.offset[1]) / self.zoom]
    }

    /// A graph point on the screen.
    pub fn to_screen(&self, graph: Xy) -> Xy {
        [graph[0] * self.zoom + self.offset[0], graph[1] * self.zoom + self.offset[1]]
    }

    /// The camera zoomed by `factor` about screen point `at` (which stays where it is).
    pub fn zoomed(&self, factor: f32, at: Xy) -> Camera {
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let anchor = self.to_graph(at);
        Camera { zoom, offset: [at[0] - anchor[0] * zoom, at[1] - anchor[1] * zoom] }
    }

    /// The camera that shows all of `model` inside a `width` × `height` screen, with a margin.
    pub fn fitting(model: &GraphModel, width: f32, height: f32) -> Camera {
        if model.nodes.is_empty() {
            return Camera::default();
        }
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for node in &model.nodes {
            let [x, y] = node.position;
            lo = [lo[0].min(x), lo[1].min(y)];
            hi = [hi[0].max(x + NODE_WIDTH), hi[1].max(y + node_height(node))];
        }
        let margin = 30.0;
        let zoom = ((width - 2.0 * margin) / (hi[0] - lo[0]))
            .min((height - 2.0 * margin) / (hi[1] - lo[1]))
            .clamp(MIN_ZOOM, 1.0);
        let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        Camera { zoom, offset: [width / 2.0 - centre[0] * zoom, height / 2.0 - centre[1] * zoom] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Port, PortKind};

    fn model() -> GraphModel {
        let port = |name: &str, kind| Port { name: name.into(), kind };
        let node = |id: &str, x, y, inputs, outputs| Node {
            id: id.into(),
            kind: "gain".into(),
            position: [x, y],
            placed: true,
            inputs,
            outputs,
            params: Default::default(),
            config: serde_json::Value::Null,
            param_specs: vec![],
        };
        GraphModel {
            nodes: vec![
                node("a", 0.0, 0.0, vec![], vec![port("out", PortKind::Audio(2))]),
                node("b", 300.0, 0.0, vec![port("in1", PortKind::Audio(2)), port("in2", PortKind::Audio(2))], vec![]),
            ],
            cables: vec![],
            slots: vec![],
            midi_map: vec![],
            revision: 0,
        }
    }

    #[test]
    fn ports_and_nodes_are_found_where_they_are_drawn() {
        let m = model();
        let [x, y] = port_position(&m.nodes[1], Side::Input, 1);
        assert_eq!(port_at(&m, [x + 3.0, y - 3.0]), Some(PortRef { node: 1, side: Side::Input, port: 1 }));
        assert_eq!(port_at(&m, [x + 40.0, y]), None);
        assert_eq!(node_at(&m, [x + 40.0, y]), Some(1));
        assert_eq!(node_at(&m, [250.0, 10.0]), None, "between the boxes");
        let [ox, oy] = port_position(&m.nodes[0], Side::Output, 0);
        assert_eq!((ox, oy), (NODE_WIDTH, HEADER_HEIGHT + PORT_SPACING / 2.0));
    }

    #[test]
    fn zooming_keeps_the_point_under_the_pointer_and_fitting_shows_everything() {
        let camera = Camera { offset: [10.0, 20.0], zoom: 1.0 };
        let at = [200.0, 150.0];
        let zoomed = camera.zoomed(2.0, at);
        assert_eq!(zoomed.zoom, 2.0);
        let before = camera.to_graph(at);
        let after = zoomed.to_graph(at);
        assert!((before[0] - after[0]).abs() < 1e-4 && (before[1] - after[1]).abs() < 1e-4);
        assert_eq!(camera.zoomed(100.0, at).zoom, MAX_ZOOM);

        let m = model();
        let fit = Camera::fitting(&m, 800.0, 600.0);
        for node in &m.nodes {
            let [x, y] = fit.to_screen(node.position);
            let [x2, y2] = fit.to_screen([node.position[0] + NODE_WIDTH, node.position[1] + node_height(node)]);
            assert!(x >= 0.0 && y >= 0.0 && x2 <= 800.0 && y2 <= 600.0, "{} is on screen", node.id);
        }
    }
}

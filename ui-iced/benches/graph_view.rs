//! Frame time of the graph view (figures in docs/PERFORMANCE.md): a synthetic graph of 500
//! stereo nodes and ~1000 cables, drawn as one window frame at 1280×800 — layout, the canvas
//! program's geometry (boxes, port dots, labels, cables), and tiny-skia rasterising all of it
//! into a frame buffer kept between frames, as the window's present does — with the whole
//! graph in view (the worst case: nothing is culled) and zoomed in to a detail (what a user
//! mostly sees). Also, for the whole graph, the same frame read back as an image (what
//! `--screenshot` adds). Goal (issue 17): ≤ 8 ms a frame.
//!
//! Run: `cargo bench -p noderack-editor --bench graph_view`

use criterion::{criterion_group, criterion_main, Criterion};
use noderack_editor::geometry::Camera;
use noderack_editor::model::grid;
use noderack_editor::render::{graph_element, FrameRenderer};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 800;

fn frame_time(c: &mut Criterion) {
    let model = grid(500);
    println!("graph: {} nodes, {} cables", model.nodes.len(), model.cables.len());
    let mut renderer = FrameRenderer::new().expect("the software renderer");
    let whole = Camera::fitting(&model, WIDTH as f32, HEIGHT as f32);
    let detail = Camera { offset: [0.0, 0.0], zoom: 1.0 };
    let mut group = c.benchmark_group("graph view, 500 nodes, 1000 cables, 1280x800");
    group.sample_size(20);
    group.bench_function("one frame, the whole graph in view", |b| {
        b.iter(|| renderer.draw(graph_element(&model, whole), WIDTH, HEIGHT))
    });
    group.bench_function("one frame, zoomed in (1:1)", |b| {
        b.iter(|| renderer.draw(graph_element(&model, detail), WIDTH, HEIGHT))
    });
    group.bench_function("one frame read back as an image, the whole graph in view", |b| {
        b.iter(|| renderer.frame(graph_element(&model, whole), WIDTH, HEIGHT))
    });
    group.finish();
}

criterion_group!(benches, frame_time);
criterion_main!(benches);

//! The editor's views drawn without a display: the software renderer into memory, then PNG.
//! What `noderack-editor --screenshot` writes and what the snapshot tests compare.

use std::path::Path;

use iced::advanced::clipboard;
use iced::advanced::renderer::{self, Headless};
use iced::{mouse, window, Element, Event, Pixels, Size, Theme};
use iced_runtime::{user_interface, UserInterface};

use crate::geometry::Camera;
use crate::graph_view::{GraphMessage, GraphView, FONT, PALETTE};
use crate::model::GraphModel;
use crate::rack::{rack, SlotDraft};

/// Why an image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The software renderer could not start.
    #[error("the software renderer could not start")]
    Renderer,
    /// The PNG could not be written.
    #[error("{path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// An image: RGBA bytes, row by row.
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width · height · 4` bytes.
    pub rgba: Vec<u8>,
}

/// The software renderer, made once and used for any number of frames (making it loads fonts),
/// with the frame buffer and clip mask it draws into, kept between frames as a window keeps
/// its surface.
pub struct FrameRenderer {
    renderer: iced::Renderer,
    target: Option<Target>,
}

/// A frame buffer (0xAARRGGBB words, as the window's surface) and its clip mask.
struct Target {
    width: u32,
    height: u32,
    pixels: Vec<u32>,
    mask: tiny_skia::Mask,
}

impl FrameRenderer {
    /// A renderer with the editor's font.
    pub fn new() -> Result<FrameRenderer, RenderError> {
        let renderer =
            iced::futures::executor::block_on(<iced::Renderer as Headless>::new(FONT, Pixels(16.0), Some("tiny-skia")))
                .ok_or(RenderError::Renderer)?;
        Ok(FrameRenderer { renderer, target: None })
    }

    /// `element` laid out, drawn and rasterised at `width` × `height` pixels into the frame
    /// buffer: one frame, the work a window does for it (all of it redrawn, as when the graph
    /// moves), without reading the pixels back.
    pub fn draw<Message>(&mut self, element: Element<'_, Message>, width: u32, height: u32) {
        let renderer = &mut self.renderer;
        let size = Size::new(width as f32, height as f32);
        let mut ui = UserInterface::build(element, size, user_interface::Cache::default(), renderer);
        let mut messages = Vec::new();
        let redraw = Event::Window(window::Event::RedrawRequested(iced::time::Instant::now()));
        let _ = ui.update(&[redraw], mouse::Cursor::Unavailable, renderer, &mut clipboard::Null, &mut messages);
        let theme = Theme::Dark;
        ui.draw(renderer, &theme, &renderer::Style { text_color: PALETTE.text }, mouse::Cursor::Unavailable);
        let fits = self.target.as_ref().is_some_and(|t| (t.width, t.height) == (width, height));
        if !fits {
            self.target = Some(Target {
                width,
                height,
                pixels: vec![0; width as usize * height as usize],
                mask: tiny_skia::Mask::new(width, height).expect("a clip mask of the frame's size"),
            });
        }
        let target = self.target.as_mut().expect("made above");
        let mut pixmap = tiny_skia::PixmapMut::from_bytes(bytemuck::cast_slice_mut(&mut target.pixels), width, height)
            .expect("a pixmap of the frame's size");
        let viewport = iced_tiny_skia::graphics::Viewport::with_physical_size(Size::new(width, height), 1.0);
        renderer.draw(
            &mut pixmap,
            &mut target.mask,
            &viewport,
            &[iced::Rectangle::with_size(size)],
            PALETTE.background,
        );
    }

    /// `element` drawn at `width` × `height` pixels, read back as an image.
    pub fn frame<Message>(&mut self, element: Element<'_, Message>, width: u32, height: u32) -> Image {
        self.draw(element, width, height);
        let target = self.target.as_ref().expect("drawn");
        // The buffer holds premultiplied 0xAARRGGBB words; the background is opaque, so every
        // pixel is too and premultiplied equals straight.
        let rgba =
            target.pixels.iter().flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8, (p >> 24) as u8]).collect();
        Image { width, height, rgba }
    }
}

/// `element` drawn at `width` × `height` pixels.
pub fn render<Message>(element: Element<'_, Message>, width: u32, height: u32) -> Result<Image, RenderError> {
    Ok(FrameRenderer::new()?.frame(element, width, height))
}

/// The graph view of `model` as an element (what the window shows), with `camera`.
pub fn graph_element<'a>(model: &'a GraphModel, camera: Camera) -> Element<'a, GraphMessage> {
    GraphView { model, camera, selected: Vec::new() }.element()
}

/// The graph view of `model`, fitted to a `width` × `height` image.
pub fn graph_image(model: &GraphModel, width: u32, height: u32) -> Result<Image, RenderError> {
    render(graph_element(model, Camera::fitting(model, width as f32, height as f32)), width, height)
}

/// The rack view of `model` in a `width` × `height` image (nothing selected; the new-slot row
/// offers the kinds the graph's slots already use).
pub fn rack_image(model: &GraphModel, width: u32, height: u32) -> Result<Image, RenderError> {
    let mut kinds: Vec<String> = model.slots.iter().map(|s| s.kind.clone()).collect();
    kinds.dedup();
    let buses = model.buses().into_iter().map(|(bus, _)| bus).collect();
    let draft = SlotDraft::default();
    render(rack(model, None, &draft, kinds, buses), width, height)
}

/// Writes `image` as a PNG file.
pub fn write_png(image: &Image, path: &Path) -> Result<(), RenderError> {
    let fail = |reason: String| RenderError::Write { path: path.display().to_string(), reason };
    let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer.write_image_data(&image.rgba).map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))
}

/// Reads a PNG written by [`write_png`] (8-bit RGBA).
pub fn read_png(path: &Path) -> Result<Image, RenderError> {
    let fail = |reason: String| RenderError::Write { path: path.display().to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().map_err(|e| fail(e.to_string()))?;
    let mut rgba = vec![0; reader.output_buffer_size().ok_or_else(|| fail("too large".into()))?];
    let info = reader.next_frame(&mut rgba).map_err(|e| fail(e.to_string()))?;
    if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
        return Err(fail("not an 8-bit RGBA image".into()));
    }
    rgba.truncate(info.buffer_size());
    Ok(Image { width: info.width, height: info.height, rgba })
}

/// How two images of the same size differ: the mean absolute difference per channel (0–255),
/// and the share of pixels where some channel differs by more than 64.
pub fn difference(a: &Image, b: &Image) -> Option<(f64, f64)> {
    if (a.width, a.height) != (b.width, b.height) || a.rgba.len() != b.rgba.len() {
        return None;
    }
    let total: u64 = a.rgba.iter().zip(&b.rgba).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    let far = a
        .rgba
        .chunks_exact(4)
        .zip(b.rgba.chunks_exact(4))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 64))
        .count();
    let pixels = (a.width * a.height) as f64;
    Some((total as f64 / a.rgba.len() as f64, far as f64 / pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_measured_per_channel_and_per_pixel() {
        let plain = Image { width: 10, height: 10, rgba: vec![100; 400] };
        assert_eq!(difference(&plain, &plain), Some((0.0, 0.0)));
        let mut marked = Image { width: 10, height: 10, rgba: plain.rgba.clone() };
        marked.rgba[0] = 255; // one channel of one pixel, far off
        marked.rgba[4] = 110; // one channel of another, near
        let (mean, far) = difference(&plain, &marked).unwrap();
        assert!((mean - 165.0 / 400.0).abs() < 1e-9);
        assert_eq!(far, 0.01);
        assert_eq!(difference(&plain, &Image { width: 5, height: 20, rgba: vec![100; 400] }), None);
    }

    #[test]
    fn an_image_reads_back_as_written() {
        let image = Image { width: 3, height: 2, rgba: (0..24).collect() };
        let path = std::env::temp_dir().join(format!("noderack-editor-{}.png", std::process::id()));
        write_png(&image, &path).unwrap();
        let back = read_png(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!((back.width, back.height, back.rgba), (3, 2, image.rgba));
    }
}

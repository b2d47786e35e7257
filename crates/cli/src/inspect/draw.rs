//! Drawing a sample: the CXR back in grey levels, the 12 leads on one
//! scale, a bar per lab. The font is embedded (DejaVu Sans, see
//! `assets/DejaVuSans.LICENSE`) so the picture looks the same on a machine
//! without any system fonts.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use cxr_prep::{IMAGENET_MEAN, IMAGENET_STD};
use mimic_io::layout::ECG_LEADS;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Sample;

/// Width of the rendered PNG in pixels.
pub const WIDTH: u32 = 1800;
/// Height of the rendered PNG in pixels.
pub const HEIGHT: u32 = 1000;

/// Sampling rate of MIMIC-IV-ECG records: the time axis is `sample / 500` seconds.
pub const ECG_HZ: f64 = 500.0;

/// Side of the square box the CXR is fitted into, and its top-left corner.
const CXR_BOX: u32 = 540;
const CXR_X: u32 = 20;
const CXR_Y: u32 = 100;

/// Font family name the embedded font is registered under (plotters' default family).
const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Registers the embedded font with plotters once per process.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok { Ok(()) } else { Err(anyhow!("the embedded DejaVuSans.ttf could not be loaded as a font")) }
}

fn plot_err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing the sample failed: {e}")
}

/// The CXR un-normalised to grey levels: `(x * std + mean) * 255` with the
/// channel-0 ImageNet statistics, rounded and clamped to 0..=255.
pub fn cxr_to_grey(sample: &Sample) -> Vec<u8> {
    let (mean, std) = (IMAGENET_MEAN[0], IMAGENET_STD[0]);
    sample
        .cxr
        .iter()
        .map(|&x| {
            let v = ((x * std + mean) * 255.0).round();
            if v.is_nan() { 0 } else { v.clamp(0.0, 255.0) as u8 }
        })
        .collect()
}

/// Renders a sample as PNG bytes of [`WIDTH`] × [`HEIGHT`] pixels.
pub fn render_png(sample: &Sample) -> Result<Vec<u8>> {
    ensure_font()?;
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut buf = vec![255u8; w * h * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        draw_title(&root, sample)?;
        draw_cxr_frame(&root, sample)?;
        let ecg_area = root.clone().shrink((590, 60), (640, HEIGHT - 70));
        draw_ecg(&root, &ecg_area, sample)?;
        let labs_area = root.clone().shrink((1240, 60), (WIDTH - 1250, HEIGHT - 70));
        draw_labs(&root, &labs_area, sample)?;
        root.present().map_err(plot_err)?;
    }
    blit_cxr(&mut buf, sample);
    let img =
        image::RgbImage::from_raw(WIDTH, HEIGHT, buf).ok_or_else(|| anyhow!("internal: bad image buffer size"))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("encoding the PNG failed")?;
    Ok(png)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn text_style(size: f64, color: RGBColor, pos: Pos) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color).pos(pos)
}

const LEFT_TOP: Pos = Pos { h_pos: HPos::Left, v_pos: VPos::Top };
const DARK: RGBColor = RGBColor(40, 40, 40);
const GREY: RGBColor = RGBColor(120, 120, 120);
const ECG_INK: RGBColor = RGBColor(180, 20, 40);
const BAR: RGBColor = RGBColor(31, 119, 180);
const MISSING_BAR: RGBColor = RGBColor(205, 205, 205);

fn draw_title(root: &Area, s: &Sample) -> Result<()> {
    let mut title = format!("Symile-MIMIC   split {}   row {} of {}   hadm_id {}", s.split, s.row, s.rows, s.hadm_id);
    if let Some((label, label_hadm)) = s.label {
        let kind = if label == 1 { "positive" } else { "negative candidate" };
        title.push_str(&format!("   label {label} ({kind} for query label_hadm_id {label_hadm})"));
    }
    root.draw(&Text::new(title, (20, 18), text_style(26.0, BLACK, LEFT_TOP))).map_err(plot_err)?;
    Ok(())
}

/// Caption, frame and facts around the CXR; the pixels are blitted after plotters is done.
fn draw_cxr_frame(root: &Area, s: &Sample) -> Result<()> {
    let caption = format!("Chest X-ray {}×{} (un-normalised, channel 0)", s.cxr_w, s.cxr_h);
    root.draw(&Text::new(caption, (CXR_X as i32, 70), text_style(17.0, DARK, LEFT_TOP))).map_err(plot_err)?;
    let (x0, y0) = (CXR_X as i32 - 1, CXR_Y as i32 - 1);
    let side = CXR_BOX as i32 + 1;
    root.draw(&Rectangle::new([(x0, y0), (x0 + side, y0 + side)], GREY.stroke_width(1))).map_err(plot_err)?;

    let observed = s.observed.iter().filter(|&&o| o).count();
    let (lo, hi) = s.cxr.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let grey = cxr_to_grey(s);
    let mean_grey = grey.iter().map(|&g| g as f64).sum::<f64>() / grey.len().max(1) as f64;
    let finite = s.ecg.iter().filter(|v| v.is_finite()).count();
    let mut lines = vec![
        format!("hadm_id: {}", s.hadm_id),
        format!("labs observed: {observed} of {}", s.observed.len()),
        format!(
            "ECG: {} samples × {} leads = {:.1} s at 500 Hz ({} finite values)",
            s.ecg_samples,
            s.ecg_leads,
            s.ecg_samples as f64 / ECG_HZ,
            finite
        ),
        format!("CXR tensor range [{lo:.3}, {hi:.3}], mean grey level {mean_grey:.1}"),
    ];
    if let Some((label, label_hadm)) = s.label {
        lines.insert(1, format!("label: {label}   label_hadm_id: {label_hadm}"));
    }
    for (i, line) in lines.into_iter().enumerate() {
        let y = (CXR_Y + CXR_BOX) as i32 + 20 + 26 * i as i32;
        root.draw(&Text::new(line, (CXR_X as i32, y), text_style(16.0, DARK, LEFT_TOP))).map_err(plot_err)?;
    }
    Ok(())
}

/// Copies the grey CXR, resized to fit the box (aspect kept, centred), into the RGB buffer.
fn blit_cxr(buf: &mut [u8], s: &Sample) {
    let grey = cxr_to_grey(s);
    let Some(img) = image::GrayImage::from_raw(s.cxr_w as u32, s.cxr_h as u32, grey) else {
        return;
    };
    let scale = CXR_BOX as f64 / s.cxr_w.max(s.cxr_h) as f64;
    let tw = ((s.cxr_w as f64 * scale).round() as u32).clamp(1, CXR_BOX);
    let th = ((s.cxr_h as f64 * scale).round() as u32).clamp(1, CXR_BOX);
    let resized = image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
    let (ox, oy) = (CXR_X + (CXR_BOX - tw) / 2, CXR_Y + (CXR_BOX - th) / 2);
    for y in 0..th {
        for x in 0..tw {
            let g = resized.get_pixel(x, y).0[0];
            let i = (((oy + y) * WIDTH + ox + x) * 3) as usize;
            buf[i..i + 3].copy_from_slice(&[g, g, g]);
        }
    }
}

/// The 12 leads stacked top to bottom on one shared vertical scale (so their
/// relative amplitudes stay true), each centred on its own mean.
fn draw_ecg(root: &Area, area: &Area, s: &Sample) -> Result<()> {
    let leads = s.ecg_leads;
    let seconds = (s.ecg_samples as f64 / ECG_HZ).max(1.0 / ECG_HZ);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{leads}-lead ECG (values in [-1, 1] over the record)"), (FONT, 17.0))
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..seconds, -0.5f64..(leads.max(1) as f64 - 0.5))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(11)
        .x_desc("time (s)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 13.0))
        .axis_desc_style((FONT, 14.0))
        .light_line_style(RGBColor(245, 225, 225))
        .bold_line_style(RGBColor(235, 190, 190))
        .draw()
        .map_err(plot_err)?;

    let lead_vals = |l: usize| s.ecg.iter().skip(l).step_by(leads.max(1)).copied();
    let means: Vec<f64> = (0..leads)
        .map(|l| {
            let (sum, n) =
                lead_vals(l).filter(|v| v.is_finite()).fold((0.0, 0usize), |(a, n), v| (a + v as f64, n + 1));
            if n == 0 { 0.0 } else { sum / n as f64 }
        })
        .collect();
    let half = (0..leads)
        .flat_map(|l| {
            let mean = means[l];
            lead_vals(l).filter(|v| v.is_finite()).map(move |v| (v as f64 - mean).abs())
        })
        .fold(0.0f64, f64::max);
    let scale = if half > 0.0 { 0.48 / half } else { 0.0 };

    for (l, &mean) in means.iter().enumerate() {
        let centre = (leads - 1 - l) as f64;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, centre), (seconds, centre)],
                RGBColor(225, 225, 225).stroke_width(1),
            )))
            .map_err(plot_err)?;
        // A NaN (a missing sample) breaks the trace instead of drawing through it.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (t, v) in lead_vals(l).enumerate() {
            if v.is_finite() {
                segments.last_mut().expect("non-empty").push((t as f64 / ECG_HZ, centre + (v as f64 - mean) * scale));
            } else if !segments.last().expect("non-empty").is_empty() {
                segments.push(Vec::new());
            }
        }
        chart
            .draw_series(
                segments.into_iter().filter(|p| p.len() > 1).map(|p| PathElement::new(p, ECG_INK.stroke_width(1))),
            )
            .map_err(plot_err)?;
        let name = ECG_LEADS.get(l).map_or_else(|| format!("lead {l}"), |n| n.to_string());
        let (px, py) = chart.backend_coord(&(0.0, centre));
        root.draw(&Text::new(name, (px - 8, py), text_style(15.0, DARK, Pos::new(HPos::Right, VPos::Center))))
            .map_err(plot_err)?;
    }
    Ok(())
}

/// One horizontal bar per lab, first itemid at the top; a missing lab is a
/// grey bar (its value is the imputed train mean) with a cross at its end.
fn draw_labs(root: &Area, area: &Area, s: &Sample) -> Result<()> {
    let n = s.labs.len();
    let (chart_area, legend_area) = area.split_vertically(area.dim_in_pixel().1 - 34);
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(format!("{n} lab percentiles (itemid order)"), (FONT, 17.0))
        .margin(8)
        .margin_right(52)
        .x_label_area_size(36)
        .y_label_area_size(200)
        .build_cartesian_2d(0f64..1f64, 0f64..(n.max(1) as f64))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(5)
        .x_desc("percentile")
        .x_label_formatter(&|v| format!("{v:.2}"))
        .label_style((FONT, 13.0))
        .axis_desc_style((FONT, 14.0))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(plot_err)?;
    for (i, (&v, &obs)) in s.labs.iter().zip(&s.observed).enumerate() {
        let top = (n - i) as f64 - 0.12;
        let bottom = (n - i - 1) as f64 + 0.12;
        let raw = v;
        let v = if v.is_finite() { (v as f64).clamp(0.0, 1.0) } else { 0.0 };
        let fill = if obs { BAR } else { MISSING_BAR };
        // A stub keeps an observed 0th percentile visible as a bar.
        let shown = v.max(0.006);
        chart
            .draw_series(std::iter::once(Rectangle::new([(0.0, bottom), (shown, top)], fill.filled())))
            .map_err(plot_err)?;
        if !obs {
            chart
                .draw_series(std::iter::once(Cross::new((v, (top + bottom) / 2.0), 5, BLACK.stroke_width(2))))
                .map_err(plot_err)?;
        }
        let label = match s.lab_ids.get(i) {
            Some(&id) => format!("{id} {}", mimic_io::layout::lab_name(id).unwrap_or_default()).trim_end().to_string(),
            None => format!("lab {i}"),
        };
        let (px, py) = chart.backend_coord(&(0.0, (top + bottom) / 2.0));
        let color = if obs { DARK } else { GREY };
        root.draw(&Text::new(label, (px - 6, py), text_style(12.5, color, Pos::new(HPos::Right, VPos::Center))))
            .map_err(plot_err)?;
        let value = if obs { format!("{raw:.2}") } else { format!("({raw:.2})") };
        let (rx, _) = chart.backend_coord(&(1.0, 0.0));
        root.draw(&Text::new(value, (rx + 6, py), text_style(11.5, color, Pos::new(HPos::Left, VPos::Center))))
            .map_err(plot_err)?;
    }
    legend_area
        .draw(&Rectangle::new([(10, 10), (30, 24)], BAR.filled()))
        .and_then(|_| legend_area.draw(&Text::new("observed", (36, 10), text_style(14.0, DARK, LEFT_TOP))))
        .and_then(|_| legend_area.draw(&Rectangle::new([(130, 10), (150, 24)], MISSING_BAR.filled())))
        .and_then(|_| legend_area.draw(&Cross::new((150, 17), 5, BLACK.stroke_width(2))))
        .and_then(|_| {
            legend_area.draw(&Text::new("missing (train mean imputed)", (162, 10), text_style(14.0, DARK, LEFT_TOP)))
        })
        .map_err(plot_err)?;
    Ok(())
}

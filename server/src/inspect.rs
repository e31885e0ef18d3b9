//! `noderack graph` and `noderack nodes`: what a patch contains, and what nodes exist.

use std::fmt::Write as _;
use std::path::Path;

use noderack_graph::{Direction, Graph, NodeDescription, ParamSpec, Unit};
use noderack_nodes::registry::KINDS;
use noderack_presets::NodeConfig;
use noderack_presets::Patch;

fn model_of(patch: &Patch) -> anyhow::Result<Graph> {
    let mut graph = Graph::new(patch.buses.clone()).with_inputs(patch.inputs.clone());
    graph.apply_batch(patch.edits())?;
    Ok(graph)
}

fn ports_line(d: &dyn NodeDescription, direction: Direction) -> String {
    let side = d.ports().side(direction);
    if side.is_empty() {
        return "-".into();
    }
    side.iter().map(|p| format!("{} ({})", p.name, p.kind)).collect::<Vec<_>>().join(", ")
}

fn show_value(spec: &ParamSpec, v: f32) -> String {
    match spec.unit {
        Unit::Choice => spec.choices.get(v as usize).map_or(format!("{v}"), |c| c.to_string()),
        Unit::Toggle => (if v >= 0.5 { "on" } else { "off" }).to_string(),
        _ => format!("{v}"),
    }
}

/// `noderack slots`: the patch's slots as a table (or JSON).
pub fn slots(path: &Path, json: bool) -> anyhow::Result<()> {
    let patch = Patch::load(path, crate::factory::factory())?;
    let slots = noderack_presets::slots::slots(&patch);
    if json {
        println!("{}", serde_json::to_string_pretty(&noderack_server::control::api::slots_json(&patch))?);
        return Ok(());
    }
    if slots.is_empty() {
        println!("patch \"{}\" has no instruments", patch.name);
        return Ok(());
    }
    let rows: Vec<[String; 5]> = slots
        .iter()
        .map(|s| {
            let through = if s.through.is_empty() { "-".to_string() } else { s.through.join(" → ") };
            [s.instrument.clone(), s.kind.clone(), s.channel.to_string(), s.bus.clone().unwrap_or("-".into()), through]
        })
        .collect();
    let header = ["instrument", "kind", "channel", "bus", "through"];
    let widths: Vec<usize> =
        (0..5).map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0)).collect();
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    println!("{}", line(header));
    for row in &rows {
        println!("{}", line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    Ok(())
}

pub fn graph(path: &Path, dot: bool) -> anyhow::Result<()> {
    let patch = Patch::load(path, crate::factory::factory())?;
    for warning in &patch.warnings {
        tracing::warn!("{warning}");
    }
    let graph = model_of(&patch)?;
    let mut out = String::new();
    if dot {
        writeln!(
            out,
            "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=record, fontname=\"Helvetica\"];",
            escape(&patch.name)
        )?;
        for n in graph.nodes() {
            let d = n.description();
            let ins: Vec<String> =
                d.ports().inputs.iter().enumerate().map(|(i, p)| format!("<i{i}> {}", escape(&p.name))).collect();
            let outs: Vec<String> =
                d.ports().outputs.iter().enumerate().map(|(i, p)| format!("<o{i}> {}", escape(&p.name))).collect();
            writeln!(
                out,
                "  n{} [label=\"{{{{{}}}|{}\\n({})|{{{}}}}}\"];",
                n.id().0,
                ins.join("|"),
                escape(n.label()),
                d.kind(),
                outs.join("|")
            )?;
        }
        for c in graph.connections() {
            writeln!(out, "  n{}:o{} -> n{}:i{};", c.from.node.0, c.from.port.0, c.to.node.0, c.to.port.0)?;
        }
        out.push_str("}\n");
    } else {
        let buses: Vec<String> = patch.buses.iter().map(|b| format!("{} ({} ch)", b.name, b.channels)).collect();
        writeln!(
            out,
            "patch \"{}\": {} nodes, {} connections, buses: {}",
            patch.name,
            graph.node_count(),
            graph.connections().len(),
            buses.join(", ")
        )?;
        writeln!(out, "\nnodes:")?;
        for n in graph.nodes() {
            let d = n.description();
            writeln!(out, "  {} ({})", n.label(), d.kind())?;
            writeln!(out, "    inputs:  {}", ports_line(d.as_ref(), Direction::Input))?;
            writeln!(out, "    outputs: {}", ports_line(d.as_ref(), Direction::Output))?;
            if !d.params().is_empty() {
                let params: Vec<String> = d
                    .params()
                    .iter()
                    .zip(n.params())
                    .map(|(s, v)| format!("{}={}", s.name, show_value(s, *v)))
                    .collect();
                writeln!(out, "    params:  {}", params.join(", "))?;
            }
        }
        writeln!(out, "\nconnections:")?;
        for c in graph.connections() {
            writeln!(
                out,
                "  {} -> {}",
                graph.describe_port(c.from, Direction::Output),
                graph.describe_port(c.to, Direction::Input)
            )?;
        }
    }
    print!("{out}");
    Ok(())
}

pub fn nodes() -> anyhow::Result<()> {
    let mut out = String::new();
    for kind in KINDS {
        let d = noderack_nodes::registry::create(kind.kind, &NodeConfig::new())?;
        writeln!(out, "{} — {}", kind.kind, kind.summary)?;
        if !kind.settings.is_empty() {
            writeln!(out, "  settings: {}", kind.settings.join(", "))?;
        }
        writeln!(out, "  inputs:  {}", ports_line(d.as_ref(), Direction::Input))?;
        writeln!(out, "  outputs: {}", ports_line(d.as_ref(), Direction::Output))?;
        for p in d.params() {
            let range = match p.unit {
                Unit::Choice => p.choices.join(" | "),
                Unit::Toggle => "on | off".into(),
                _ => format!("{} to {}", p.min, p.max),
            };
            writeln!(out, "  param {}: {} (default {})", p.name, range, show_value(p, p.default))?;
        }
        out.push('\n');
    }
    writeln!(out, "{} — a CLAP plugin (docs/PLUGINS.md)", noderack_host::clap::ClapNode::KIND)?;
    writeln!(out, "  settings: {}", noderack_host::clap::factory::CONFIG_KEYS.join(", "))?;
    writeln!(out, "  ports and params: the plugin's (`noderack plugins info ID`)")?;
    print!("{out}");
    Ok(())
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace(['{', '}', '|', '<', '>'], "_")
}

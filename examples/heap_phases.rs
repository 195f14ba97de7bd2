//! Times `top`'s work on a snapshot file, decoding apart:
//! `cargo run --release --example heap_phases FILE [LIMIT]`.
use std::time::Instant;

use weak_tracker::heap::{summary, HeapGraph};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: heap_phases FILE [LIMIT]");
        std::process::exit(2);
    };
    let limit = args.next().and_then(|l| l.parse().ok()).unwrap_or(20);
    let t = Instant::now();
    let graph = match HeapGraph::read_file(std::path::Path::new(&file)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let decoded = t.elapsed().as_secs_f64();
    println!("after decode: {}", peak());
    let t = Instant::now();
    let top = summary::top(&graph, limit);
    println!(
        "{} nodes, {} edges: decode {decoded:.2} s, top {:.2} s ({} retainers, {} classes)",
        graph.node_count(),
        graph.edge_count(),
        t.elapsed().as_secs_f64(),
        top.retainers.len(),
        top.classes.len()
    );
    println!("after top: {}", peak());
}

/// The process's peak and current resident memory, from /proc (Linux).
fn peak() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .collect::<Vec<_>>()
        .join(", ")
}

//! The server crate's layering, checked from its sources: every folder of `src/` (an API, or
//! the shared `http/` layer) and every file directly in `src/` is a unit, and the units'
//! `crate::…` imports must form no circle; `http/` imports no other unit but the application
//! state and configuration. A new import that closes a circle fails here, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The unit a source file belongs to: its folder under `src/`, or its own name.
fn unit_of(relative: &Path) -> String {
    let mut parts = relative.iter().map(|p| p.to_string_lossy().into_owned());
    let first = parts.next().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

/// The units a file's source refers to through `crate::name`.
fn references(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // `use crate::{a, b::c}` groups as well as `crate::a::b` paths.
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let unit = unit_of(path.strip_prefix(&src).unwrap());
            let source = std::fs::read_to_string(&path).unwrap();
            let edges = graph.entry(unit.clone()).or_default();
            for target in references(&source) {
                if target != unit {
                    edges.insert(target);
                }
            }
        }
    }
    let units: BTreeSet<String> = graph.keys().cloned().collect();
    for edges in graph.values_mut() {
        edges.retain(|t| units.contains(t));
    }
    graph
}

/// A circle through `start`, if any (depth-first search back to it).
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    walk(graph, start, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn the_units_of_the_server_form_no_import_circle() {
    let graph = graph();
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|unit| circle_through(&graph, unit))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn the_shared_http_layer_imports_no_api() {
    let graph = graph();
    let allowed: BTreeSet<&str> = ["state", "config", "metrics"].into();
    let http = &graph["http"];
    let extra: Vec<&String> = http
        .iter()
        .filter(|t| !allowed.contains(t.as_str()))
        .collect();
    assert!(extra.is_empty(), "http/ imports {extra:?}");
}

#[test]
fn the_checker_sees_imports() {
    let refs =
        references("use crate::{http::ApiError, state::AppState};\nlet x = crate::arm::f();");
    assert_eq!(
        refs,
        ["arm", "http", "state"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

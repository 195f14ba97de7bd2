//! Names for the variables of block and catch scopes, which V8 writes as numbered hidden edges
//! of their `system / Context` (it names only the variables of function and module scopes).
//!
//! The context's `scope_info` (a `system / ScopeInfo`) holds the scope's variable names, in slot
//! order, as its first hidden edges. The context's hidden edge `[k]` is its k-th slot that holds a
//! heap object: a slot holding a small integer has no edge and shifts the numbering (an
//! `undefined` or `null` slot has no edge either but keeps its number). So `[k]` is the variable
//! of slot `k + s`, where `s` counts the small-integer slots before it: `s` is 0 for every edge
//! when the last edge's number is the last slot; otherwise it can be up to the number of slots
//! left over, and all the names it could be are given.

use super::snapshot::HeapGraph;

/// What a context's hidden edge is, in the words of the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotName {
    /// The variable's name.
    Exact(String),
    /// The variable is one of these.
    OneOf(Vec<String>),
}

/// The scope's variable names, in slot order: the leading hidden edges of its ScopeInfo to
/// strings the decoder kept.
fn scope_names(graph: &HeapGraph, scope_info: u32) -> Vec<&str> {
    let mut names = Vec::new();
    for edge in graph.edges(scope_info) {
        if graph.edge_type_name(edge) != "hidden" {
            continue;
        }
        let to = graph.edge_to[edge];
        if graph.edge_name[edge] as usize != names.len() || graph.node_type_name(to) != "string" {
            break;
        }
        let Some(Some(name)) = graph.strings.get(graph.node_name[to as usize] as usize) else {
            break;
        };
        names.push(&**name);
    }
    names
}

/// The name of the variable that `edge`, a hidden edge of the block or catch context `context`,
/// stands for; `None` when it is not such an edge or the snapshot does not say.
pub fn slot_name(graph: &HeapGraph, context: u32, edge: usize) -> Option<SlotName> {
    if graph.edge_type_name(edge) != "hidden"
        || graph.node_name_raw(context) != Some("system / Context")
    {
        return None;
    }
    let mut scope_info = None;
    let mut last = 0;
    for e in graph.edges(context) {
        match graph.edge_type_name(e) {
            // A declaration scope: V8 named its variables itself; its hidden edges are not slots.
            "context" => return None,
            "hidden" => last = last.max(graph.edge_name[e] as usize),
            "internal" if graph.edge_name_str(e) == Some("scope_info") => {
                scope_info = Some(graph.edge_to[e]);
            }
            _ => {}
        }
    }
    let scope_info = scope_info?;
    if graph.node_name_raw(scope_info) != Some("system / ScopeInfo") {
        return None;
    }
    let names = scope_names(graph, scope_info);
    if last >= names.len() {
        return None;
    }
    let index = graph.edge_name[edge] as usize;
    let spare = names.len() - 1 - last;
    let candidates = &names[index..=(index + spare).min(names.len() - 1)];
    Some(match candidates {
        [one] => SlotName::Exact((*one).to_owned()),
        many => SlotName::OneOf(many.iter().map(|s| (*s).to_owned()).collect()),
    })
}

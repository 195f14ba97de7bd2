//! A V8 heap snapshot (`.heapsnapshot` JSON) decoded into flat columns, streaming.
//!
//! The file is one JSON object: `snapshot.meta` names the node and edge fields and their types,
//! `nodes` and `edges` are flat arrays of numbers (`node_fields.len()` numbers per node), and
//! `strings` holds every name. Only the columns a retainer path needs are kept: a node's type,
//! name and edge range, an edge's type, name and target. The numbers are decoded one by one as they
//! arrive (serde_json's streaming visitors over any `Read`), so neither the text nor a tree of it
//! is ever held. Strings are kept only where they name something a report may show (class names,
//! property and variable names): the contents of the app's strings are dropped as they stream by.

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A snapshot that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SnapshotError {}

/// Node types whose name is the app's data rather than a name: never shown.
const CONTENT_TYPES: [&str; 7] = [
    "string",
    "concatenated string",
    "sliced string",
    "number",
    "regexp",
    "bigint",
    "symbol",
];

/// A decoded heap snapshot: flat columns indexed by node ordinal and by edge index.
#[derive(Debug, Default)]
pub struct HeapGraph {
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    /// Per node: index into `node_types`.
    pub node_type: Vec<u8>,
    /// Per node: index into `strings`.
    pub node_name: Vec<u32>,
    /// Per node: V8's object id.
    pub node_id: Vec<u32>,
    /// Edges of node `n` are `first_edge[n]..first_edge[n + 1]`.
    pub first_edge: Vec<u32>,
    /// Per edge: index into `edge_types`.
    pub edge_type: Vec<u8>,
    /// Per edge: an index (element and hidden edges) or an index into `strings`.
    pub edge_name: Vec<u32>,
    /// Per edge: the target's node ordinal.
    pub edge_to: Vec<u32>,
    /// Names; `None` where the string is app data that no report shows.
    pub strings: Vec<Option<Box<str>>>,
    /// Whether each node type's name is app data.
    content_type: Vec<bool>,
    /// Whether each edge type's name is a number rather than a string index.
    indexed_edge_type: Vec<bool>,
}

impl HeapGraph {
    /// Decodes a snapshot from `reader`.
    pub fn read(reader: impl Read) -> Result<Self, SnapshotError> {
        let mut de = serde_json::Deserializer::from_reader(reader);
        let mut graph = HeapGraph::default();
        let mut state = State::default();
        de::Deserializer::deserialize_map(
            &mut de,
            Top {
                graph: &mut graph,
                state: &mut state,
            },
        )
        .map_err(|e| SnapshotError(format!("not a V8 heap snapshot: {e}")))?;
        de.end()
            .map_err(|e| SnapshotError(format!("not a V8 heap snapshot: {e}")))?;
        graph.check(&state)?;
        Ok(graph)
    }

    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_type.len()
    }

    pub fn edges(&self, node: u32) -> std::ops::Range<usize> {
        self.first_edge[node as usize] as usize..self.first_edge[node as usize + 1] as usize
    }

    pub fn node_type_name(&self, node: u32) -> &str {
        &self.node_types[self.node_type[node as usize] as usize]
    }

    pub fn edge_type_name(&self, edge: usize) -> &str {
        &self.edge_types[self.edge_type[edge] as usize]
    }

    /// The node's name as a report may show it: the snapshot's name, except for nodes whose name
    /// is app data (strings, numbers, regexps...), which show as `(string)` and the like.
    pub fn node_name(&self, node: u32) -> String {
        let ty = self.node_type[node as usize] as usize;
        if self.content_type.get(ty).copied().unwrap_or(true) {
            return format!("({})", self.node_types[ty]);
        }
        self.string(self.node_name[node as usize]).to_owned()
    }

    /// The raw name for matching (class names); `None` for app data.
    pub fn node_name_raw(&self, node: u32) -> Option<&str> {
        let ty = self.node_type[node as usize] as usize;
        if self.content_type.get(ty).copied().unwrap_or(true) {
            return None;
        }
        self.strings
            .get(self.node_name[node as usize] as usize)
            .and_then(|s| s.as_deref())
    }

    /// Whether the edge's name is an index.
    pub fn edge_is_indexed(&self, edge: usize) -> bool {
        self.indexed_edge_type
            .get(self.edge_type[edge] as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The edge's name: `[i]` for an index, else the property, variable or internal name.
    pub fn edge_name(&self, edge: usize) -> String {
        if self.edge_is_indexed(edge) {
            format!("[{}]", self.edge_name[edge])
        } else {
            self.string(self.edge_name[edge]).to_owned()
        }
    }

    /// The edge's name string, when it has one.
    pub fn edge_name_str(&self, edge: usize) -> Option<&str> {
        if self.edge_is_indexed(edge) {
            return None;
        }
        self.strings
            .get(self.edge_name[edge] as usize)
            .and_then(|s| s.as_deref())
    }

    fn string(&self, index: u32) -> &str {
        self.strings
            .get(index as usize)
            .and_then(|s| s.as_deref())
            .unwrap_or("")
    }

    fn check(&mut self, state: &State) -> Result<(), SnapshotError> {
        if !state.meta_seen {
            return Err(SnapshotError(
                "not a V8 heap snapshot: no snapshot.meta".into(),
            ));
        }
        if !state.nodes_seen || !state.edges_seen || !state.strings_seen {
            return Err(SnapshotError(
                "not a V8 heap snapshot: nodes, edges or strings missing".into(),
            ));
        }
        if state.node_field != 0 || state.edge_field != 0 {
            return Err(SnapshotError(
                "corrupt heap snapshot: a node or edge is cut short".into(),
            ));
        }
        let n = self.node_count();
        if n == 0 {
            return Err(SnapshotError("empty heap snapshot".into()));
        }
        if self.first_edge.len() != n + 1 || self.first_edge[n] as usize != self.edge_count() {
            return Err(SnapshotError(
                "corrupt heap snapshot: edge counts do not add up".into(),
            ));
        }
        if self.edge_to.iter().any(|&to| to as usize >= n) {
            return Err(SnapshotError(
                "corrupt heap snapshot: an edge points past the last node".into(),
            ));
        }
        let strings = self.strings.len();
        let names_ok = self.node_name.iter().all(|&s| (s as usize) < strings)
            && (0..self.edge_count())
                .all(|e| self.edge_is_indexed(e) || (self.edge_name[e] as usize) < strings);
        if !names_ok {
            return Err(SnapshotError(
                "corrupt heap snapshot: a name points past the last string".into(),
            ));
        }
        if self
            .node_type
            .iter()
            .any(|&t| t as usize >= self.node_types.len())
            || self
                .edge_type
                .iter()
                .any(|&t| t as usize >= self.edge_types.len())
        {
            return Err(SnapshotError(
                "corrupt heap snapshot: unknown node or edge type".into(),
            ));
        }
        Ok(())
    }

    /// The string indices a report may show: names of nodes that are not app data, and names of
    /// edges that are not indices.
    fn needed_strings(&self) -> Vec<bool> {
        let mut needed = Vec::new();
        let mut mark = |i: u32| {
            let i = i as usize;
            if needed.len() <= i {
                needed.resize(i + 1, false);
            }
            needed[i] = true;
        };
        for (node, &ty) in self.node_type.iter().enumerate() {
            if !self.content_type.get(ty as usize).copied().unwrap_or(true) {
                mark(self.node_name[node]);
            }
        }
        for edge in 0..self.edge_count() {
            if !self.edge_is_indexed(edge) {
                mark(self.edge_name[edge]);
            }
        }
        needed
    }
}

/// Where the streaming decoder is.
#[derive(Debug, Default)]
struct State {
    meta_seen: bool,
    nodes_seen: bool,
    edges_seen: bool,
    strings_seen: bool,
    node_fields: usize,
    edge_fields: usize,
    /// Positions of the fields this decoder keeps: type, name, id, edge_count / type,
    /// name_or_index, to_node.
    node_slots: [usize; 4],
    edge_slots: [usize; 3],
    node_field: usize,
    edge_field: usize,
    edge_total: u64,
}

struct Top<'a> {
    graph: &'a mut HeapGraph,
    state: &'a mut State,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a heap snapshot object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "snapshot" => {
                    let value: Value = map.next_value()?;
                    read_meta(&value, self.graph, self.state).map_err(de::Error::custom)?;
                }
                "nodes" => {
                    if !self.state.meta_seen {
                        return Err(de::Error::custom("nodes before snapshot.meta"));
                    }
                    map.next_value_seed(Numbers {
                        sink: Sink::Nodes,
                        graph: self.graph,
                        state: self.state,
                    })?;
                    self.state.nodes_seen = true;
                }
                "edges" => {
                    if !self.state.meta_seen {
                        return Err(de::Error::custom("edges before snapshot.meta"));
                    }
                    map.next_value_seed(Numbers {
                        sink: Sink::Edges,
                        graph: self.graph,
                        state: self.state,
                    })?;
                    self.state.edges_seen = true;
                }
                "strings" => {
                    let needed = (self.state.nodes_seen && self.state.edges_seen)
                        .then(|| self.graph.needed_strings());
                    map.next_value_seed(Strings {
                        graph: self.graph,
                        needed,
                    })?;
                    self.state.strings_seen = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn read_meta(value: &Value, graph: &mut HeapGraph, state: &mut State) -> Result<(), String> {
    let meta = value.get("meta").ok_or("snapshot.meta missing")?;
    let names = |key: &str| -> Result<Vec<String>, String> {
        meta.get(key)
            .and_then(Value::as_array)
            .ok_or(format!("snapshot.meta.{key} missing"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("snapshot.meta.{key}"))
            })
            .collect()
    };
    let types = |key: &str| -> Result<Vec<String>, String> {
        meta.get(key)
            .and_then(|v| v.get(0))
            .and_then(Value::as_array)
            .ok_or(format!("snapshot.meta.{key}[0] missing"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("snapshot.meta.{key}"))
            })
            .collect()
    };
    let node_fields = names("node_fields")?;
    let edge_fields = names("edge_fields")?;
    let slot = |fields: &[String], name: &str| {
        fields
            .iter()
            .position(|f| f == name)
            .ok_or(format!("snapshot.meta has no {name} field"))
    };
    state.node_slots = [
        slot(&node_fields, "type")?,
        slot(&node_fields, "name")?,
        slot(&node_fields, "id")?,
        slot(&node_fields, "edge_count")?,
    ];
    state.edge_slots = [
        slot(&edge_fields, "type")?,
        slot(&edge_fields, "name_or_index")?,
        slot(&edge_fields, "to_node")?,
    ];
    state.node_fields = node_fields.len();
    state.edge_fields = edge_fields.len();
    graph.node_types = types("node_types")?;
    graph.edge_types = types("edge_types")?;
    if graph.node_types.len() > 256 || graph.edge_types.len() > 256 {
        return Err("too many node or edge types".into());
    }
    graph.content_type = graph
        .node_types
        .iter()
        .map(|t| CONTENT_TYPES.contains(&t.as_str()))
        .collect();
    graph.indexed_edge_type = graph
        .edge_types
        .iter()
        .map(|t| t == "element" || t == "hidden")
        .collect();
    let count = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
    graph.node_type.reserve(count("node_count"));
    graph.node_name.reserve(count("node_count"));
    graph.node_id.reserve(count("node_count"));
    graph.first_edge.reserve(count("node_count") + 1);
    graph.edge_type.reserve(count("edge_count"));
    graph.edge_name.reserve(count("edge_count"));
    graph.edge_to.reserve(count("edge_count"));
    graph.first_edge.push(0);
    state.meta_seen = true;
    Ok(())
}

#[derive(Clone, Copy)]
enum Sink {
    Nodes,
    Edges,
}

struct Numbers<'a> {
    sink: Sink,
    graph: &'a mut HeapGraph,
    state: &'a mut State,
}

impl<'de> DeserializeSeed<'de> for Numbers<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

fn narrow<E: de::Error>(n: u64) -> Result<u32, E> {
    u32::try_from(n).map_err(|_| E::custom("a node or edge field is out of range"))
}

impl<'de> Visitor<'de> for Numbers<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of numbers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let graph = self.graph;
        let state = self.state;
        match self.sink {
            Sink::Nodes => {
                let [ty, name, id, count] = state.node_slots;
                while let Some(n) = seq.next_element::<u64>()? {
                    let field = state.node_field;
                    if field == ty {
                        graph.node_type.push(
                            u8::try_from(n).map_err(|_| de::Error::custom("unknown node type"))?,
                        );
                    } else if field == name {
                        graph.node_name.push(narrow(n)?);
                    } else if field == id {
                        graph.node_id.push(narrow(n)?);
                    } else if field == count {
                        state.edge_total += n;
                        graph.first_edge.push(narrow(state.edge_total)?);
                    }
                    state.node_field = (field + 1) % state.node_fields;
                }
            }
            Sink::Edges => {
                let [ty, name, to] = state.edge_slots;
                let node_fields = state.node_fields as u64;
                while let Some(n) = seq.next_element::<u64>()? {
                    let field = state.edge_field;
                    if field == ty {
                        graph.edge_type.push(
                            u8::try_from(n).map_err(|_| de::Error::custom("unknown edge type"))?,
                        );
                    } else if field == name {
                        graph.edge_name.push(narrow(n)?);
                    } else if field == to {
                        if n % node_fields != 0 {
                            return Err(de::Error::custom(
                                "an edge points into the middle of a node",
                            ));
                        }
                        graph.edge_to.push(narrow(n / node_fields)?);
                    }
                    state.edge_field = (field + 1) % state.edge_fields;
                }
            }
        }
        Ok(())
    }
}

struct Strings<'a> {
    graph: &'a mut HeapGraph,
    /// Which strings to keep; `None` keeps every one (nodes and edges came after the strings).
    needed: Option<Vec<bool>>,
}

impl<'de> DeserializeSeed<'de> for Strings<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

/// One element of `strings`: kept as a name, or skipped without being stored.
struct MaybeString(bool);

impl<'de> DeserializeSeed<'de> for MaybeString {
    type Value = Option<Box<str>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.0 {
            Ok(Some(String::deserialize(d)?.into_boxed_str()))
        } else {
            IgnoredAny::deserialize(d)?;
            Ok(None)
        }
    }
}

use serde::Deserialize;

impl<'de> Visitor<'de> for Strings<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let keep = self
                .needed
                .as_ref()
                .is_none_or(|n| n.get(index).copied().unwrap_or(false));
            match seq.next_element_seed(MaybeString(keep))? {
                Some(s) => self.graph.strings.push(s),
                None => break,
            }
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny snapshot in V8's layout, written by hand: nodes are
    /// `(type, name, id, self_size, edge_count)`, edges `(type, name_or_index, to_node)`.
    pub(crate) fn snapshot(nodes: &[[u32; 5]], edges: &[[u32; 3]], strings: &[&str]) -> String {
        let flat = |rows: Vec<u32>| {
            rows.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let node_numbers = nodes.iter().flatten().copied().collect();
        let edge_numbers = edges
            .iter()
            .flat_map(|[t, n, to]| [*t, *n, to * 5])
            .collect();
        format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],
            "node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number"],
            "edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"]}},
            "node_count":{},"edge_count":{}}},
            "nodes":[{}],"edges":[{}],"locations":[],"strings":{}}}"#,
            nodes.len(),
            edges.len(),
            flat(node_numbers),
            flat(edge_numbers),
            serde_json::to_string(strings).unwrap()
        )
    }

    #[test]
    fn decodes_columns_and_keeps_names_but_not_string_contents() {
        // root(synthetic) -property "x"-> Foo(object) -property "s"-> "secret"(string)
        let text = snapshot(
            &[[9, 0, 1, 0, 1], [3, 1, 3, 16, 1], [2, 2, 5, 24, 0]],
            &[[2, 3, 1], [2, 4, 2]],
            &["", "Foo", "secret-token", "x", "s"],
        );
        let graph = HeapGraph::read(text.as_bytes()).unwrap();
        assert_eq!(graph.node_count(), 3);
        assert_eq!(graph.edge_count(), 2);
        assert_eq!(graph.edges(0), 0..1);
        assert_eq!(graph.edges(1), 1..2);
        assert_eq!(graph.edges(2), 2..2);
        assert_eq!(graph.edge_to, vec![1, 2]);
        assert_eq!(graph.node_name(1), "Foo");
        assert_eq!(graph.node_name(2), "(string)");
        assert_eq!(graph.edge_name(1), "s");
        assert_eq!(graph.node_id, vec![1, 3, 5]);
        assert!(
            !graph.strings.iter().flatten().any(|s| s.contains("secret")),
            "string contents are dropped while streaming"
        );
    }

    #[test]
    fn reads_from_a_reader_in_small_pieces() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let text = snapshot(
            &[[9, 0, 1, 0, 1], [3, 1, 3, 16, 0]],
            &[[1, 0, 1]],
            &["", "Foo"],
        );
        let graph = HeapGraph::read(Trickle(text.as_bytes())).unwrap();
        assert_eq!(graph.edge_name(0), "[0]");
        assert_eq!(graph.node_name(1), "Foo");
    }

    #[test]
    fn refuses_what_is_not_a_snapshot_with_a_clear_reason() {
        let cases = [
            ("", "not a V8 heap snapshot"),
            ("[1,2,3]", "not a V8 heap snapshot"),
            (r#"{"a":1}"#, "no snapshot.meta"),
            ("{\"snapshot\":{", "not a V8 heap snapshot"),
        ];
        for (text, reason) in cases {
            let error = HeapGraph::read(text.as_bytes()).unwrap_err();
            assert!(error.0.contains(reason), "{text:?}: {error}");
        }
        // An edge to a node that does not exist.
        let text = snapshot(&[[9, 0, 1, 0, 1]], &[[2, 0, 7]], &[""]);
        assert!(HeapGraph::read(text.as_bytes())
            .unwrap_err()
            .0
            .contains("past the last node"));
        // Edge counts that claim more edges than there are.
        let text = snapshot(&[[9, 0, 1, 0, 2]], &[[2, 0, 0]], &[""]);
        assert!(HeapGraph::read(text.as_bytes())
            .unwrap_err()
            .0
            .contains("do not add up"));
    }
}

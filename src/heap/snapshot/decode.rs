//! The streaming scanner: the text in chunks of any size into the columns of [`HeapGraph`].

use serde_json::Value;

use super::graph::*;
use super::graph::{HeapGraph, SnapshotError};

/// What the decoder has learnt from `snapshot.meta`, and how far it is into the arrays.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) meta_seen: bool,
    pub(super) nodes_seen: bool,
    pub(super) edges_seen: bool,
    pub(super) strings_seen: bool,
    pub(super) locations_seen: bool,
    /// `trace_function_infos`: fields per function, the positions of name, script_name, line and
    /// column (`usize::MAX` when absent), the field being read and the function being built.
    pub(super) function_fields: usize,
    pub(super) function_slots: [usize; 4],
    pub(super) function_field: usize,
    pub(super) function: [u32; 4],
    /// `trace_tree`: fields per node and the positions of id, function_info_index and children;
    /// the field being read in the current array, the node's id and function read so far, and
    /// the callers of the arrays entered (their ids).
    pub(super) tree_fields: usize,
    pub(super) tree_slots: [usize; 3],
    pub(super) tree_field: usize,
    pub(super) tree_node: [u32; 2],
    pub(super) tree_stack: Vec<u32>,
    pub(super) node_fields: usize,
    pub(super) edge_fields: usize,
    pub(super) location_fields: usize,
    /// Positions of the fields this decoder keeps: type, name, id, edge_count, self_size,
    /// trace_node_id (`usize::MAX` when absent) / type, name_or_index, to_node / object_index,
    /// script_id, line, column.
    pub(super) node_slots: [usize; 6],
    pub(super) edge_slots: [usize; 3],
    pub(super) location_slots: [usize; 4],
    pub(super) node_field: usize,
    /// Nodes read whole so far.
    pub(super) node_index: usize,
    pub(super) edge_field: usize,
    pub(super) location_field: usize,
    pub(super) location: [u32; 4],
    pub(super) edge_total: u64,
    /// `snapshot.node_count` and `snapshot.edge_count`, when given: checked at the end.
    pub(super) node_claim: Option<u64>,
    pub(super) edge_claim: Option<u64>,
}

/// Which number array the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Array {
    Nodes,
    Edges,
    Locations,
    Functions,
}

/// Where the scanner is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Mode {
    /// Before the opening `{`.
    #[default]
    Start,
    /// Expecting a key, or the closing `}` (`first`: no key yet).
    Key {
        first: bool,
    },
    /// Inside a key.
    KeyBody,
    Colon,
    /// Expecting the value of the key just read.
    Value,
    /// Inside a value this decoder does not need (`capture`: except `snapshot`, kept whole).
    Other {
        capture: bool,
    },
    /// Inside `nodes`, `edges` or `locations`.
    Numbers {
        array: Array,
    },
    /// Inside `trace_tree`, nested arrays of numbers.
    Tree,
    /// Inside `strings`, expecting an element, `,` or `]`.
    Strings,
    /// Inside one element of `strings`.
    StringBody,
    /// After a value: `,` or `}`.
    Next,
    /// After the closing `}`.
    Done,
}

/// A snapshot decoder fed in chunks: see the module's documentation.
#[derive(Debug, Default)]
pub struct Decoder {
    pub(super) graph: HeapGraph,
    pub(super) state: State,
    pub(super) mode: Mode,
    /// Bytes of the key, of `snapshot`'s value, or of a string element being kept.
    pub(super) raw: Vec<u8>,
    pub(super) key: Vec<u8>,
    /// Skipping or capturing a value: nesting depth, and whether inside a string (after `\`).
    pub(super) depth: u32,
    pub(super) in_string: bool,
    pub(super) escaped: bool,
    /// A scalar value (number or literal) being skipped.
    pub(super) scalar: bool,
    /// The number being read, and whether it has digits.
    pub(super) number: u64,
    pub(super) digits: bool,
    /// Whitespace ended the number; the next byte must be `,` or `]`.
    pub(super) number_done: bool,
    /// Strings: which to keep, the index of the current one, whether it is kept and has escapes.
    pub(super) needed: Option<Vec<bool>>,
    pub(super) string_index: usize,
    pub(super) keep: bool,
    pub(super) string_escaped: bool,
    /// Bytes fed so far, for error messages.
    pub(super) offset: u64,
    /// The size of the whole text when known: it bounds what the counts in `snapshot` may reserve.
    pub(super) size_hint: Option<u64>,
}

pub(super) fn not_snapshot(offset: u64, what: &str) -> SnapshotError {
    SnapshotError(format!("not a V8 heap snapshot: {what} at byte {offset}"))
}

/// Without a known size, the most elements a count in `snapshot.meta` may reserve per column
/// (16 Mi); past it the columns grow as the numbers come.
pub(super) const RESERVE_CAP: u64 = 1 << 24;

impl Decoder {
    /// A decoder for a text of `size` bytes (a file's length): the counts the text claims reserve
    /// no more than its bytes could hold.
    pub fn with_size_hint(size: u64) -> Self {
        Self {
            size_hint: Some(size),
            ..Self::default()
        }
    }

    /// Scans the next chunk of the text.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SnapshotError> {
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            match self.mode {
                Mode::Numbers { array } => {
                    // The hot loop: digits straight into the number, separators emit it.
                    let mut j = i;
                    while j < chunk.len() {
                        let b = chunk[j];
                        if b.is_ascii_digit() {
                            if self.number_done {
                                return Err(not_snapshot(
                                    self.offset + j as u64,
                                    "a space inside a number",
                                ));
                            }
                            self.number = self
                                .number
                                .checked_mul(10)
                                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                                .ok_or_else(|| {
                                    not_snapshot(self.offset + j as u64, "a number out of range")
                                })?;
                            self.digits = true;
                        } else if b == b',' || b == b']' {
                            if self.digits {
                                self.emit(array)?;
                            } else if b == b',' {
                                return Err(not_snapshot(
                                    self.offset + j as u64,
                                    "an empty array element",
                                ));
                            }
                            self.number = 0;
                            self.digits = false;
                            self.number_done = false;
                            if b == b']' {
                                match array {
                                    Array::Nodes => self.state.nodes_seen = true,
                                    Array::Edges => self.state.edges_seen = true,
                                    Array::Locations => self.state.locations_seen = true,
                                    Array::Functions => {}
                                }
                                self.mode = Mode::Next;
                                j += 1;
                                break;
                            }
                        } else if b.is_ascii_whitespace() {
                            self.number_done = self.digits;
                        } else {
                            return Err(not_snapshot(
                                self.offset + j as u64,
                                "not a whole number in nodes, edges or locations",
                            ));
                        }
                        j += 1;
                    }
                    i = j;
                    continue;
                }
                Mode::Start => match b {
                    b'{' => self.mode = Mode::Key { first: true },
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(not_snapshot(self.offset + i as u64, "expected '{'")),
                },
                Mode::Key { first } => match b {
                    b'"' => {
                        self.key.clear();
                        self.escaped = false;
                        self.mode = Mode::KeyBody;
                    }
                    b'}' if first => self.mode = Mode::Done,
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(not_snapshot(self.offset + i as u64, "expected a key")),
                },
                Mode::KeyBody => {
                    if self.escaped {
                        self.escaped = false;
                        self.key.push(b);
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.mode = Mode::Colon;
                    } else {
                        self.key.push(b);
                    }
                }
                Mode::Colon => match b {
                    b':' => self.mode = Mode::Value,
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(not_snapshot(self.offset + i as u64, "expected ':'")),
                },
                Mode::Value => {
                    if b.is_ascii_whitespace() {
                        i += 1;
                        continue;
                    }
                    let at = self.offset + i as u64;
                    match self.key.as_slice() {
                        b"trace_tree" => {
                            if !self.state.meta_seen {
                                return Err(not_snapshot(at, "trace_tree before snapshot.meta"));
                            }
                            if b != b'[' {
                                return Err(not_snapshot(at, "trace_tree must be an array"));
                            }
                            self.number = 0;
                            self.digits = false;
                            self.state.tree_field = 0;
                            self.state.tree_stack.clear();
                            self.state.tree_stack.push(NO_CALLER);
                            self.mode = Mode::Tree;
                        }
                        b"nodes" | b"edges" | b"locations" | b"trace_function_infos" => {
                            if !self.state.meta_seen {
                                return Err(not_snapshot(
                                    at,
                                    "nodes or edges before snapshot.meta",
                                ));
                            }
                            if b != b'[' {
                                return Err(not_snapshot(at, "nodes and edges must be arrays"));
                            }
                            self.number = 0;
                            self.digits = false;
                            self.number_done = false;
                            self.mode = Mode::Numbers {
                                array: match self.key.as_slice() {
                                    b"nodes" => Array::Nodes,
                                    b"edges" => Array::Edges,
                                    b"locations" => Array::Locations,
                                    _ => Array::Functions,
                                },
                            };
                        }
                        b"strings" => {
                            if b != b'[' {
                                return Err(not_snapshot(at, "strings must be an array"));
                            }
                            self.needed = (self.state.nodes_seen && self.state.edges_seen)
                                .then(|| self.graph.needed_strings());
                            self.string_index = 0;
                            self.mode = Mode::Strings;
                        }
                        key => {
                            let capture = key == b"snapshot";
                            self.raw.clear();
                            self.depth = 0;
                            self.in_string = false;
                            self.escaped = false;
                            self.scalar = false;
                            self.mode = Mode::Other { capture };
                            // The value's first byte goes through the same scan.
                            continue;
                        }
                    }
                }
                Mode::Other { capture } => {
                    if self.scalar && (b == b',' || b == b'}' || b.is_ascii_whitespace()) {
                        // The end of a number or literal: this byte belongs to what follows.
                        self.mode = Mode::Next;
                        continue;
                    }
                    if capture {
                        self.raw.push(b);
                    }
                    if self.in_string {
                        if self.escaped {
                            self.escaped = false;
                        } else if b == b'\\' {
                            self.escaped = true;
                        } else if b == b'"' {
                            self.in_string = false;
                            if self.depth == 0 {
                                self.value_done(capture)?;
                            }
                        }
                    } else {
                        match b {
                            b'"' => self.in_string = true,
                            b'{' | b'[' => self.depth += 1,
                            b'}' | b']' => {
                                if self.depth == 0 {
                                    return Err(not_snapshot(
                                        self.offset + i as u64,
                                        "unbalanced brackets",
                                    ));
                                }
                                self.depth -= 1;
                                if self.depth == 0 {
                                    self.value_done(capture)?;
                                }
                            }
                            _ if self.depth == 0 => self.scalar = true,
                            _ => {}
                        }
                    }
                }
                Mode::Tree => self.tree_byte(b, self.offset + i as u64)?,
                Mode::Strings => match b {
                    b'"' => {
                        self.keep = self
                            .needed
                            .as_ref()
                            .is_none_or(|n| n.get(self.string_index).copied().unwrap_or(false));
                        self.raw.clear();
                        self.escaped = false;
                        self.string_escaped = false;
                        self.mode = Mode::StringBody;
                    }
                    b']' => {
                        self.state.strings_seen = true;
                        self.mode = Mode::Next;
                    }
                    b',' => {}
                    b if b.is_ascii_whitespace() => {}
                    _ => {
                        return Err(not_snapshot(
                            self.offset + i as u64,
                            "strings must hold strings",
                        ))
                    }
                },
                Mode::StringBody => {
                    // Skip to the closing quote, keeping the bytes only of the strings a report
                    // may show.
                    let mut j = i;
                    while j < chunk.len() {
                        let b = chunk[j];
                        if self.escaped {
                            self.escaped = false;
                        } else if b == b'\\' {
                            self.escaped = true;
                            self.string_escaped = true;
                        } else if b == b'"' {
                            break;
                        }
                        j += 1;
                    }
                    if self.keep {
                        self.raw.extend_from_slice(&chunk[i..j]);
                    }
                    if j < chunk.len() {
                        let name = if self.keep {
                            Some(unescape(&self.raw, self.string_escaped).ok_or_else(|| {
                                not_snapshot(self.offset + j as u64, "a malformed string")
                            })?)
                        } else {
                            None
                        };
                        self.graph.strings.push(name);
                        self.string_index += 1;
                        self.mode = Mode::Strings;
                        j += 1;
                    }
                    i = j;
                    continue;
                }
                Mode::Next => match b {
                    b',' => self.mode = Mode::Key { first: false },
                    b'}' => self.mode = Mode::Done,
                    b if b.is_ascii_whitespace() => {}
                    _ => return Err(not_snapshot(self.offset + i as u64, "expected ',' or '}'")),
                },
                Mode::Done => {
                    if !b.is_ascii_whitespace() {
                        return Err(not_snapshot(self.offset + i as u64, "text after the end"));
                    }
                }
            }
            i += 1;
        }
        self.offset += chunk.len() as u64;
        Ok(())
    }

    /// Ends the text: the decoded graph, checked.
    pub fn finish(mut self) -> Result<HeapGraph, SnapshotError> {
        match self.mode {
            Mode::Done => {}
            Mode::Start if self.offset == 0 => {
                return Err(SnapshotError(
                    "not a V8 heap snapshot: the file is empty".into(),
                ))
            }
            _ => {
                return Err(SnapshotError(format!(
                    "not a V8 heap snapshot: the text ends early, at byte {}",
                    self.offset
                )))
            }
        }
        self.graph.check(&self.state)?;
        self.graph.forget_unscoped_strings();
        self.graph.withhold_names();
        // By node, so that a function's position is a binary search away (summary::location).
        self.graph.locations.sort_unstable_by_key(|l| l[0]);
        Ok(self.graph)
    }

    pub(super) fn value_done(&mut self, capture: bool) -> Result<(), SnapshotError> {
        self.mode = Mode::Next;
        if capture {
            let value: Value = serde_json::from_slice(&self.raw)
                .map_err(|e| SnapshotError(format!("not a V8 heap snapshot: snapshot: {e}")))?;
            read_meta(&value, &mut self.graph, &mut self.state, self.size_hint)
                .map_err(|e| SnapshotError(format!("not a V8 heap snapshot: {e}")))?;
            self.raw = Vec::new();
        }
        Ok(())
    }

    /// One byte of `trace_tree`: each node is `tree_fields` values, one of them (`children`) the
    /// array of its callees, in the same layout. Read with a stack of callers, not recursion.
    pub(super) fn tree_byte(&mut self, b: u8, at: u64) -> Result<(), SnapshotError> {
        let state = &mut self.state;
        let [id_slot, function_slot, children_slot] = state.tree_slots;
        if b.is_ascii_digit() {
            self.number = self
                .number
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| not_snapshot(at, "a number out of range"))?;
            self.digits = true;
            return Ok(());
        }
        if b.is_ascii_whitespace() {
            return Ok(());
        }
        if self.digits {
            if state.tree_field == children_slot || state.tree_fields == 0 {
                return Err(not_snapshot(at, "a number where trace_tree has callees"));
            }
            let n = u32::try_from(self.number)
                .map_err(|_| not_snapshot(at, "a number out of range"))?;
            if state.tree_field == id_slot {
                state.tree_node[0] = n;
            } else if state.tree_field == function_slot {
                state.tree_node[1] = n;
            }
            state.tree_field = (state.tree_field + 1) % state.tree_fields;
            self.number = 0;
            self.digits = false;
        }
        match b {
            b',' => {}
            b'[' => {
                if state.tree_fields == 0 || state.tree_field != children_slot {
                    return Err(not_snapshot(at, "an array where trace_tree has a number"));
                }
                let caller = state.tree_stack.last().copied().unwrap_or(NO_CALLER);
                let id = state.tree_node[0];
                if id == NO_CALLER {
                    return Err(not_snapshot(at, "a trace_tree id out of range"));
                }
                self.graph.trace_nodes.push(TraceNode {
                    id,
                    caller,
                    function: state.tree_node[1],
                });
                state.tree_stack.push(id);
                state.tree_node = [0; 2];
                state.tree_field = 0;
            }
            b']' => {
                if state.tree_field != 0 {
                    return Err(not_snapshot(at, "a trace_tree node cut short"));
                }
                state.tree_stack.pop();
                if state.tree_stack.is_empty() {
                    self.graph.trace_nodes.sort_unstable_by_key(|t| t.id);
                    self.mode = Mode::Next;
                } else {
                    // Back in the caller's array, after the callees: the next value is a field
                    // after `children` (or the next sibling's first).
                    state.tree_field = (children_slot + 1) % state.tree_fields;
                }
            }
            _ => return Err(not_snapshot(at, "not a number in trace_tree")),
        }
        Ok(())
    }

    /// One number of `nodes`, `edges` or `locations`, into its column.
    pub(super) fn emit(&mut self, array: Array) -> Result<(), SnapshotError> {
        let n = self.number;
        let graph = &mut self.graph;
        let state = &mut self.state;
        let narrow = |n: u64| {
            u32::try_from(n).map_err(|_| {
                SnapshotError("not a V8 heap snapshot: a field is out of range".into())
            })
        };
        if array == Array::Functions {
            if state.function_fields == 0 {
                return Ok(());
            }
            let field = state.function_field;
            if let Some(slot) = state.function_slots.iter().position(|&s| s == field) {
                state.function[slot] = narrow(n)?;
            }
            state.function_field = (field + 1) % state.function_fields;
            if state.function_field == 0 {
                let [name, script, line, column] = state.function;
                graph.trace_functions.push(TraceFunction {
                    name,
                    script,
                    line,
                    column,
                });
                state.function = [0; 4];
            }
            return Ok(());
        }
        if array == Array::Locations {
            if state.location_fields == 0 {
                return Ok(());
            }
            let field = state.location_field;
            if let Some(slot) = state.location_slots.iter().position(|&s| s == field) {
                let mut value = narrow(n)?;
                if slot == 0 {
                    let fields = state.node_fields as u32;
                    if value % fields != 0 {
                        return Err(SnapshotError(
                            "not a V8 heap snapshot: a location points into the middle of a node"
                                .into(),
                        ));
                    }
                    value /= fields;
                }
                state.location[slot] = value;
            }
            state.location_field = (field + 1) % state.location_fields;
            if state.location_field == 0 {
                graph.locations.push(state.location);
            }
        } else if array == Array::Edges {
            let [ty, name, to] = state.edge_slots;
            let field = state.edge_field;
            if field == ty {
                graph.edge_type.push(narrow(n)?.try_into().map_err(|_| {
                    SnapshotError("not a V8 heap snapshot: unknown edge type".into())
                })?);
            } else if field == name {
                graph.edge_name.push(narrow(n)?);
            } else if field == to {
                let fields = state.node_fields as u64;
                if !n.is_multiple_of(fields) {
                    return Err(SnapshotError(
                        "not a V8 heap snapshot: an edge points into the middle of a node".into(),
                    ));
                }
                graph.edge_to.push(narrow(n / fields)?);
            }
            state.edge_field = (field + 1) % state.edge_fields;
        } else {
            let [ty, name, id, count, size, trace] = state.node_slots;
            let field = state.node_field;
            if field == ty {
                graph.node_type.push(narrow(n)?.try_into().map_err(|_| {
                    SnapshotError("not a V8 heap snapshot: unknown node type".into())
                })?);
            } else if field == name {
                graph.node_name.push(narrow(n)?);
            } else if field == id {
                graph.node_id.push(narrow(n)?);
            } else if field == count {
                state.edge_total = state.edge_total.saturating_add(n);
                graph.first_edge.push(narrow(state.edge_total)?);
            } else if field == size {
                graph.self_size.push(u32::try_from(n).unwrap_or(u32::MAX));
            } else if field == trace {
                // Kept only once a node has one: most snapshots have none.
                if n != 0 && graph.trace_node_id.is_empty() {
                    graph.trace_node_id.resize(state.node_index, 0);
                }
                if !graph.trace_node_id.is_empty() {
                    graph.trace_node_id.push(narrow(n)?);
                }
            }
            state.node_field = (field + 1) % state.node_fields;
            if state.node_field == 0 {
                state.node_index += 1;
            }
        }
        Ok(())
    }
}

/// The text of a JSON string's body (between the quotes). Escaped lone surrogates, which V8 writes
/// for JavaScript strings that hold them, become U+FFFD. `None` for a malformed body.
pub(super) fn unescape(body: &[u8], escaped: bool) -> Option<Box<str>> {
    if !escaped {
        return Some(String::from_utf8_lossy(body).into());
    }
    let mut units: Vec<u16> = Vec::with_capacity(body.len());
    let mut text = String::with_capacity(body.len());
    let flush = |units: &mut Vec<u16>, text: &mut String| {
        text.extend(char::decode_utf16(units.drain(..)).map(|c| c.unwrap_or('\u{FFFD}')));
    };
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'\\' {
            flush(&mut units, &mut text);
            let end = body[i..]
                .iter()
                .position(|&c| c == b'\\')
                .map_or(body.len(), |p| i + p);
            text.push_str(&String::from_utf8_lossy(&body[i..end]));
            i = end;
            continue;
        }
        let kind = *body.get(i + 1)?;
        i += 2;
        let simple = match kind {
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'/' => Some('/'),
            b'b' => Some('\u{8}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'u' => None,
            _ => return None,
        };
        match simple {
            Some(c) => {
                flush(&mut units, &mut text);
                text.push(c);
            }
            None => {
                let hex = std::str::from_utf8(body.get(i..i + 4)?).ok()?;
                units.push(u16::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
        }
    }
    flush(&mut units, &mut text);
    Some(text.into_boxed_str())
}

pub(super) fn read_meta(
    value: &Value,
    graph: &mut HeapGraph,
    state: &mut State,
    size_hint: Option<u64>,
) -> Result<(), String> {
    let meta = value.get("meta").ok_or("snapshot.meta missing")?;
    // A list of strings: `meta[key]` itself, or (for the type lists) its first element.
    let strings = |key: &str, nested: bool| -> Result<Vec<String>, String> {
        let value = meta.get(key);
        let value = if nested {
            value.and_then(|v| v.get(0))
        } else {
            value
        };
        value
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
    let names = |key: &str| strings(key, false);
    let types = |key: &str| strings(key, true);
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
        slot(&node_fields, "self_size").unwrap_or(usize::MAX),
        slot(&node_fields, "trace_node_id").unwrap_or(usize::MAX),
    ];
    if let Ok(location_fields) = names("location_fields") {
        let slots = [
            slot(&location_fields, "object_index"),
            slot(&location_fields, "script_id"),
            slot(&location_fields, "line"),
            slot(&location_fields, "column"),
        ];
        if let [Ok(a), Ok(b), Ok(c), Ok(d)] = slots {
            state.location_slots = [a, b, c, d];
            state.location_fields = location_fields.len();
        }
    }
    if let Ok(fields) = names("trace_function_info_fields") {
        let find = |name: &str| fields.iter().position(|f| f == name).unwrap_or(usize::MAX);
        state.function_slots = [
            find("name"),
            find("script_name"),
            find("line"),
            find("column"),
        ];
        state.function_fields = fields.len();
    }
    if let Ok(fields) = names("trace_node_fields") {
        let (id, function, children) = (
            slot(&fields, "id")?,
            slot(&fields, "function_info_index")?,
            slot(&fields, "children")?,
        );
        state.tree_slots = [id, function, children];
        state.tree_fields = fields.len();
    }
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
    graph.object_type = graph
        .node_types
        .iter()
        .position(|t| t == "object")
        .and_then(|i| u8::try_from(i).ok());
    graph.property_type = graph
        .edge_types
        .iter()
        .position(|t| t == "property")
        .and_then(|i| u8::try_from(i).ok());
    let claim = |key: &str| match value.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or(format!("snapshot.{key} is not a count")),
    };
    state.node_claim = claim("node_count")?;
    state.edge_claim = claim("edge_count")?;
    // A count reserves no more than the text could hold: each number takes at least two bytes
    // (a digit and a comma). A file that claims more is refused at the end, once it is read.
    let bound = |claimed: Option<u64>, fields: usize| -> usize {
        let most = size_hint.map_or(RESERVE_CAP, |size| size / (2 * fields.max(1) as u64));
        usize::try_from(claimed.unwrap_or(0).min(most)).unwrap_or(0)
    };
    let nodes = bound(state.node_claim, state.node_fields);
    let edges = bound(state.edge_claim, state.edge_fields);
    graph.node_type.reserve(nodes);
    graph.node_name.reserve(nodes);
    graph.node_id.reserve(nodes);
    graph.first_edge.reserve(nodes.saturating_add(1));
    if state.node_slots[4] != usize::MAX {
        graph.self_size.reserve(nodes);
    }
    graph.edge_type.reserve(edges);
    graph.edge_name.reserve(edges);
    graph.edge_to.reserve(edges);
    graph.first_edge.push(0);
    state.meta_seen = true;
    Ok(())
}

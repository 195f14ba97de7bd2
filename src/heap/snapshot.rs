//! A V8 heap snapshot (`.heapsnapshot` JSON) decoded into flat columns, streaming.
//!
//! The file is one JSON object: `snapshot.meta` names the node and edge fields and their types,
//! `nodes` and `edges` are flat arrays of numbers (`node_fields.len()` numbers per node), and
//! `strings` holds every name. Only the columns a retainer path needs are kept: a node's type,
//! name and edge range, an edge's type, name and target.
//!
//! [`Decoder`] takes the text in chunks of any size, as V8 or a file hands them over, and never
//! holds more than the current chunk: the number arrays, which are nearly all of a snapshot, are
//! scanned byte by byte straight into the columns (a general JSON parser's per-element visitor
//! calls cost about four times as much here); the small `snapshot.meta` object is parsed by
//! serde_json. Strings are kept only where they name something a report may show (class names,
//! property and variable names): the contents of the app's strings are skipped unread.

use std::fmt;
use std::io::Read;

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
    /// Per node: its own size in bytes, saturated at `u32::MAX` (V8 writes a number; a heap
    /// object of 4 GiB or more does not exist in V8's heap, whose large objects are far smaller).
    pub self_size: Vec<u32>,
    /// Per node: its allocation trace node (0 for none); empty when no node has one.
    pub trace_node_id: Vec<u32>,
    /// Source positions of functions: `[node ordinal, script_id, line, column]` (line and column
    /// from 0), sorted by node once decoded.
    pub locations: Vec<[u32; 4]>,
    /// The functions of allocation traces (`trace_function_infos`): empty unless the snapshot was
    /// taken while V8 tracked allocations.
    pub trace_functions: Vec<TraceFunction>,
    /// The allocation call tree (`trace_tree`), flattened, sorted by id once decoded.
    pub trace_nodes: Vec<TraceNode>,
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
    /// Strings kept while decoding only because a `code` node holds them by a hidden edge (a
    /// scope's variable names): see `needed_strings`.
    scoped_strings: Vec<bool>,
    /// The indices of the node type `object` and the edge type `property`, for the rules on names.
    object_type: Option<u8>,
    property_type: Option<u8>,
}

/// A function of an allocation trace: its name and script (indices into `strings`) and the
/// position V8 gives it, `line` and `column` from 1 (0 when unknown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceFunction {
    pub name: u32,
    pub script: u32,
    pub line: u32,
    pub column: u32,
}

/// A node of the allocation call tree: its id (what a heap node's `trace_node_id` names), its
/// caller's id ([`NO_CALLER`] for the root) and its function (an index into `trace_functions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceNode {
    pub id: u32,
    pub caller: u32,
    pub function: u32,
}

/// The caller of the trace tree's root.
pub const NO_CALLER: u32 = u32::MAX;

/// A frame of an allocation stack, as a report shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    pub function: String,
    pub script: String,
    pub line: u32,
    pub column: u32,
}

/// Stands in for the name of an object whose name is not a name from code (see
/// [`HeapGraph::node_name`]).
pub const WITHHELD: &str = "Object (name withheld)";

/// Stands in for a property name that is not an identifier (see [`HeapGraph::edge_name`]).
pub const WITHHELD_PROPERTY: &str = "(property)";

/// Whether a property name reads like code: an ASCII identifier of at most 64 characters, or a
/// symbol (`<symbol description>`) whose description is one or a dotted run of them.
fn code_like_property(name: &str) -> bool {
    let identifier = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && !s.as_bytes()[0].is_ascii_digit()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    if let Some(description) = name
        .strip_prefix("<symbol")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        let description = description.trim_start();
        return description.is_empty()
            || description
                .split(['.', ':', '/'])
                .all(|part| part.is_empty() || identifier(part));
    }
    identifier(name)
}

/// The string index of a withheld object name.
const WITHHELD_NAME: u32 = u32::MAX;

/// Names V8 gives objects of its own that no function in the snapshot is called: shown as they
/// are. (Measured on Node 20: namespaces, iterators and `Intl` / `WebAssembly` classes.)
const BUILTIN_NAMES: [&str; 20] = [
    "global",
    "Atomics",
    "JSON",
    "Math",
    "Reflect",
    "Intl",
    "WebAssembly",
    "console",
    "Generator",
    "AsyncGenerator",
    "Array Iterator",
    "Map Iterator",
    "Set Iterator",
    "String Iterator",
    "RegExp String Iterator",
    "Segmenter String Iterator",
    "Async-from-Sync Iterator",
    "URLSearchParams Iterator",
    "Object",
    "Array",
];

/// Whether `name` is one of V8's own names for objects.
fn builtin_name(name: &str) -> bool {
    BUILTIN_NAMES.contains(&name)
        || name.starts_with("system / ")
        || name.starts_with("Intl.")
        || name.starts_with("WebAssembly.")
}

impl HeapGraph {
    /// Decodes a snapshot from `reader`, a megabyte at a time.
    pub fn read(reader: impl Read) -> Result<Self, SnapshotError> {
        Self::read_with(reader, Decoder::default())
    }

    /// Decodes the snapshot file at `path`, reserving no more than its size justifies.
    pub fn read_file(path: &std::path::Path) -> Result<Self, SnapshotError> {
        let file = std::fs::File::open(path)
            .map_err(|e| SnapshotError(format!("cannot read {}: {e}", path.display())))?;
        let size = file.metadata().map(|m| m.len()).ok();
        let decoder = size.map_or_else(Decoder::default, Decoder::with_size_hint);
        Self::read_with(file, decoder)
    }

    fn read_with(mut reader: impl Read, mut decoder: Decoder) -> Result<Self, SnapshotError> {
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SnapshotError(format!("cannot read the snapshot: {e}"))),
            };
            decoder.feed(&buffer[..n])?;
        }
        decoder.finish()
    }

    /// Decodes a snapshot held in memory.
    pub fn from_slice(text: &[u8]) -> Result<Self, SnapshotError> {
        let mut decoder = Decoder::with_size_hint(text.len() as u64);
        decoder.feed(text)?;
        decoder.finish()
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
    /// is app data (strings, numbers, regexps...), which show as `(string)` and the like, and
    /// objects whose name is not a name from code, which show as [`WITHHELD`].
    ///
    /// V8 names an object after its constructor, or after its `Symbol.toStringTag`, which an app
    /// may set to anything (`{ [Symbol.toStringTag]: token }`). So an object's name is shown only
    /// when a function of the snapshot has that name (a class or constructor: V8 names closures
    /// after the code), or when it is one of V8's own names (`system / Context`, `Map Iterator`,
    /// `Intl.Collator`...).
    pub fn node_name(&self, node: u32) -> String {
        let ty = self.node_type[node as usize] as usize;
        if self.content_type.get(ty).copied().unwrap_or(true) {
            return format!("({})", self.node_types[ty]);
        }
        if self.node_name[node as usize] == WITHHELD_NAME {
            return WITHHELD.to_owned();
        }
        self.string(self.node_name[node as usize]).to_owned()
    }

    /// The raw name for matching (class names); `None` for app data and withheld names.
    pub fn node_name_raw(&self, node: u32) -> Option<&str> {
        let ty = self.node_type[node as usize] as usize;
        if self.content_type.get(ty).copied().unwrap_or(true) {
            return None;
        }
        self.strings
            .get(self.node_name[node as usize] as usize)
            .and_then(|s| s.as_deref())
    }

    /// Whether the node's name was withheld (see [`HeapGraph::node_name`]).
    pub fn name_withheld(&self, node: u32) -> bool {
        self.node_name[node as usize] == WITHHELD_NAME
    }

    /// The node's V8 object id.
    pub fn node_id(&self, node: u32) -> u32 {
        self.node_id[node as usize]
    }

    /// The node's own size in bytes.
    pub fn self_size(&self, node: u32) -> u32 {
        self.self_size.get(node as usize).copied().unwrap_or(0)
    }

    /// Applies the rule on object names of [`HeapGraph::node_name`]: the names of objects that
    /// are neither a function's name in this snapshot nor one of V8's are replaced by
    /// [`WITHHELD_NAME`], and their text is dropped when nothing else names it.
    fn withhold_names(&mut self) {
        let Some(object) = self.object_type else {
            return;
        };
        let closure = self.node_types.iter().position(|t| t == "closure");
        let mut code_name = vec![false; self.strings.len()];
        for (node, &ty) in self.node_type.iter().enumerate() {
            if Some(ty as usize) == closure {
                if let Some(flag) = code_name.get_mut(self.node_name[node] as usize) {
                    *flag = true;
                }
            }
        }
        for (s, flag) in code_name.iter_mut().enumerate() {
            if !*flag {
                *flag = self.strings[s].as_deref().is_some_and(builtin_name);
            }
        }
        let mut withheld = false;
        for (node, &ty) in self.node_type.iter().enumerate() {
            let name = self.node_name[node] as usize;
            if ty == object && !code_name.get(name).copied().unwrap_or(false) {
                self.node_name[node] = WITHHELD_NAME;
                withheld = true;
            }
        }
        if withheld {
            let needed = self.needed_strings();
            for (s, text) in self.strings.iter_mut().enumerate() {
                if !needed.get(s).copied().unwrap_or(false) {
                    *text = None;
                }
            }
        }
    }

    /// Where `node` was allocated: the functions of its allocation trace, innermost first, up to
    /// `limit` frames (the tree's root, V8's `(root)`, left out). Empty when the snapshot has no
    /// trace for it.
    pub fn allocation_stack(&self, node: u32, limit: usize) -> Vec<Frame> {
        let trace = self.trace_node_id.get(node as usize).copied().unwrap_or(0);
        let mut frames = Vec::new();
        if trace == 0 {
            return frames;
        }
        let mut id = trace;
        while frames.len() < limit {
            let Ok(at) = self.trace_nodes.binary_search_by_key(&id, |t| t.id) else {
                break;
            };
            let t = self.trace_nodes[at];
            if t.caller == NO_CALLER {
                break;
            }
            if let Some(f) = self.trace_functions.get(t.function as usize) {
                frames.push(Frame {
                    function: self.string(f.name).to_owned(),
                    script: self.string(f.script).to_owned(),
                    line: f.line,
                    column: f.column,
                });
            }
            id = t.caller;
        }
        frames
    }

    /// The innermost function of `node`'s allocation trace whose script is not Node's own
    /// (`node:...`, or none): an index into `trace_functions`.
    pub fn allocation_site(&self, node: u32) -> Option<u32> {
        let mut id = self.trace_node_id.get(node as usize).copied().unwrap_or(0);
        for _ in 0..256 {
            if id == 0 || id == NO_CALLER {
                return None;
            }
            let at = self.trace_nodes.binary_search_by_key(&id, |t| t.id).ok()?;
            let t = self.trace_nodes[at];
            let f = self.trace_functions.get(t.function as usize)?;
            let script = self.string(f.script);
            if !script.is_empty() && !script.starts_with("node:") {
                return Some(t.function);
            }
            id = t.caller;
        }
        None
    }

    /// Whether the edge's name is an index.
    pub fn edge_is_indexed(&self, edge: usize) -> bool {
        self.indexed_edge_type
            .get(self.edge_type[edge] as usize)
            .copied()
            .unwrap_or(false)
    }

    /// The edge's name as a report may show it: `[i]` for an index, else the property, variable
    /// or internal name. A property whose name is not an identifier (`cache[email] = ...`,
    /// `headers['x-token']`, a numeric key) is named by the app's data, not its code: it shows as
    /// [`WITHHELD_PROPERTY`].
    pub fn edge_name(&self, edge: usize) -> String {
        if self.edge_is_indexed(edge) {
            return format!("[{}]", self.edge_name[edge]);
        }
        let name = self.string(self.edge_name[edge]);
        if Some(self.edge_type[edge]) == self.property_type && !code_like_property(name) {
            return WITHHELD_PROPERTY.to_owned();
        }
        name.to_owned()
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
        for (claim, count, what) in [
            (state.node_claim, n, "node_count"),
            (state.edge_claim, self.edge_count(), "edge_count"),
        ] {
            if let Some(claim) = claim.filter(|&c| c != count as u64) {
                return Err(SnapshotError(format!(
                    "corrupt heap snapshot: snapshot.{what} says {claim}, the file holds {count}"
                )));
            }
        }
        if state.location_field != 0 {
            return Err(SnapshotError(
                "corrupt heap snapshot: a location is cut short".into(),
            ));
        }
        if self.locations.iter().any(|l| l[0] as usize >= n) {
            return Err(SnapshotError(
                "corrupt heap snapshot: a location points past the last node".into(),
            ));
        }
        if !self.trace_node_id.is_empty() {
            self.trace_node_id.resize(n, 0);
        }
        if (!self.self_size.is_empty() && self.self_size.len() != n) || self.trace_node_id.len() > n
        {
            return Err(SnapshotError(
                "corrupt heap snapshot: a node is cut short".into(),
            ));
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
        if state.function_field != 0 || state.tree_field != 0 || !state.tree_stack.is_empty() {
            return Err(SnapshotError(
                "corrupt heap snapshot: an allocation trace is cut short".into(),
            ));
        }
        let functions = self.trace_functions.len();
        if self
            .trace_functions
            .iter()
            .any(|f| f.name as usize >= strings || f.script as usize >= strings)
            || self
                .trace_nodes
                .iter()
                .any(|t| t.function as usize >= functions)
        {
            return Err(SnapshotError(
                "corrupt heap snapshot: an allocation trace points past the last function or string"
                    .into(),
            ));
        }
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
    fn needed_strings(&mut self) -> Vec<bool> {
        let mut needed = Vec::new();
        let mut mark = |i: u32| {
            let i = i as usize;
            if needed.len() <= i {
                needed.resize(i + 1, false);
            }
            needed[i] = true;
        };
        for (node, &ty) in self.node_type.iter().enumerate() {
            let name = self.node_name[node];
            if name != WITHHELD_NAME && !self.content_type.get(ty as usize).copied().unwrap_or(true)
            {
                mark(name);
            }
        }
        for edge in 0..self.edge_count() {
            if !self.edge_is_indexed(edge) {
                mark(self.edge_name[edge]);
            }
        }
        // Allocation traces name functions and their scripts: code, not data.
        for f in &self.trace_functions {
            mark(f.name);
            mark(f.script);
        }
        // A scope's variable names are strings that a `system / ScopeInfo` (a `code` node) holds
        // by hidden edges. Names are not known yet: keep such strings for now, and forget, once
        // the names are read, every one that no ScopeInfo holds (`forget_unscoped_strings`).
        let mut scoped = vec![false; needed.len()];
        for node in 0..self.node_count() as u32 {
            if self.node_type_name(node) != "code" {
                continue;
            }
            for edge in self.edges(node) {
                let to = self.edge_to[edge];
                if self.edge_type_name(edge) == "hidden" && self.node_type_name(to) == "string" {
                    let i = self.node_name[to as usize] as usize;
                    if scoped.len() <= i {
                        scoped.resize(i + 1, false);
                    }
                    scoped[i] = !needed.get(i).copied().unwrap_or(false);
                }
            }
        }
        if needed.len() < scoped.len() {
            needed.resize(scoped.len(), false);
        }
        for (n, &s) in needed.iter_mut().zip(&scoped) {
            *n |= s;
        }
        self.scoped_strings = scoped;
        needed
    }

    /// Drops the strings kept for scopes' variable names that no `system / ScopeInfo` holds.
    fn forget_unscoped_strings(&mut self) {
        let scoped = std::mem::take(&mut self.scoped_strings);
        if scoped.is_empty() {
            return;
        }
        let mut confirmed = vec![false; scoped.len()];
        for node in 0..self.node_count() as u32 {
            if self.node_type_name(node) != "code"
                || self.node_name_raw(node) != Some("system / ScopeInfo")
            {
                continue;
            }
            for edge in self.edges(node) {
                let to = self.edge_to[edge];
                if self.edge_type_name(edge) == "hidden" && self.node_type_name(to) == "string" {
                    if let Some(c) = confirmed.get_mut(self.node_name[to as usize] as usize) {
                        *c = true;
                    }
                }
            }
        }
        for (i, (&s, &c)) in scoped.iter().zip(&confirmed).enumerate() {
            if s && !c {
                if let Some(slot) = self.strings.get_mut(i) {
                    *slot = None;
                }
            }
        }
    }
}

/// What the decoder has learnt from `snapshot.meta`, and how far it is into the arrays.
#[derive(Debug, Default)]
struct State {
    meta_seen: bool,
    nodes_seen: bool,
    edges_seen: bool,
    strings_seen: bool,
    locations_seen: bool,
    /// `trace_function_infos`: fields per function, the positions of name, script_name, line and
    /// column (`usize::MAX` when absent), the field being read and the function being built.
    function_fields: usize,
    function_slots: [usize; 4],
    function_field: usize,
    function: [u32; 4],
    /// `trace_tree`: fields per node and the positions of id, function_info_index and children;
    /// the field being read in the current array, the node's id and function read so far, and
    /// the callers of the arrays entered (their ids).
    tree_fields: usize,
    tree_slots: [usize; 3],
    tree_field: usize,
    tree_node: [u32; 2],
    tree_stack: Vec<u32>,
    node_fields: usize,
    edge_fields: usize,
    location_fields: usize,
    /// Positions of the fields this decoder keeps: type, name, id, edge_count, self_size,
    /// trace_node_id (`usize::MAX` when absent) / type, name_or_index, to_node / object_index,
    /// script_id, line, column.
    node_slots: [usize; 6],
    edge_slots: [usize; 3],
    location_slots: [usize; 4],
    node_field: usize,
    /// Nodes read whole so far.
    node_index: usize,
    edge_field: usize,
    location_field: usize,
    location: [u32; 4],
    edge_total: u64,
    /// `snapshot.node_count` and `snapshot.edge_count`, when given: checked at the end.
    node_claim: Option<u64>,
    edge_claim: Option<u64>,
}

/// Which number array the scanner is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Array {
    Nodes,
    Edges,
    Locations,
    Functions,
}

/// Where the scanner is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
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
    graph: HeapGraph,
    state: State,
    mode: Mode,
    /// Bytes of the key, of `snapshot`'s value, or of a string element being kept.
    raw: Vec<u8>,
    key: Vec<u8>,
    /// Skipping or capturing a value: nesting depth, and whether inside a string (after `\`).
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A scalar value (number or literal) being skipped.
    scalar: bool,
    /// The number being read, and whether it has digits.
    number: u64,
    digits: bool,
    /// Whitespace ended the number; the next byte must be `,` or `]`.
    number_done: bool,
    /// Strings: which to keep, the index of the current one, whether it is kept and has escapes.
    needed: Option<Vec<bool>>,
    string_index: usize,
    keep: bool,
    string_escaped: bool,
    /// Bytes fed so far, for error messages.
    offset: u64,
    /// The size of the whole text when known: it bounds what the counts in `snapshot` may reserve.
    size_hint: Option<u64>,
}

fn not_snapshot(offset: u64, what: &str) -> SnapshotError {
    SnapshotError(format!("not a V8 heap snapshot: {what} at byte {offset}"))
}

/// Without a known size, the most elements a count in `snapshot.meta` may reserve per column
/// (16 Mi); past it the columns grow as the numbers come.
const RESERVE_CAP: u64 = 1 << 24;

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

    fn value_done(&mut self, capture: bool) -> Result<(), SnapshotError> {
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
    fn tree_byte(&mut self, b: u8, at: u64) -> Result<(), SnapshotError> {
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
    fn emit(&mut self, array: Array) -> Result<(), SnapshotError> {
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
fn unescape(body: &[u8], escaped: bool) -> Option<Box<str>> {
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

fn read_meta(
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny snapshot in V8's layout, written by hand: nodes are
    /// `(type, name, id, self_size, edge_count)`, edges `(type, name_or_index, to_node)`.
    ///
    /// After the nodes given, one closure (type 5, no edges) is added for each name that an
    /// object (type 3) has, as in a real snapshot, where a class's constructor is in the heap
    /// beside its instances: so object names show (see [`HeapGraph::node_name`]). The ordinals of
    /// the nodes given do not change. [`snapshot_exact`] adds nothing.
    pub(crate) fn snapshot(nodes: &[[u32; 5]], edges: &[[u32; 3]], strings: &[&str]) -> String {
        let mut all = nodes.to_vec();
        let mut names: Vec<u32> = nodes.iter().filter(|n| n[0] == 3).map(|n| n[1]).collect();
        names.sort_unstable();
        names.dedup();
        for (i, name) in names.into_iter().enumerate() {
            all.push([5, name, 1_000_001 + 2 * i as u32, 0, 0]);
        }
        snapshot_exact(&all, edges, strings)
    }

    /// [`snapshot`] with exactly the nodes given.
    pub(crate) fn snapshot_exact(
        nodes: &[[u32; 5]],
        edges: &[[u32; 3]],
        strings: &[&str],
    ) -> String {
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
        assert_eq!(graph.node_count(), 4, "and the closure Foo");
        assert_eq!(graph.edge_count(), 2);
        assert_eq!(graph.edges(0), 0..1);
        assert_eq!(graph.edges(1), 1..2);
        assert_eq!(graph.edges(2), 2..2);
        assert_eq!(graph.edge_to, vec![1, 2]);
        assert_eq!(graph.node_name(1), "Foo");
        assert_eq!(graph.node_name(2), "(string)");
        assert_eq!(graph.edge_name(1), "s");
        assert_eq!(graph.node_id[..3], [1, 3, 5]);
        assert!(
            !graph.strings.iter().flatten().any(|s| s.contains("secret")),
            "string contents are dropped while streaming"
        );
    }

    #[test]
    fn keeps_the_variable_names_a_scope_info_holds_and_no_other_string_contents() {
        // root -> ScopeInfo(code) -hidden 0-> "workerLeak"(string)
        //      -> (constant pool)(code) -hidden 0-> "secret-literal"(string)
        //      -> Foo -property "s"-> "secret-data"(string)
        let text = snapshot(
            &[
                [9, 0, 1, 0, 3],
                [4, 1, 3, 0, 1],
                [2, 2, 5, 0, 0],
                [4, 3, 7, 0, 1],
                [2, 4, 9, 0, 0],
                [3, 5, 11, 0, 1],
                [2, 6, 13, 0, 0],
            ],
            &[
                [3, 7, 1],
                [3, 7, 3],
                [3, 7, 5],
                [4, 0, 2],
                [4, 0, 4],
                [2, 8, 6],
            ],
            &[
                "",
                "system / ScopeInfo",
                "workerLeak",
                "(constant pool)",
                "secret-literal",
                "Foo",
                "secret-data",
                "x",
                "s",
            ],
        );
        let graph = HeapGraph::read(text.as_bytes()).unwrap();
        assert_eq!(graph.strings[2].as_deref(), Some("workerLeak"));
        assert_eq!(
            graph.node_name(2),
            "(string)",
            "still not shown as a node name"
        );
        assert!(
            !graph.strings.iter().flatten().any(|s| s.contains("secret")),
            "{:?}",
            graph.strings
        );
    }

    #[test]
    fn a_text_split_anywhere_decodes_the_same() {
        let text = snapshot(
            &[[9, 0, 1, 0, 2], [3, 1, 3, 16, 1], [2, 2, 5, 24, 0]],
            &[[2, 3, 1], [1, 7, 2], [2, 4, 2]],
            &["", "Fo\"oEACUTE", "secret", "x", "sLONE"],
        )
        .replace("EACUTE", "\\u00e9")
        .replace("LONE", "\\ud83c");
        let whole = HeapGraph::from_slice(text.as_bytes()).unwrap();
        assert_eq!(whole.node_name(1), "Fo\"oé");
        assert_eq!(
            whole.edge_name_str(2),
            Some("s\u{FFFD}"),
            "a lone surrogate becomes U+FFFD"
        );
        for size in 1..=17 {
            let mut decoder = Decoder::default();
            for chunk in text.as_bytes().chunks(size) {
                decoder.feed(chunk).unwrap();
            }
            let graph = decoder.finish().unwrap();
            assert_eq!(graph.edge_to, whole.edge_to, "chunks of {size}");
            assert_eq!(graph.first_edge, whole.first_edge);
            assert_eq!(graph.strings, whole.strings);
        }
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
            ("", "the file is empty"),
            ("[1,2,3]", "expected '{' at byte 0"),
            (r#"{"a":1}"#, "no snapshot.meta"),
            (
                r#"{"a":"x","b":[1,{"c":null}],"d":true}"#,
                "no snapshot.meta",
            ),
            ("{\"snapshot\":{", "ends early"),
            (r#"{"nodes":[1]}"#, "nodes or edges before snapshot.meta"),
            (r#"{"a":1} x"#, "text after the end"),
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

    #[test]
    fn a_file_that_claims_more_nodes_than_it_holds_is_refused_without_reserving_them() {
        let text = snapshot(&[[9, 0, 1, 0, 0]], &[], &[""]);
        for claim in ["1000000000000", "18446744073709551615"] {
            let lying = text.replacen(r#""node_count":1"#, &format!(r#""node_count":{claim}"#), 1);
            assert_ne!(lying, text);
            for decoded in [
                HeapGraph::read(lying.as_bytes()),
                HeapGraph::from_slice(lying.as_bytes()),
            ] {
                let error = decoded.unwrap_err();
                assert!(
                    error
                        .0
                        .contains(&format!("snapshot.node_count says {claim}")),
                    "{error}"
                );
            }
        }
        let lying = text.replacen(r#""edge_count":0"#, r#""edge_count":99999999999999"#, 1);
        assert!(HeapGraph::read(lying.as_bytes())
            .unwrap_err()
            .0
            .contains("edge_count says"));
        let lying = text.replacen(r#""node_count":1"#, r#""node_count":1e300"#, 1);
        assert!(HeapGraph::read(lying.as_bytes())
            .unwrap_err()
            .0
            .contains("not a count"));
    }

    #[test]
    fn reserves_no_more_than_the_text_could_hold() {
        let text = snapshot(&[[9, 0, 1, 0, 0]], &[], &[""]).replacen(
            r#""node_count":1"#,
            r#""node_count":1000000000000"#,
            1,
        );
        let mut decoder = Decoder::with_size_hint(text.len() as u64);
        decoder.feed(text.as_bytes()).unwrap();
        assert!(decoder.graph.node_id.capacity() <= text.len() / 10);
        let mut decoder = Decoder::default();
        decoder.feed(text.as_bytes()).unwrap();
        assert!(decoder.graph.node_id.capacity() <= RESERVE_CAP as usize);
    }

    #[test]
    fn an_object_name_that_is_no_function_name_is_withheld() {
        // Session (object) with closure Session; a "SECRET-1234" object (toStringTag); a
        // system / Context; a Map Iterator; an object named after a property key.
        let text = snapshot_exact(
            &[
                [9, 0, 1, 0, 5],
                [3, 1, 3, 16, 0],
                [5, 1, 5, 32, 0],
                [3, 2, 7, 24, 0],
                [3, 3, 9, 40, 0],
                [3, 4, 11, 40, 0],
            ],
            &[[1, 0, 1], [1, 1, 2], [1, 2, 3], [1, 3, 4], [2, 5, 5]],
            &[
                "",
                "Session",
                "user:alice@example.com SECRET-1234",
                "system / Context",
                "Map Iterator",
                "x",
            ],
        );
        let graph = HeapGraph::read(text.as_bytes()).unwrap();
        assert_eq!(graph.node_name(1), "Session");
        assert_eq!(graph.node_name(2), "Session", "closures keep their names");
        assert_eq!(graph.node_name(3), WITHHELD);
        assert!(graph.name_withheld(3));
        assert_eq!(graph.node_name_raw(3), None);
        assert_eq!(graph.node_name(4), "system / Context");
        assert_eq!(graph.node_name(5), "Map Iterator");
        assert!(
            !graph.strings.iter().flatten().any(|s| s.contains("SECRET")),
            "the withheld text is dropped"
        );
    }

    #[test]
    fn a_property_named_by_data_is_withheld_and_one_named_by_code_is_shown() {
        let names = [
            "",
            "sessions",
            "user:alice@example.com",
            "x-token",
            "12345",
            "<symbol node:per_context_binding_exports>",
            "<symbol kResource>",
            "<symbol a b>",
            "_events",
            "$el",
        ];
        let edges: Vec<[u32; 3]> = (1..names.len() as u32).map(|i| [2, i, 0]).collect();
        let text = snapshot(&[[9, 0, 1, 0, edges.len() as u32]], &edges, &names);
        let graph = HeapGraph::read(text.as_bytes()).unwrap();
        let shown: Vec<String> = (0..edges.len()).map(|e| graph.edge_name(e)).collect();
        assert_eq!(
            shown,
            [
                "sessions",
                "(property)",
                "(property)",
                "(property)",
                "<symbol node:per_context_binding_exports>",
                "<symbol kResource>",
                "(property)",
                "_events",
                "$el",
            ]
        );
        assert_eq!(
            graph.edge_name_str(1),
            Some("user:alice@example.com"),
            "kept for matching"
        );
    }

    #[test]
    fn keeps_self_sizes_trace_ids_and_locations() {
        let text = snapshot_exact(
            &[[9, 0, 1, 0, 1], [5, 1, 3, 56, 0]],
            &[[2, 2, 1]],
            &["", "f", "x"],
        )
        .replace(
            r#""edge_types""#,
            r#""location_fields":["object_index","script_id","line","column"],"edge_types""#,
        )
        .replace(r#""locations":[]"#, r#""locations":[5,7,34,5]"#);
        let graph = HeapGraph::read(text.as_bytes()).unwrap();
        assert_eq!(graph.self_size, vec![0, 56]);
        assert!(graph.trace_node_id.is_empty());
        assert_eq!(graph.locations, vec![[1, 7, 34, 5]]);
        let traced = text
            .replace(r#""edge_count"],"#, r#""edge_count","trace_node_id"],"#)
            .replace("9,0,1,0,1,5,1,3,56,0", "9,0,1,0,1,0,5,1,3,56,0,4")
            .replace(r#""edges":[2,2,5]"#, r#""edges":[2,2,6]"#)
            .replace(r#""locations":[5,"#, r#""locations":[6,"#)
            .replace(
                "\"number\",\"number\",\"number\"]",
                "\"number\",\"number\",\"number\",\"number\"]",
            );
        let graph = HeapGraph::read(traced.as_bytes()).unwrap();
        assert_eq!(graph.trace_node_id, vec![0, 4]);
        let none = traced.replace("9,0,1,0,1,0,5,1,3,56,0,4", "9,0,1,0,1,0,5,1,3,56,0,0");
        let graph = HeapGraph::read(none.as_bytes()).unwrap();
        assert!(
            graph.trace_node_id.is_empty(),
            "kept only when a node has one"
        );
        assert_eq!(graph.locations, vec![[1, 7, 34, 5]]);
    }

    /// A snapshot of two nodes whose second was allocated under trace node `trace`, with the
    /// trace tree `tree` over the functions `main` (script `app.js`, 3:1) and `make` (12:5).
    fn traced(trace: u32, tree: &str) -> String {
        let text = snapshot_exact(
            &[[9, 0, 1, 0, 0], [3, 1, 3, 56, 0]],
            &[],
            &["", "Leak", "(root)", "main", "make", "/app/app.js", ""],
        )
        .replace(r#""edge_count"],"#, r#""edge_count","trace_node_id"],"#)
        .replace("9,0,1,0,0,3,1,3,56,0", &format!("9,0,1,0,0,0,3,1,3,56,0,{trace}"))
        .replace(
            "\"number\",\"number\",\"number\"]",
            "\"number\",\"number\",\"number\",\"number\"]",
        )
        .replace(
            r#""edge_types""#,
            r#""trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],
            "trace_node_fields":["id","function_info_index","count","size","children"],"edge_types""#,
        );
        text.replace(
            r#""locations":[]"#,
            &format!(
                r#""trace_function_infos":[0,2,6,0,0,0,11,3,5,7,3,1,12,4,5,7,12,5],
                "trace_tree":{tree},"samples":[],"locations":[]"#
            ),
        )
    }

    const TREE: &str = "[1,0,0,0,[2,1,0,0,[3,2,1,56,[]],4,2,0,0,[ ]]]";
    /// The same calls with ids that are not in tree order.
    const SHUFFLED: &str = "[9,0,0,0,[5,1,0,0,[7,2,1,56,[]],3,2,0,0,[ ]]]";

    #[test]
    fn an_allocation_stack_is_read_from_the_trace_tree_innermost_first() {
        let graph = HeapGraph::read(traced(3, TREE).as_bytes()).unwrap();
        assert_eq!(graph.trace_functions.len(), 3);
        assert_eq!(graph.trace_nodes.len(), 4);
        let frame = |function: &str, line, column| Frame {
            function: function.into(),
            script: "/app/app.js".into(),
            line,
            column,
        };
        assert_eq!(
            graph.allocation_stack(1, 10),
            [frame("make", 12, 5), frame("main", 3, 1)]
        );
        assert_eq!(graph.allocation_stack(1, 1), [frame("make", 12, 5)]);
        assert!(graph.allocation_stack(0, 10).is_empty(), "no trace");
        let sibling = HeapGraph::read(traced(4, TREE).as_bytes()).unwrap();
        assert_eq!(
            sibling.allocation_stack(1, 10),
            [frame("make", 12, 5)],
            "a sibling after a subtree has the root's child as caller"
        );
        let unknown = HeapGraph::read(traced(9, TREE).as_bytes()).unwrap();
        assert!(unknown.allocation_stack(1, 10).is_empty());
        let shuffled = HeapGraph::read(traced(7, SHUFFLED).as_bytes()).unwrap();
        assert_eq!(
            shuffled.allocation_stack(1, 10),
            [frame("make", 12, 5), frame("main", 3, 1)],
            "callers by id, whatever the order of ids"
        );
        assert_eq!(shuffled.allocation_site(1), Some(2));
    }

    #[test]
    fn the_trace_tree_decodes_the_same_split_anywhere() {
        let text = traced(3, TREE);
        let whole = HeapGraph::read(text.as_bytes()).unwrap();
        for at in 0..text.len() {
            let mut decoder = Decoder::default();
            decoder.feed(&text.as_bytes()[..at]).unwrap();
            decoder.feed(&text.as_bytes()[at..]).unwrap();
            let graph = decoder.finish().unwrap();
            assert_eq!(graph.trace_nodes, whole.trace_nodes, "split at {at}");
            assert_eq!(graph.trace_functions, whole.trace_functions);
        }
    }

    #[test]
    fn a_malformed_trace_tree_is_refused_without_a_panic() {
        for tree in [
            "[1,0,0,0,[2,1,0,0,[]]",
            "[1,0,0,[]]",
            "[1,0,0,0,5]",
            "[1,0,0,0,[2,7,0,0,[]]]",
            "[1,0,0,0,[x]]",
            "{}",
        ] {
            assert!(
                HeapGraph::read(traced(3, tree).as_bytes()).is_err(),
                "{tree}"
            );
        }
        let deep = format!("[{}{}", "1,0,0,0,[".repeat(100_000), "]".repeat(100_001));
        let graph = HeapGraph::read(traced(3, &deep).as_bytes()).unwrap();
        assert_eq!(
            graph.trace_nodes.len(),
            100_000,
            "no recursion: a deep tree is fine"
        );
        let no_fields = traced(3, TREE).replace(
            r#""trace_node_fields":["id","function_info_index","count","size","children"],"#,
            "",
        );
        assert!(HeapGraph::read(no_fields.as_bytes()).is_err());
        let empty = traced(3, TREE).replace(
            r#""trace_node_fields":["id","function_info_index","count","size","children"],"#,
            "",
        );
        let empty = empty.replace(TREE, "[]");
        assert!(HeapGraph::read(empty.as_bytes()).is_ok());
    }

    #[test]
    fn function_and_script_names_are_kept_beside_withheld_strings() {
        let graph = HeapGraph::read(traced(3, TREE).as_bytes()).unwrap();
        assert_eq!(graph.allocation_stack(1, 1)[0].script, "/app/app.js");
    }
}

//! The decoded snapshot: flat columns per node and per edge, the accessors reports read them
//! through, the rules for which names a report may show, and the checks a decoded file must pass.

use std::fmt;
use std::io::Read;

use super::decode::{Decoder, State};

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
pub(super) const CONTENT_TYPES: [&str; 7] = [
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
    pub(super) content_type: Vec<bool>,
    /// Whether each edge type's name is a number rather than a string index.
    pub(super) indexed_edge_type: Vec<bool>,
    /// Strings kept while decoding only because a `code` node holds them by a hidden edge (a
    /// scope's variable names): see `needed_strings`.
    pub(super) scoped_strings: Vec<bool>,
    /// The indices of the node type `object` and the edge type `property`, for the rules on names.
    pub(super) object_type: Option<u8>,
    pub(super) property_type: Option<u8>,
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
pub(super) fn code_like_property(name: &str) -> bool {
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
pub(super) const WITHHELD_NAME: u32 = u32::MAX;

/// Names V8 gives objects of its own that no function in the snapshot is called: shown as they
/// are. (Measured on Node 20: namespaces, iterators and `Intl` / `WebAssembly` classes.)
pub(super) const BUILTIN_NAMES: [&str; 20] = [
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
pub(super) fn builtin_name(name: &str) -> bool {
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

    pub(super) fn read_with(
        mut reader: impl Read,
        mut decoder: Decoder,
    ) -> Result<Self, SnapshotError> {
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
    pub(super) fn withhold_names(&mut self) {
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

    pub(super) fn string(&self, index: u32) -> &str {
        self.strings
            .get(index as usize)
            .and_then(|s| s.as_deref())
            .unwrap_or("")
    }

    pub(super) fn check(&mut self, state: &State) -> Result<(), SnapshotError> {
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
    pub(super) fn needed_strings(&mut self) -> Vec<bool> {
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
    pub(super) fn forget_unscoped_strings(&mut self) {
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

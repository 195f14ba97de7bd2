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

mod decode;
mod graph;

pub use decode::Decoder;
pub use graph::*;

#[cfg(test)]
pub(crate) mod tests {
    use super::decode::RESERVE_CAP;
    use super::*;
    use std::io::Read;

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

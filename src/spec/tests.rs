use super::*;

const GRAPH: &str = r#"// a comment
Graph(
    name: "g",
    seed: 7,
    nodes: {
        "train": Images(source: Folder(path: "x"), batch: 8),
        "grid":  ImageGrid(input: "train"),
        "bare":  Thing,
    },
)"#;

fn parse(text: &str) -> Result<GraphSpec, Vec<Diagnostic>> {
    GraphSpec::parse(SourceText::new("g.ron", text))
}

#[test]
fn parses_nodes_in_order_with_locations() {
    let spec = parse(GRAPH).unwrap();
    assert_eq!((spec.name.as_str(), spec.seed, spec.capacity), ("g", 7, 4));
    let ids: Vec<_> = spec.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["train", "grid", "bare"]);
    let train = &spec.nodes[0];
    assert_eq!(train.operator, "Images");
    assert_eq!(train.fields[0].value, "Folder(path: \"x\")");
    assert_eq!(spec.location(train, None), "g.ron:6:9");
    assert_eq!(spec.location(train, Some("batch")), "g.ron:6:59");
    assert!(spec.nodes[2].fields.is_empty());
}

#[test]
fn unknown_graph_field_is_located() {
    let errors = parse("Graph(name: \"g\", sead: 1, nodes: {})").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].location.starts_with("g.ron:1:"), "{}", errors[0]);
    assert!(errors[0].message.contains("sead"), "{}", errors[0]);
}

#[test]
fn every_bad_node_is_reported() {
    let text = "Graph(name: \"g\", nodes: {\"a\": 12, \"b\": Op(x: 1), \"c\": Op(y: 1, y: 2)})";
    let spec = parse(text).unwrap();
    let nodes: Vec<_> = spec
        .errors
        .iter()
        .map(|e| e.node.clone().unwrap())
        .collect();
    assert_eq!(nodes, ["a", "c"], "{:?}", spec.errors);
    assert_eq!(spec.nodes.len(), 3);
    assert!(spec.nodes[0].operator.is_empty());
}

#[test]
fn syntax_error_inside_node_points_into_it() {
    let errors = parse("Graph(name: \"g\",\n nodes: {\"a\": Op(x: [1,, 2])})").unwrap_err();
    assert_eq!(errors[0].location, "g.ron:2:24", "{}", errors[0]);
}

#[test]
fn override_replaces_or_adds_a_field() {
    let mut spec = parse(GRAPH).unwrap();
    spec.apply_override("train.batch=64").unwrap();
    spec.apply_override("grid.columns=4").unwrap();
    let train = &spec.nodes[0];
    assert_eq!(train.fields.last().unwrap().value, "64");
    assert_eq!(spec.location(train, Some("batch")), "--set train.batch=64");
    let error = spec.apply_override("trian.batch=1").unwrap_err();
    assert_eq!(error.hint.as_deref(), Some("did you mean `train`?"));
}

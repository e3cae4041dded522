//! The printers' tests: YAML and JSON renderings of typical records.

use super::yaml::{FLOW_WIDTH, float_text, key_text, quote};
use super::*;
use serde::Serialize;

#[derive(Serialize)]
struct Inner {
    id: &'static str,
}

#[derive(Serialize)]
struct Lbaf {
    ms: u16,
    lbads: u8,
}

#[derive(Serialize)]
struct Doc {
    name: String,
    count: u32,
    neg: i32,
    ok: bool,
    none: Option<u8>,
    mask: Hex,
    dev: Inner,
    list: Vec<Lbaf>,
    empty_map: std::collections::BTreeMap<String, u8>,
    empty_list: Vec<u8>,
    words: Vec<&'static str>,
    nums: [u8; 3],
}

fn doc() -> Doc {
    Doc {
        name: "it's".into(),
        count: 7,
        neg: -3,
        ok: true,
        none: None,
        mask: Hex(0x1f),
        dev: Inner { id: "ramdisk" },
        list: vec![Lbaf { ms: 0, lbads: 9 }, Lbaf { ms: 8, lbads: 12 }],
        empty_map: Default::default(),
        empty_list: vec![],
        words: vec!["a", "b"],
        nums: [1, 2, 3],
    }
}

#[test]
fn nested_maps_lists_and_scalars() {
    let y = render(Format::Yaml, &doc()).unwrap();
    let want = "\
name: 'it''s'
count: 7
neg: -3
ok: true
none: ~
mask: 0x1f
dev: {id: 'ramdisk'}
list:
  - {ms: 0, lbads: 9}
  - {ms: 8, lbads: 12}
empty_map: {}
empty_list: []
words:
  - 'a'
  - 'b'
nums: [1, 2, 3]
";
    assert_eq!(y, want);
}

#[test]
fn field_order_is_kept() {
    #[derive(Serialize)]
    struct Z {
        zz: u8,
        aa: u8,
    }
    assert_eq!(
        render(Format::Yaml, &Z { zz: 1, aa: 2 }).unwrap(),
        "zz: 1\naa: 2\n"
    );
}

#[test]
fn json_is_plain_serde_json_with_hex_as_numbers() {
    let j = render(Format::Json, &doc()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["mask"], 31);
    assert_eq!(v["dev"]["id"], "ramdisk");
    assert_eq!(v["list"][1]["lbads"], 12);
    assert!(j.ends_with('\n'));
}

#[test]
fn quoting_rules() {
    assert_eq!(quote(""), "''");
    assert_eq!(quote("plain"), "'plain'");
    assert_eq!(quote(" lead"), "' lead'");
    assert_eq!(quote("a'b"), "'a''b'");
    assert_eq!(quote("true"), "'true'");
    assert_eq!(quote("line\nbreak\t\u{1}"), "\"line\\nbreak\\t\\u0001\"");
    assert_eq!(key_text("nsze"), "nsze");
    assert_eq!(key_text("0"), "'0'");
    assert_eq!(key_text("fdp attributes"), "'fdp attributes'");
    assert_eq!(key_text("yes"), "'yes'");
    assert_eq!(key_text(""), "''");
    assert_eq!(float_text(1.0), "1.0");
    assert_eq!(float_text(0.25), "0.25");
    assert_eq!(float_text(f64::NAN), ".nan");
    assert_eq!(float_text(f64::NEG_INFINITY), "-.inf");
}

#[test]
fn block_maps_in_sequences_and_nested_sequences() {
    let node = Node::Map(vec![(
        "items".into(),
        Node::Seq(vec![
            Node::Map(vec![
                ("name".into(), Node::Str("x".into())),
                (
                    "sub".into(),
                    Node::Map(vec![("a".into(), Node::Seq(vec![Node::Str("s".into())]))]),
                ),
            ]),
            Node::Seq(vec![Node::Seq(vec![
                Node::Str("deep".into()),
                Node::Map(vec![]),
            ])]),
            Node::UInt(5),
        ]),
    )]);
    let want = "\
items:
  - name: 'x'
    sub:
      a:
        - 's'
  - - ['deep', {}]
  - 5
";
    assert_eq!(yaml(&node), want);
}

#[test]
fn wide_or_long_mappings_fall_back_to_block_style() {
    let long = "d".repeat(FLOW_WIDTH);
    let node = Node::Map(vec![
        (
            "attr".into(),
            Node::Map(vec![("descr".into(), Node::Str(long.clone()))]),
        ),
        (
            "five".into(),
            Node::Map((0..5).map(|i| (format!("k{i}"), Node::UInt(i))).collect()),
        ),
    ]);
    let y = yaml(&node);
    assert!(
        y.starts_with(&format!("attr:\n  descr: '{long}'\nfive:\n  k0: 0\n")),
        "{y}"
    );
}

#[test]
fn long_number_lists_wrap_as_flow_sequences() {
    let node = Node::Map(vec![(
        "elbaf".into(),
        Node::Seq((0..64).map(|i| Node::UInt(i * 100)).collect()),
    )]);
    let y = yaml(&node);
    assert!(y.starts_with("elbaf: [0, 100, 200,"), "{y}");
    assert!(y.lines().count() > 1, "{y}");
    for l in y.lines() {
        assert!(l.len() <= FLOW_WIDTH, "{l}");
    }
    for l in y.lines().skip(1) {
        assert!(l.starts_with("  ") && !l.starts_with("   "), "{l:?}");
    }
    assert!(y.ends_with("6300]\n"), "{y}");
    // Every number is there once, in order.
    let nums: Vec<u128> = y["elbaf: [".len()..y.len() - 2]
        .split(',')
        .map(|t| t.trim().parse().unwrap())
        .collect();
    assert_eq!(nums, (0..64).map(|i| i * 100).collect::<Vec<_>>());
}

#[test]
fn top_level_scalars_and_empties() {
    assert_eq!(yaml(&Node::Null), "~\n");
    assert_eq!(yaml(&Node::Map(vec![])), "{}\n");
    assert_eq!(yaml(&Node::Seq(vec![])), "[]\n");
    assert_eq!(yaml(&Node::Seq(vec![Node::Bool(false)])), "- false\n");
}

#[test]
fn enums_and_big_numbers() {
    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tup(u8, u8),
        St { a: u8 },
    }
    let v = vec![E::Unit, E::New(1), E::Tup(1, 2), E::St { a: 3 }];
    let y = render(Format::Yaml, &v).unwrap();
    assert_eq!(y, "- 'Unit'\n- {New: 1}\n- Tup: [1, 2]\n- St: {a: 3}\n");
    let big = u128::MAX;
    assert_eq!(render(Format::Yaml, &[big]).unwrap(), format!("- {big}\n"));
    let mut m = std::collections::BTreeMap::new();
    m.insert(3u32, "x");
    assert_eq!(render(Format::Yaml, &m).unwrap(), "'3': 'x'\n");
}

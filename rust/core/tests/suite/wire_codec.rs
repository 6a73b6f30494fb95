//! The `E2EE:` wire codec (PROTOCOL.md §5): what must be refused, and the formatting
//! variations that must be accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use serde_json::{json, Value};
use wac1::encoding::b64;
use wac1::{Header, WireMessage, X3dhHeader};

fn sample() -> WireMessage {
    WireMessage {
        header: Header { dh: [1u8; 32], pn: 7, n: 4_000_000_000 },
        ciphertext: (0u8..=40).collect(),
        x3dh: Some(X3dhHeader {
            ik: [2u8; 32],
            sk: [3u8; 32],
            ek: [4u8; 32],
            spk_id: 9,
            opk_id: Some(u32::MAX),
        }),
    }
}

/// The sample as a JSON value, to edit field by field.
fn value() -> Value {
    let text = sample().encode();
    serde_json::from_str(text.strip_prefix("E2EE:").unwrap()).unwrap()
}

fn wire(v: &Value) -> String {
    format!("E2EE:{v}")
}

#[track_caller]
fn refused(text: &str) {
    match WireMessage::parse(text) {
        Ok(m) => panic!("accepted {text:?} as {m:?}"),
        Err(e) => assert_eq!(e.code(), "invalid_message", "{text:?}: {e:?}"),
    }
}

#[track_caller]
fn refused_with(edit: impl FnOnce(&mut Value)) {
    let mut v = value();
    edit(&mut v);
    refused(&wire(&v));
}

#[test]
fn the_sample_round_trips() {
    let m = sample();
    assert_eq!(WireMessage::parse(&m.encode()).unwrap(), m);
    assert_eq!(WireMessage::parse(&wire(&value())).unwrap(), m);
    let plain = WireMessage { x3dh: None, ..m };
    assert_eq!(WireMessage::parse(&plain.encode()).unwrap(), plain);
    assert!(!plain.encode().contains("x3dh"));
}

#[test]
fn strings_without_the_prefix_are_refused() {
    let body = value().to_string();
    for text in [
        body.clone(),
        format!("e2ee:{body}"),
        format!("E2EE {body}"),
        format!("E2EE{body}"),
        format!(" E2EE:{body}"),
        format!("\u{feff}E2EE:{body}"),
        format!("E2E:{body}"),
        format!("E2EE::{body}"),
        String::new(),
        "E2EE:".into(),
        "E2EE".into(),
    ] {
        refused(&text);
    }
}

#[test]
fn unknown_or_malformed_versions_are_refused() {
    for v in [
        json!(0),
        json!(2),
        json!(255),
        json!(-1),
        json!(1.0),
        json!("1"),
        json!(null),
        json!(true),
        json!([1]),
    ] {
        refused_with(|m| m["v"] = v.clone());
    }
    refused_with(|m| {
        m.as_object_mut().unwrap().remove("v");
    });
    refused(&wire(&value()).replacen("\"v\":1", "\"v\":1e0", 1));
    refused(&wire(&value()).replacen("\"v\":1", "\"v\":18446744073709551617", 1));
}

#[test]
fn keys_that_are_not_32_bytes_are_refused() {
    for len in [0usize, 1, 16, 31, 33, 64] {
        let key = b64(&vec![5u8; len]);
        refused_with(|m| m["header"]["dh"] = json!(key));
        for field in ["ik", "sk", "ek"] {
            refused_with(|m| m["x3dh"][field] = json!(key));
        }
    }
    for bad in [json!(null), json!(5), json!([1, 2]), json!({})] {
        refused_with(|m| m["header"]["dh"] = bad.clone());
        refused_with(|m| m["x3dh"]["ek"] = bad.clone());
    }
}

#[test]
fn bad_counters_are_refused() {
    // As JSON text, so that the exact number spelling reaches the parser.
    let bad = [
        "-1",
        "-4294967295",
        "1.0",
        "1.5",
        "0.0",
        "1e0",
        "1E3",
        "4294967296",
        "18446744073709551616",
        "1e10",
    ];
    let bad_values = [json!("1"), json!(null), json!(true), json!([1]), json!({"n": 1})];
    for field in ["pn", "n", "spk_id", "opk_id"] {
        for number in bad {
            let mut v = value();
            set(&mut v, field, json!("@@"));
            let text = wire(&v).replacen("\"@@\"", number, 1);
            refused(&text);
        }
        for bad in &bad_values {
            if field == "opk_id" && bad.is_null() {
                continue; // null is a legal opk_id
            }
            let mut v = value();
            set(&mut v, field, bad.clone());
            refused(&wire(&v));
        }
        // The largest counter is accepted.
        let mut v = value();
        set(&mut v, field, json!(u32::MAX));
        assert!(WireMessage::parse(&wire(&v)).is_ok(), "{field} = 2^32 - 1");
    }
}

fn set(v: &mut Value, field: &str, to: Value) {
    if field == "pn" || field == "n" {
        v["header"][field] = to;
    } else {
        v["x3dh"][field] = to;
    }
}

#[test]
fn invalid_base64_is_refused() {
    let good = b64(&[6u8; 32]);
    let mut invalid = vec![
        format!("{}*", &good[..good.len() - 1]), // not in the alphabet
        good.trim_end_matches('=').to_string(),  // padding missing
        format!("{good}="),                      // too much padding
        format!("{good}===="),                   // a whole block of padding
        good.replacen('B', "-", 1),              // URL-safe alphabet
        good.replacen('G', "_", 1),
        format!(" {good}"),                           // whitespace
        format!("{}\\n{}", &good[..10], &good[10..]), // an escaped newline inside
        format!("{}={}", &good[..10], &good[11..]),   // '=' in the wrong place
    ];
    // Non-canonical: the unused low bits of the last character are not zero.
    let mut chars: Vec<char> = good.chars().collect();
    let last = chars.len() - 2; // 32 bytes end in "x=" with 2 unused bits in x
    assert_eq!(chars[last], 'Y');
    chars[last] = 'Z';
    invalid.push(chars.into_iter().collect());
    for text in &invalid {
        assert_ne!(text, &good);
        refused_with(|m| m["header"]["dh"] = json!(text));
        refused_with(|m| m["x3dh"]["ik"] = json!(text));
        refused_with(|m| m["ciphertext"] = json!(text));
    }
    refused_with(|m| m["ciphertext"] = json!("AB=="));
    refused_with(|m| m["ciphertext"] = json!("A"));
    refused_with(|m| m["ciphertext"] = json!(null));
    refused_with(|m| m["ciphertext"] = json!(12));
}

#[test]
fn invalid_base64_inside_a_long_ciphertext_is_refused() {
    // Long enough that the decoder takes its vectorized path for most of the string.
    let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    let good = b64(&bytes);
    let mut sample = value();
    sample["ciphertext"] = json!(good);
    let parsed = WireMessage::parse(&wire(&sample)).unwrap();
    assert_eq!(parsed.ciphertext, bytes);
    for at in [0, 1, 31, 32, 33, 64, 1000, 2047, good.len() - 5] {
        for bad in ['*', '-', '_', ' ', '=', '\u{e9}'] {
            let mut text: Vec<char> = good.chars().collect();
            text[at] = bad;
            let text: String = text.into_iter().collect();
            refused_with(|m| m["ciphertext"] = json!(text));
        }
    }
    // 3000 bytes end in a full block: no padding; a 3001st byte needs "==" and canonical bits.
    let longer = b64(&[bytes.as_slice(), &[0xff]].concat());
    let mut chars: Vec<char> = longer.chars().collect();
    let last = chars.len() - 3;
    assert_eq!(chars[last], 'w'); // 0xff: "/w==", the low 4 bits of 'w' unused and zero
    chars[last] = 'x';
    let non_canonical: String = chars.into_iter().collect();
    refused_with(|m| m["ciphertext"] = json!(non_canonical));
    refused_with(|m| m["ciphertext"] = json!(longer.trim_end_matches('=')));
}

#[test]
fn duplicate_keys_are_refused() {
    let text = sample().encode();
    for (from, to) in [
        ("{\"v\":1,", "{\"v\":1,\"v\":1,"),
        ("\"header\":{", "\"header\":{\"n\":1,"),
        ("\"ciphertext\":", "\"ciphertext\":\"AAAA\",\"ciphertext\":"),
        ("\"x3dh\":{", "\"x3dh\":{\"spk_id\":9,"),
        ("\"x3dh\":{", "\"x3dh\":{\"ek\":\"AAAA\","),
        ("\"x3dh\":{", "\"x3dh\":{\"opk_id\":null,"),
    ] {
        let dup = text.replacen(from, to, 1);
        assert_ne!(dup, text);
        refused(&dup);
    }
    // A second "header" object.
    let dup =
        text.replacen("\"ciphertext\"", "\"header\":{\"dh\":\"AAAA\",\"pn\":0,\"n\":0},\"ciphertext\"", 1);
    refused(&dup);
    // And a second x3dh, even when the first is null.
    let plain = WireMessage { x3dh: None, ..sample() }.encode();
    let x = value()["x3dh"].to_string();
    refused(&plain.replacen("{\"v\":1", &format!("{{\"x3dh\":null,\"x3dh\":{x},\"v\":1"), 1));
}

#[test]
fn missing_fields_are_refused() {
    for field in ["v", "header", "ciphertext"] {
        refused_with(|m| {
            m.as_object_mut().unwrap().remove(field);
        });
    }
    for field in ["dh", "pn", "n"] {
        refused_with(|m| {
            m["header"].as_object_mut().unwrap().remove(field);
        });
    }
    for field in ["ik", "sk", "ek", "spk_id"] {
        refused_with(|m| {
            m["x3dh"].as_object_mut().unwrap().remove(field);
        });
    }
    for not_an_object in [json!(null), json!([]), json!("x"), json!(1)] {
        refused_with(|m| m["header"] = not_an_object.clone());
        if !not_an_object.is_null() {
            refused_with(|m| m["x3dh"] = not_an_object.clone());
        }
    }
    for text in ["E2EE:[]", "E2EE:null", "E2EE:\"\"", "E2EE:{}", "E2EE:1"] {
        refused(text);
    }
}

#[test]
fn json_that_is_not_one_object_is_refused() {
    let text = sample().encode();
    refused(&format!("{text}x"));
    refused(&format!("{text}{{}}"));
    refused(&text[..text.len() - 1]);
    refused(&text.replacen(',', ",,", 1));
    refused(&text.replacen("\"v\"", "'v'", 1));
    refused(&text.replacen("\"v\":1", "v:1", 1));
    refused(&text.replacen("\"pn\":7", "\"pn\":07", 1));
    refused(&format!("{text} // comment"));
}

#[test]
fn formatting_and_key_order_variations_are_accepted() {
    let want = sample();
    let v = value();
    let mut accepted = vec![
        format!("E2EE:{}", serde_json::to_string_pretty(&v).unwrap()),
        format!("E2EE: \t\r\n{v} \n"),
        wire(&v).replace(',', " ,\n\t").replace(':', " :  ").replacen("E2EE :  ", "E2EE:", 1),
    ];
    // Every key order: reverse the top level and each nested object.
    let reversed = |obj: &serde_json::Map<String, Value>| -> String {
        let parts: Vec<String> = obj.iter().rev().map(|(k, v)| format!("{}:{}", json!(k), v)).collect();
        format!("{{{}}}", parts.join(","))
    };
    let top = v.as_object().unwrap();
    let inner: Vec<String> = top
        .iter()
        .rev()
        .map(|(k, val)| match val.as_object() {
            Some(o) => format!("{}:{}", json!(k), reversed(o)),
            None => format!("{}:{}", json!(k), val),
        })
        .collect();
    accepted.push(format!("E2EE:{{{}}}", inner.join(",")));
    // x3dh first, header last.
    accepted.push(format!(
        "E2EE:{{\"x3dh\":{},\"ciphertext\":{},\"v\":1,\"header\":{}}}",
        v["x3dh"], v["ciphertext"], v["header"]
    ));
    // JSON string escapes inside base64 strings are the same string.
    let dh = v["header"]["dh"].as_str().unwrap().to_string();
    let first = dh.chars().next().unwrap();
    accepted.push(wire(&v).replacen(
        &format!("\"{dh}\""),
        &format!("\"\\u{:04x}{}\"", u32::from(first), &dh[1..]),
        1,
    ));
    accepted.push(wire(&v).replacen(&format!("\"{dh}\""), &format!("\"{}\"", dh.replace('/', "\\/")), 1));
    for text in &accepted {
        assert_eq!(WireMessage::parse(text).as_ref(), Ok(&want), "{text}");
    }
    // An x3dh of null is the same as none; so is a missing opk_id as null.
    let mut no_x3dh = v.clone();
    no_x3dh["x3dh"] = Value::Null;
    assert_eq!(WireMessage::parse(&wire(&no_x3dh)).unwrap().x3dh, None);
    let mut no_opk = v.clone();
    no_opk["x3dh"]["opk_id"] = Value::Null;
    assert_eq!(WireMessage::parse(&wire(&no_opk)).unwrap().x3dh.unwrap().opk_id, None);
}

#[test]
fn unknown_fields_are_ignored() {
    // Forward compatibility: fields a later version adds do not make a message unreadable.
    let mut v = value();
    v["future"] = json!({"a": [1, 2, 3]});
    v["header"]["extra"] = json!("x");
    v["x3dh"]["extra"] = json!(null);
    assert_eq!(WireMessage::parse(&wire(&v)).unwrap(), sample());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_parse_is_the_identity(
        dh in any::<[u8; 32]>(),
        pn in any::<u32>(),
        n in any::<u32>(),
        ciphertext in prop::collection::vec(any::<u8>(), 0..200),
        x3dh in prop::option::of((any::<[u8; 32]>(), any::<[u8; 32]>(), any::<[u8; 32]>(), any::<u32>(), prop::option::of(any::<u32>()))),
    ) {
        let m = WireMessage {
            header: Header { dh, pn, n },
            ciphertext,
            x3dh: x3dh.map(|(ik, sk, ek, spk_id, opk_id)| X3dhHeader { ik, sk, ek, spk_id, opk_id }),
        };
        let text = m.encode();
        prop_assert_eq!(WireMessage::parse(&text).unwrap(), m.clone());
        // The encoding is valid JSON that any pretty printer may reformat.
        let v: Value = serde_json::from_str(text.strip_prefix("E2EE:").unwrap()).unwrap();
        prop_assert_eq!(WireMessage::parse(&format!("E2EE:{}", serde_json::to_string_pretty(&v).unwrap())).unwrap(), m);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let with_prefix = format!("E2EE:{text}");
        for t in [&text, &with_prefix] {
            if let Ok(m) = WireMessage::parse(t) {
                prop_assert_eq!(WireMessage::parse(&m.encode()).unwrap(), m);
            }
        }
    }
}

#[test]
fn deeply_nested_json_does_not_overflow_the_stack() {
    for depth in [200usize, 100_000] {
        // Inside an unknown field it is skipped (without recursion): still the same message.
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let mut v = value();
        v["future"] = json!("@@");
        assert_eq!(WireMessage::parse(&wire(&v).replacen("\"@@\"", &nested, 1)).unwrap(), sample());
        // In place of a field it is refused.
        let mut v = value();
        v["header"] = json!("@@");
        refused(&wire(&v).replacen("\"@@\"", &nested, 1));
        let objects = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        refused(&format!("E2EE:{objects}"));
    }
}

//! The seed corpus of the fuzz targets: every genuine fixture message, one structural and
//! one textual mutation of each, known regressions, wire edge cases and every serialized
//! object whole, truncated and with a wrong version.

use wac1::encoding::b64;
use wac1::{Serialize, SessionRecord, WireMessage};

use super::{attachment, fixture, vault, Fixture, Genuine};

/// The seed corpus: (target, file name, bytes).
pub fn seed_corpus() -> Vec<(&'static str, String, Vec<u8>)> {
    let fx = fixture();
    let mut out = attachment::attachment_seeds();
    out.extend(vault::vault_seeds());
    for g in &fx.pending {
        out.push(("decrypt", format!("valid-{}", g.name), g.wire.clone().into_bytes()));
        // One structural and one textual mutation seed per message.
        out.push(("decrypt", format!("fieldflip-{}", g.name), field_seed(fx, g, 70)));
        out.push(("decrypt", format!("textflip-{}", g.name), text_seed(fx, g, 12)));
    }
    for g in &fx.delivered {
        out.push(("decrypt", format!("replay-{}", g.name), g.wire.clone().into_bytes()));
    }
    // The top bit of x3dh.ek (byte 40 + 32 + 32 + 31 of the fields): the same X25519 key to
    // the DH, but another `base`. It once started a second session from one message.
    for name in ["other-identity-no-opk", "other-identity-opk", "prekey-repeat"] {
        let g = fx.pending.iter().find(|g| g.name == name).unwrap();
        let mut seed = field_seed(fx, g, 40 + 32 + 32 + 31);
        *seed.last_mut().unwrap() = 0x80;
        out.push(("decrypt", format!("regression-ek-top-bit-{name}"), seed));
    }
    let c1 = &fx.pending.iter().find(|g| g.name == "chain-1").unwrap().message;
    let w = c1.encode();
    let body = w.strip_prefix("E2EE:").unwrap();
    let n = c1.header.n.to_string();
    let pn = c1.header.pn.to_string();
    let edge: Vec<(&str, String)> = vec![
        ("edge-v2", custom_wire(c1, "2", &pn, &n)),
        ("edge-v-string", custom_wire(c1, "\"1\"", &pn, &n)),
        ("edge-negative-n", custom_wire(c1, "1", &pn, "-1")),
        ("edge-float-pn", custom_wire(c1, "1", "0.0", &n)),
        ("edge-exponent-n", custom_wire(c1, "1", &pn, "1e0")),
        ("edge-huge-n", custom_wire(c1, "1", &pn, "4294967296")),
        ("edge-max-n", custom_wire(c1, "1", &pn, "4294967295")),
        ("edge-pretty", format!("E2EE: \n{}\n", body.replace(',', " ,\n  ").replace(':', " : "))),
        ("edge-duplicate-key", w.replacen("{\"v\":1,", "{\"v\":1,\"v\":1,", 1)),
        ("edge-bad-base64", w.replacen("\"ciphertext\":\"", "\"ciphertext\":\"*", 1)),
        ("edge-empty-object", "E2EE:{}".to_string()),
        ("edge-prefix-only", "E2EE:".to_string()),
        ("edge-x3dh-null", w.replacen("\"ciphertext\"", "\"x3dh\":null,\"ciphertext\"", 1)),
    ];
    for (name, text) in edge {
        out.push(("decrypt", name.to_string(), text.into_bytes()));
    }
    let pk = fx.pending.iter().find(|g| g.name == "other-identity-opk").unwrap();
    out.push((
        "decrypt",
        "edge-unknown-spk".into(),
        pk.wire.replacen("\"spk_id\":2", "\"spk_id\":77", 1).into_bytes(),
    ));
    out.push((
        "decrypt",
        "edge-unknown-opk".into(),
        pk.wire.replacen("\"opk_id\":2", "\"opk_id\":77", 1).into_bytes(),
    ));

    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("account-bob", fx.bob.to_bytes().to_vec()),
        ("account-alice", fx.alice.to_bytes().to_vec()),
        ("record-bob", fx.bob_record.to_bytes().to_vec()),
        ("record-alice", fx.alice_record.to_bytes().to_vec()),
        ("record-empty", SessionRecord::new().to_bytes().to_vec()),
        ("identity", fx.bob.identity().to_bytes().to_vec()),
        ("signed-prekey", fx.bob.signed_prekeys()[0].to_bytes().to_vec()),
        ("one-time-prekey", fx.bob.one_time_prekeys().next().unwrap().to_bytes().to_vec()),
    ];
    for (name, bytes) in objects {
        let half = bytes[..bytes.len() / 2].to_vec();
        out.push(("from_bytes", format!("truncated-{name}"), half));
        let mut flipped = bytes.clone();
        flipped[1] ^= 0xff;
        out.push(("from_bytes", format!("badversion-{name}"), flipped));
        out.push(("from_bytes", name.to_string(), bytes));
    }
    out
}

/// A wire string for `m` with the given raw JSON for `v`, `pn` and `n`.
pub fn custom_wire(m: &WireMessage, v: &str, pn: &str, n: &str) -> String {
    format!(
        "E2EE:{{\"v\":{v},\"header\":{{\"dh\":\"{}\",\"pn\":{pn},\"n\":{n}}},\"ciphertext\":\"{}\"}}",
        b64(&m.header.dh),
        b64(&m.ciphertext)
    )
}

fn field_seed(fx: &Fixture, g: &Genuine, pos: u16) -> Vec<u8> {
    let index = fx.pending.iter().chain(fx.delivered.iter()).position(|x| x.name == g.name).unwrap();
    let mut out = vec![1u8, u8::try_from(index).unwrap()];
    out.extend_from_slice(&pos.to_be_bytes());
    out.push(0x40);
    out
}

fn text_seed(fx: &Fixture, g: &Genuine, pos: u16) -> Vec<u8> {
    let index = fx.pending.iter().chain(fx.delivered.iter()).position(|x| x.name == g.name).unwrap();
    let mut out = vec![0u8, u8::try_from(index).unwrap()];
    out.extend_from_slice(&pos.to_be_bytes());
    out.push(0x01);
    out
}

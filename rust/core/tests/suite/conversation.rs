//! Property tests of whole conversations between two accounts: random interleavings of sends
//! in both directions, out-of-order delivery, drops, replays and tampering.
//!
//! Invariants checked after every step:
//! - every genuine message decrypts exactly once, to its own plaintext;
//! - every replayed or tampered message fails;
//! - a failed decrypt leaves the serialized record and account byte-identical.
//!
//! `PROPTEST_CASES=1000 cargo test -p wac1 --test suite conversation::` runs more cases by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::harness;

use std::collections::HashSet;

use harness::DetRng;
use proptest::prelude::*;
use proptest::sample::Index;
use wac1::{Account, Decrypted, Error, PublicKeyBytes, Serialize, SessionRecord, WireMessage};

#[derive(Debug, Clone, Copy)]
enum Field {
    Ciphertext,
    HeaderDh,
    HeaderPn,
    HeaderN,
    X3dhIk,
    X3dhEk,
    /// `spk_id` / `opk_id`: only authenticated while the receiver has no session for them.
    X3dhIds,
    /// Removing the `x3dh` field of a first message.
    StripX3dh,
    /// Truncating the ciphertext.
    Truncate,
    /// A bit flip in the wire string that still parses.
    WireText,
}

#[derive(Debug, Clone)]
enum Op {
    Send { from_alice: bool, len: usize },
    Deliver { to_bob: bool, pick: Index },
    Drop { to_bob: bool, pick: Index },
    Replay { to_bob: bool, pick: Index },
    Tamper { to_bob: bool, pick: Index, field: Field, bit: u16 },
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Ciphertext),
        Just(Field::HeaderDh),
        Just(Field::HeaderPn),
        Just(Field::HeaderN),
        Just(Field::X3dhIk),
        Just(Field::X3dhEk),
        Just(Field::X3dhIds),
        Just(Field::StripX3dh),
        Just(Field::Truncate),
        Just(Field::WireText),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), 0usize..64).prop_map(|(from_alice, len)| Op::Send { from_alice, len }),
        4 => (any::<bool>(), any::<Index>()).prop_map(|(to_bob, pick)| Op::Deliver { to_bob, pick }),
        1 => (any::<bool>(), any::<Index>()).prop_map(|(to_bob, pick)| Op::Drop { to_bob, pick }),
        1 => (any::<bool>(), any::<Index>()).prop_map(|(to_bob, pick)| Op::Replay { to_bob, pick }),
        2 => (any::<bool>(), any::<Index>(), field(), any::<u16>())
            .prop_map(|(to_bob, pick, field, bit)| Op::Tamper { to_bob, pick, field, bit }),
    ]
}

struct Party {
    account: Account,
    record: SessionRecord,
    /// `(ik, ek)` of every X3DH this party has accepted a message of, as a responder.
    bases: HashSet<(PublicKeyBytes, PublicKeyBytes)>,
}

#[derive(Clone)]
struct InFlight {
    message: WireMessage,
    plaintext: Vec<u8>,
}

struct Sim {
    alice: Party,
    bob: Party,
    to_alice: Vec<InFlight>,
    to_bob: Vec<InFlight>,
    delivered_to_alice: Vec<WireMessage>,
    delivered_to_bob: Vec<WireMessage>,
    sent: u32,
    decrypted: u32,
    rng: DetRng,
}

impl Sim {
    fn party(&mut self, alice: bool) -> &mut Party {
        if alice {
            &mut self.alice
        } else {
            &mut self.bob
        }
    }

    fn queue(&mut self, to_bob: bool) -> &mut Vec<InFlight> {
        if to_bob {
            &mut self.to_bob
        } else {
            &mut self.to_alice
        }
    }

    fn send(&mut self, from_alice: bool, len: usize) {
        self.sent += 1;
        let mut plaintext =
            format!("{} from {}:", self.sent, if from_alice { "alice" } else { "bob" }).into_bytes();
        plaintext.extend((0..len).map(|i| u8::try_from(i % 251).unwrap()));
        let party = self.party(from_alice);
        if !party.record.can_encrypt() {
            // The responder cannot send before it has received: that is the protocol.
            let err = party.record.encrypt(&plaintext).unwrap_err();
            assert_eq!(err.code(), "no_session");
            self.sent -= 1;
            return;
        }
        let message = party.record.encrypt(&plaintext).unwrap();
        // What goes on the wire parses back to the same message.
        assert_eq!(WireMessage::parse(&message.encode()).unwrap(), message);
        self.queue(from_alice).push(InFlight { message, plaintext });
    }

    /// Decrypts at the receiver; on failure checks that nothing changed.
    fn receive(&mut self, to_bob: bool, message: &WireMessage) -> Result<Decrypted, Error> {
        let Sim { alice, bob, rng, .. } = self;
        let party = if to_bob { bob } else { alice };
        let before = (party.account.to_bytes(), party.record.to_bytes());
        let result = party.account.decrypt(&mut party.record, message, rng);
        match &result {
            Ok(_) => {
                if let Some(x) = &message.x3dh {
                    party.bases.insert((x.ik, x.ek));
                }
            }
            Err(e) => {
                assert_eq!(
                    *party.account.to_bytes(),
                    *before.0,
                    "failed decrypt ({e:?}) changed the account"
                );
                assert_eq!(*party.record.to_bytes(), *before.1, "failed decrypt ({e:?}) changed the record");
            }
        }
        result
    }

    fn deliver(&mut self, to_bob: bool, pick: &Index) {
        if !self.queue(to_bob).is_empty() {
            let i = pick.index(self.queue(to_bob).len());
            self.deliver_at(to_bob, i);
        }
    }

    fn deliver_at(&mut self, to_bob: bool, i: usize) {
        let msg = self.queue(to_bob).remove(i);
        let got =
            self.receive(to_bob, &msg.message).unwrap_or_else(|e| panic!("genuine message refused: {e:?}"));
        assert_eq!(got.plaintext, msg.plaintext);
        assert!(!got.identity_changed, "the peer's identity never changes here");
        self.decrypted += 1;
        if to_bob {
            self.delivered_to_bob.push(msg.message);
        } else {
            self.delivered_to_alice.push(msg.message);
        }
    }

    fn drop_one(&mut self, to_bob: bool, pick: &Index) {
        let q = self.queue(to_bob);
        if !q.is_empty() {
            let i = pick.index(q.len());
            q.remove(i);
        }
    }

    fn replay(&mut self, to_bob: bool, pick: &Index) {
        let delivered = if to_bob { &self.delivered_to_bob } else { &self.delivered_to_alice };
        if delivered.is_empty() {
            return;
        }
        let msg = delivered[pick.index(delivered.len())].clone();
        let err = self.receive(to_bob, &msg).expect_err("a replayed message decrypted again");
        assert!(
            matches!(err, Error::DuplicateMessage | Error::DecryptionFailed | Error::UnknownPreKey { .. }),
            "unexpected error for a replay: {err:?}"
        );
    }

    fn tamper(&mut self, to_bob: bool, pick: &Index, field: Field, bit: u16) {
        if self.queue(to_bob).is_empty() {
            return;
        }
        let i = pick.index(self.queue(to_bob).len());
        let genuine = self.queue(to_bob)[i].message.clone();
        let receiver_bases = &self.party(!to_bob).bases;
        let mut m = genuine.clone();
        let flip = |bytes: &mut [u8]| {
            let pos = usize::from(bit) % (bytes.len() * 8);
            bytes[pos / 8] ^= 1 << (pos % 8);
        };
        match field {
            Field::Ciphertext => flip(&mut m.ciphertext),
            Field::HeaderDh => flip(&mut m.header.dh),
            Field::HeaderPn => m.header.pn ^= 1 << (bit % 32),
            Field::HeaderN => m.header.n ^= 1 << (bit % 32),
            Field::Truncate => {
                let keep = usize::from(bit) % m.ciphertext.len();
                m.ciphertext.truncate(keep);
            }
            Field::X3dhIk | Field::X3dhEk | Field::X3dhIds | Field::StripX3dh => {
                let Some(x) = m.x3dh.as_mut() else { return };
                let known = receiver_bases.contains(&(x.ik, x.ek));
                match field {
                    Field::X3dhIk => flip(&mut x.ik),
                    Field::X3dhEk => flip(&mut x.ek),
                    // For a session the receiver already has, these are redundant: the
                    // message is matched by ik+ek and decrypts. Not a tampering case then.
                    Field::X3dhIds if known => return,
                    Field::X3dhIds => match x.opk_id.as_mut() {
                        Some(id) => *id ^= 1 << (bit % 32),
                        None => x.spk_id ^= 1 << (bit % 32),
                    },
                    Field::StripX3dh if known => return,
                    _ => m.x3dh = None,
                }
            }
            Field::WireText => {
                let mut text = genuine.encode().into_bytes();
                let pos = usize::from(bit) % text.len();
                text[pos] ^= 1 << (bit % 7);
                let Ok(text) = String::from_utf8(text) else { return };
                let Ok(parsed) = WireMessage::parse(&text) else { return };
                if parsed == genuine {
                    return;
                }
                // A flip in the name "x3dh" drops the field (unknown keys are ignored): for a
                // session the receiver has, that is the redundant-field case above.
                if parsed.x3dh.is_none() {
                    if let Some(x) = &genuine.x3dh {
                        if receiver_bases.contains(&(x.ik, x.ek)) {
                            return;
                        }
                    }
                }
                // x3dh.sk is not covered by any MAC of the protocol (reported), so a flip
                // there is not a case this test can require to fail.
                if let (Some(a), Some(b)) = (&parsed.x3dh, &genuine.x3dh) {
                    if a.sk != b.sk || (known_ids_only(a, b) && receiver_bases.contains(&(b.ik, b.ek))) {
                        return;
                    }
                }
                m = parsed;
            }
        }
        assert_ne!(m, genuine);
        if let Ok(got) = self.receive(to_bob, &m) {
            panic!("tampered message ({field:?}) decrypted to {:?}", String::from_utf8_lossy(&got.plaintext));
        }
    }

    /// Delivers everything still in flight, in order, both ways.
    fn drain(&mut self) {
        while !self.to_bob.is_empty() || !self.to_alice.is_empty() {
            if !self.to_bob.is_empty() {
                self.deliver_at(true, 0);
            }
            if !self.to_alice.is_empty() {
                self.deliver_at(false, 0);
            }
        }
    }

    fn run(&mut self, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Send { from_alice, len } => self.send(*from_alice, *len),
                Op::Deliver { to_bob, pick } => self.deliver(*to_bob, pick),
                Op::Drop { to_bob, pick } => self.drop_one(*to_bob, pick),
                Op::Replay { to_bob, pick } => self.replay(*to_bob, pick),
                Op::Tamper { to_bob, pick, field, bit } => self.tamper(*to_bob, pick, *field, *bit),
            }
        }
        self.drain();
        // Both directions still work after everything above.
        for from_alice in [true, false, true] {
            self.send(from_alice, 3);
            self.drain();
        }
    }
}

/// The two x3dh headers differ only in their prekey ids.
fn known_ids_only(a: &wac1::X3dhHeader, b: &wac1::X3dhHeader) -> bool {
    a.ik == b.ik && a.sk == b.sk && a.ek == b.ek
}

fn new_party(rng: &mut DetRng) -> Party {
    let mut account = Account::generate(rng);
    account.rotate_signed_prekey(1, rng);
    account.generate_one_time_prekeys(2, rng).unwrap();
    Party { account, record: SessionRecord::new(), bases: HashSet::new() }
}

fn start(seed: u64, with_opk: bool) -> Sim {
    let mut rng = DetRng::new(seed);
    let mut alice = new_party(&mut rng);
    let bob = new_party(&mut rng);
    let opk = with_opk.then(|| bob.account.one_time_prekeys().next().unwrap().id);
    let changed =
        alice.record.initiate(alice.account.identity(), &bob.account.bundle(opk).unwrap(), &mut rng).unwrap();
    assert!(!changed);
    Sim {
        alice,
        bob,
        to_alice: Vec::new(),
        to_bob: Vec::new(),
        delivered_to_alice: Vec::new(),
        delivered_to_bob: Vec::new(),
        sent: 0,
        decrypted: 0,
        rng,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Alice starts, then anything happens; every genuine message that is not dropped
    /// decrypts exactly once, everything else fails without changing state.
    #[test]
    fn random_conversations(seed in any::<u64>(), with_opk in any::<bool>(), ops in prop::collection::vec(op(), 1..48)) {
        let mut sim = start(seed, with_opk);
        sim.send(true, 1);
        sim.run(&ops);
        prop_assert!(sim.decrypted >= 3);
        // The one-time prekey was consumed by the first message Bob decrypted.
        prop_assert_eq!(sim.bob.account.one_time_prekeys().count(), if with_opk { 1 } else { 2 });
    }

}

proptest! {
    // Each case does about twice the public-key work of the ones above.
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// Both start a session from the other's bundle at the same time and send before
    /// receiving anything; with any interleaving afterwards every message decrypts.
    #[test]
    fn simultaneous_initiation(
        seed in any::<u64>(),
        first_alice in 1usize..4,
        first_bob in 1usize..4,
        ops in prop::collection::vec(op(), 0..32),
    ) {
        let mut sim = start(seed, true);
        let alice_bundle = sim.alice.account.bundle(Some(sim.alice.account.one_time_prekeys().next().unwrap().id)).unwrap();
        let Sim { bob, rng, .. } = &mut sim;
        bob.record.initiate(bob.account.identity(), &alice_bundle, rng).unwrap();
        for _ in 0..first_alice {
            sim.send(true, 5);
        }
        for _ in 0..first_bob {
            sim.send(false, 5);
        }
        prop_assert_eq!(sim.to_alice.len(), first_bob);
        prop_assert_eq!(sim.to_bob.len(), first_alice);
        sim.run(&ops);
        prop_assert!(sim.alice.record.session_count() <= 2 && sim.bob.record.session_count() <= 2);
    }

    /// Messages of one chain arrive in any order (the gap stays within MAX_SKIP).
    #[test]
    fn any_order_within_one_chain(seed in any::<u64>(), order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle()) {
        let mut sim = start(seed, false);
        for _ in 0..40 {
            sim.send(true, 2);
        }
        let all = std::mem::take(&mut sim.to_bob);
        for i in order {
            let m = &all[i];
            let got = sim.receive(true, &m.message).unwrap();
            prop_assert_eq!(&got.plaintext, &m.plaintext);
            prop_assert!(sim.receive(true, &m.message).is_err());
        }
        prop_assert_eq!(sim.bob.record.active().unwrap().ratchet().view().skipped_count, 0);
    }
}

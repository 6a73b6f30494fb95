//! Conformance hooks for the WAC1 test vectors, which fix every private key and random
//! choice. They exist so the Python suite can replay the vectors; never use them with real keys.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rand_core::{CryptoRng, RngCore};
use wac1::encoding::unb64_32;
use wac1::kdf::{kdf_ck, kdf_rk, message_keys};
use wac1::{IdentityKeyPair, KeyPair, OneTimePreKey, SignedPreKey, WireMessage};
use zeroize::Zeroizing;

use crate::account::Account;
use crate::attachment::{AttachmentKeys, AttachmentSealer};
use crate::errors::{invalid, key32, IntoPyResult};
use crate::keys::PreKeyBundle;
use crate::locking;
use crate::session::{Decrypted, Session};

fn secret(py: Python<'_>, bytes: &[u8], what: &str) -> PyResult<Zeroizing<[u8; 32]>> {
    Ok(Zeroizing::new(key32(py, bytes, what)?))
}

#[pyfunction]
fn _vector_account(py: Python<'_>, identity_private: &[u8], signing_private: &[u8]) -> PyResult<Account> {
    let identity = IdentityKeyPair::from_secret_bytes(
        secret(py, identity_private, "identity_private")?,
        secret(py, signing_private, "signing_private")?,
    );
    Ok(Account::of(wac1::Account::from_identity(identity)))
}

#[pyfunction]
#[pyo3(signature = (account, key_id, private_key, signature, created_at=0))]
fn _vector_add_signed_prekey(
    py: Python<'_>,
    account: &Account,
    key_id: u32,
    private_key: &[u8],
    signature: &[u8],
    created_at: u64,
) -> PyResult<()> {
    let signature = <[u8; 64]>::try_from(signature).map_err(|_| invalid(py, "signature must be 64 bytes"))?;
    let pair = KeyPair::from_secret_bytes(secret(py, private_key, "private_key")?);
    locking::with(py, &account.inner, false, |a| {
        a.add_signed_prekey(SignedPreKey { id: key_id, pair, signature, created_at })
    });
    Ok(())
}

#[pyfunction]
fn _vector_add_one_time_prekey(
    py: Python<'_>,
    account: &Account,
    key_id: u32,
    private_key: &[u8],
) -> PyResult<()> {
    let pair = KeyPair::from_secret_bytes(secret(py, private_key, "private_key")?);
    locking::with(py, &account.inner, false, |a| a.add_one_time_prekey(OneTimePreKey { id: key_id, pair }));
    Ok(())
}

#[pyfunction]
fn _vector_initiate(
    py: Python<'_>,
    account: &Account,
    session: &Session,
    bundle: &PreKeyBundle,
    ephemeral_private: &[u8],
    ratchet_private: &[u8],
) -> PyResult<bool> {
    let ephemeral = KeyPair::from_secret_bytes(secret(py, ephemeral_private, "ephemeral_private")?);
    let ratchet = KeyPair::from_secret_bytes(secret(py, ratchet_private, "ratchet_private")?);
    locking::with2(
        py,
        &account.inner,
        &session.record,
        |_, _| false,
        |a, r| r.initiate_with(a.identity(), &bundle.inner, ephemeral, ratchet),
    )
    .py(py)
}

/// Hands out one fixed key as the "random" ratchet key of a DH step.
struct FixedRng(Option<[u8; 32]>);

impl RngCore for FixedRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if let Some(key) = self.0.take() {
            for (d, k) in dest.iter_mut().zip(key.iter()) {
                *d = *k;
            }
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for FixedRng {}

#[pyfunction]
fn _vector_decrypt(
    py: Python<'_>,
    account: &Account,
    session: &Session,
    message: &str,
    next_ratchet_private: Option<&[u8]>,
) -> PyResult<Decrypted> {
    let msg = WireMessage::parse(message).py(py)?;
    let next = match next_ratchet_private {
        Some(k) => Some(key32(py, k, "next_ratchet_private")?),
        None => None,
    };
    let done = locking::with2(
        py,
        &account.inner,
        &session.record,
        |_, _| false,
        |a, r| a.decrypt(r, &msg, &mut FixedRng(next)),
    )
    .py(py)?;
    Ok(Decrypted::of(py, &done))
}

/// Names of the `state_after` fields that differ from the active session's state.
#[pyfunction]
fn _vector_state_mismatches(
    py: Python<'_>,
    session: &Session,
    expected: &Bound<'_, PyAny>,
) -> PyResult<Vec<String>> {
    let Some(view) = locking::peek(py, &session.record, |r| r.active().map(|s| s.ratchet().view())) else {
        return Ok(vec!["<no session>".to_owned()]);
    };
    let key = |name: &str| -> PyResult<Option<[u8; 32]>> {
        let value = expected.get_item(name)?;
        if value.is_none() {
            return Ok(None);
        }
        let text: String = value.extract()?;
        Ok(Some(unb64_32(&text, "state key").py(py)?))
    };
    let int = |name: &str| -> PyResult<u64> { expected.get_item(name)?.extract() };
    let mut bad = Vec::new();
    let mut check = |name: &str, ok: bool| {
        if !ok {
            bad.push(name.to_owned());
        }
    };
    check("root_key", key("root_key")? == Some(view.root_key));
    check("sending_chain_key", key("sending_chain_key")? == view.sending_chain_key);
    check("receiving_chain_key", key("receiving_chain_key")? == view.receiving_chain_key);
    check("sending_ratchet_public", key("sending_ratchet_public")? == Some(view.sending_ratchet_public));
    check("remote_ratchet_public", key("remote_ratchet_public")? == view.remote_ratchet_public);
    check("ns", int("ns")? == u64::from(view.ns));
    check("nr", int("nr")? == u64::from(view.nr));
    check("pn", int("pn")? == u64::from(view.pn));
    check("skipped_count", int("skipped_count")? == view.skipped_count as u64);
    Ok(bad)
}

type X3dhOut<'py> = (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>);

#[pyfunction]
fn _vector_x3dh<'py>(
    py: Python<'py>,
    identity_private: &[u8],
    ephemeral_private: &[u8],
    bundle: &PreKeyBundle,
) -> PyResult<X3dhOut<'py>> {
    let identity = IdentityKeyPair::from_secret_bytes(
        secret(py, identity_private, "identity_private")?,
        Zeroizing::new([1u8; 32]),
    );
    let ephemeral = KeyPair::from_secret_bytes(secret(py, ephemeral_private, "ephemeral_private")?);
    let out = wac1::x3dh::initiate(&identity, &bundle.inner, &ephemeral).py(py)?;
    Ok((
        PyBytes::new(py, identity.dh().public()),
        PyBytes::new(py, &out.ephemeral_public),
        PyBytes::new(py, out.shared_secret.as_ref()),
        PyBytes::new(py, &out.associated_data),
    ))
}

#[pyfunction]
fn _vector_x25519<'py>(
    py: Python<'py>,
    private_key: &[u8],
    public_key: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let pair = KeyPair::from_secret_bytes(secret(py, private_key, "private_key")?);
    let shared = pair.dh(&key32(py, public_key, "public_key")?).py(py)?;
    Ok(PyBytes::new(py, shared.as_ref()))
}

#[pyfunction]
fn _vector_public_key<'py>(py: Python<'py>, private_key: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let pair = KeyPair::from_secret_bytes(secret(py, private_key, "private_key")?);
    Ok(PyBytes::new(py, pair.public()))
}

#[pyfunction]
fn _vector_kdf_rk<'py>(
    py: Python<'py>,
    root_key: &[u8],
    dh_out: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (rk, ck) = kdf_rk(&key32(py, root_key, "root_key")?, &key32(py, dh_out, "dh_out")?);
    Ok((PyBytes::new(py, rk.as_ref()), PyBytes::new(py, ck.as_ref())))
}

#[pyfunction]
fn _vector_kdf_ck<'py>(
    py: Python<'py>,
    chain_key: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let (mk, next) = kdf_ck(&key32(py, chain_key, "chain_key")?);
    Ok((PyBytes::new(py, mk.as_ref()), PyBytes::new(py, next.as_ref())))
}

#[pyfunction]
fn _vector_message_keys<'py>(
    py: Python<'py>,
    message_key: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let keys = message_keys(&key32(py, message_key, "message_key")?);
    Ok((PyBytes::new(py, keys.key.as_ref()), PyBytes::new(py, &keys.nonce)))
}

#[pyfunction]
fn _vector_aead_encrypt<'py>(
    py: Python<'py>,
    message_key: &[u8],
    plaintext: &[u8],
    associated_data: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let ct =
        wac1::aead::encrypt(&key32(py, message_key, "message_key")?, plaintext, associated_data).py(py)?;
    Ok(PyBytes::new(py, &ct))
}

#[pyfunction]
fn _vector_aead_decrypt<'py>(
    py: Python<'py>,
    message_key: &[u8],
    ciphertext: &[u8],
    associated_data: &[u8],
) -> PyResult<Bound<'py, PyBytes>> {
    let pt =
        wac1::aead::decrypt(&key32(py, message_key, "message_key")?, ciphertext, associated_data).py(py)?;
    Ok(PyBytes::new(py, &pt))
}

#[pyfunction]
fn _vector_header_bytes<'py>(py: Python<'py>, dh: &[u8], pn: u32, n: u32) -> PyResult<Bound<'py, PyBytes>> {
    let header = wac1::Header { dh: key32(py, dh, "dh")?, pn, n };
    Ok(PyBytes::new(py, &header.to_bytes()))
}

#[pyfunction]
fn _vector_sign_prekey<'py>(
    py: Python<'py>,
    signing_private: &[u8],
    key_id: u32,
    public_key: &[u8],
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let identity = IdentityKeyPair::from_secret_bytes(
        Zeroizing::new([1u8; 32]),
        secret(py, signing_private, "signing_private")?,
    );
    let sig = identity.sign_prekey(key_id, &key32(py, public_key, "public_key")?);
    Ok((PyBytes::new(py, &identity.public().signing_key), PyBytes::new(py, &sig)))
}

/// Adds the conformance hooks to the module.
/// `seal_attachment` under a fixed key (the vectors give it).
#[pyfunction]
fn _vector_seal_attachment<'py>(
    py: Python<'py>,
    key: &[u8],
    data: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, AttachmentKeys)> {
    crate::attachment::seal_with(py, data, &mut FixedRng(Some(key32(py, key, "key")?)))
}

/// An `AttachmentSealer` under a fixed key.
#[pyfunction]
fn _vector_attachment_sealer(py: Python<'_>, key: &[u8]) -> PyResult<AttachmentSealer> {
    Ok(AttachmentSealer::with_rng(&mut FixedRng(Some(key32(py, key, "key")?))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_vector_seal_attachment, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_attachment_sealer, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_account, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_add_signed_prekey, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_add_one_time_prekey, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_initiate, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_state_mismatches, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_x3dh, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_x25519, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_kdf_rk, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_kdf_ck, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_message_keys, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_aead_encrypt, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_aead_decrypt, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_header_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_vector_sign_prekey, m)?)?;
    Ok(())
}

//! The account: identity, signed and one-time prekeys, and the keys upload payload.

use rand_core::OsRng;
use wac1::{Account, OneTimePreKey, PreKeyBundle, PublicIdentity, Serialize, SignedPreKey};

use super::*;
use crate::error::{Result, StoreError};

impl Store {
    // ----- account --------------------------------------------------------------------

    /// Whether an identity exists.
    pub fn has_identity(&self) -> bool {
        self.account.is_some()
    }

    /// The account, if an identity exists.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    pub(super) fn require_account(&self) -> Result<&Account> {
        self.account.as_ref().ok_or_else(|| {
            StoreError::Storage("this store has no identity yet: call create_identity() first".into())
        })
    }

    /// Writes a changed account and makes it current once committed.
    pub(super) fn commit_account(&mut self, account: Account) -> Result<()> {
        let mut lt = self.ledger.begin();
        let blob = lt.seal(&self.ledger, &self.data_key, Row::Account, &account.to_bytes())?;
        let tx = Self::begin(self.pid, &mut self.keys)?;
        Row::Account.put(&tx, lt.gen, &blob)?;
        lt.write(&tx, &self.data_key)?;
        tx.commit()?;
        self.ledger.apply(lt);
        self.account = Some(account);
        Ok(())
    }

    /// The public identity of the account.
    pub fn keys_identity(&self) -> Result<PublicIdentity> {
        Ok(self.require_account()?.identity().public())
    }

    /// Makes a new identity. Refused when one exists.
    pub fn create_identity(&mut self) -> Result<()> {
        if self.account.is_some() {
            return Err(StoreError::Invalid("this store already has an identity".into()));
        }
        let mut account = Account::generate(&mut OsRng);
        account.set_limits(self.opts.limits);
        self.commit_account(account)
    }

    /// Makes a new current signed prekey (committed) and returns it.
    pub fn rotate_signed_prekey(&mut self, now: u64) -> Result<SignedPreKey> {
        let mut account = self.require_account()?.clone();
        let key = account.rotate_signed_prekey(now, &mut OsRng).clone();
        self.commit_account(account)?;
        Ok(key)
    }

    /// Drops non-current signed prekeys made before `older_than`; returns how many.
    pub fn expire_signed_prekeys(&mut self, older_than: u64) -> Result<usize> {
        let mut account = self.require_account()?.clone();
        let n = account.expire_signed_prekeys(older_than);
        if n > 0 {
            self.commit_account(account)?;
        }
        Ok(n)
    }

    /// The current signed prekey.
    pub fn signed_prekey(&self) -> Result<Option<SignedPreKey>> {
        Ok(self.require_account()?.current_signed_prekey().cloned())
    }

    /// Makes `count` new one-time prekeys (committed) and returns them.
    pub fn generate_one_time_prekeys(&mut self, count: usize) -> Result<Vec<OneTimePreKey>> {
        if count > MAX_PREKEY_BATCH {
            return Err(StoreError::Invalid(format!("at most {MAX_PREKEY_BATCH} one-time prekeys per call")));
        }
        let mut account = self.require_account()?.clone();
        let keys: Vec<OneTimePreKey> =
            account.generate_one_time_prekeys(count, &mut OsRng)?.into_iter().cloned().collect();
        self.commit_account(account)?;
        Ok(keys)
    }

    /// Our own prekey bundle, as the server would hand it out with the given one-time prekey.
    pub fn bundle(&self, one_time_prekey: Option<u32>) -> Result<PreKeyBundle> {
        Ok(self.require_account()?.bundle(one_time_prekey)?)
    }

    /// One-time prekeys held.
    pub fn one_time_prekey_count(&self) -> Result<usize> {
        Ok(self.require_account()?.one_time_prekeys().count())
    }

    /// The body of `PUT /api/keys`.
    pub fn keys_payload(&self) -> Result<KeysPayload> {
        let account = self.require_account()?;
        let me = account.identity().public();
        let spk = account.current_signed_prekey().ok_or_else(|| {
            StoreError::Invalid("no signed prekey yet: call rotate_signed_prekey() first".into())
        })?;
        Ok(KeysPayload {
            identity_key: me.identity_key,
            signing_key: me.signing_key,
            signed_prekey: (spk.id, *spk.pair.public(), spk.signature),
            one_time_prekeys: account.one_time_prekeys().map(|k| (k.id, *k.pair.public())).collect(),
        })
    }
}

//! The byte buffers of the storage format: a writer that never leaves private key bytes
//! behind when it grows, and a bounds-checked reader.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub(super) const FORMAT_VERSION: u8 = 1;
/// Upper bounds that keep a corrupt length field from allocating without limit.
pub(super) const MAX_ITEMS: u32 = 1 << 20;

/// Kind bytes of the top-level objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Kind {
    Identity = 1,
    SignedPreKey = 2,
    OneTimePreKey = 3,
    SessionRecord = 4,
    Account = 5,
}

/// The output buffer. It holds private keys, so it never lets the allocator move it: when
/// it must grow, the bytes are copied into a larger buffer and the old one is wiped as it is
/// dropped (a `Vec`'s own growth would free the old allocation unwiped).
pub(super) struct Writer(pub(super) Zeroizing<Vec<u8>>);

impl Writer {
    pub(super) fn new(kind: Kind) -> Self {
        let mut w = Self(Zeroizing::new(Vec::with_capacity(256)));
        w.bytes(&[kind as u8, FORMAT_VERSION]);
        w
    }
    pub(super) fn reserve(&mut self, extra: usize) {
        let needed = self.0.len().saturating_add(extra);
        if needed > self.0.capacity() {
            let mut grown =
                Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity().saturating_mul(2))));
            grown.extend_from_slice(&self.0);
            // The old buffer is zeroized (its whole capacity) as it drops here.
            self.0 = grown;
        }
    }
    pub(super) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub(super) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }
    pub(super) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }
    pub(super) fn bytes(&mut self, v: &[u8]) {
        self.reserve(v.len());
        self.0.extend_from_slice(v);
    }
    pub(super) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub(super) fn opt32(&mut self, v: Option<&[u8; 32]>) {
        match v {
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
            None => self.u8(0),
        }
    }
    pub(super) fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            Some(n) => {
                self.u8(1);
                self.u32(n);
            }
            None => self.u8(0),
        }
    }
}

pub(super) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(data: &'a [u8], kind: Kind) -> Result<Self> {
        let mut r = Self { data };
        if r.u8()? != kind as u8 {
            return Err(Error::Corrupt("wrong object kind"));
        }
        if r.u8()? != FORMAT_VERSION {
            return Err(Error::Corrupt("unknown format version"));
        }
        Ok(r)
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.data.len() < n {
            return Err(Error::Corrupt("truncated"));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }
    pub(super) fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }
    pub(super) fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }
    pub(super) fn b32(&mut self) -> Result<[u8; 32]> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(b)
    }
    pub(super) fn secret(&mut self) -> Result<Zeroizing<[u8; 32]>> {
        let mut b = Zeroizing::new([0u8; 32]);
        b.copy_from_slice(self.take(32)?);
        Ok(b)
    }
    pub(super) fn b64(&mut self) -> Result<[u8; 64]> {
        let mut b = [0u8; 64];
        b.copy_from_slice(self.take(64)?);
        Ok(b)
    }
    pub(super) fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Corrupt("bad flag byte")),
        }
    }
    pub(super) fn opt32(&mut self) -> Result<Option<[u8; 32]>> {
        if self.flag()? {
            Ok(Some(self.b32()?))
        } else {
            Ok(None)
        }
    }
    pub(super) fn opt_secret(&mut self) -> Result<Option<Zeroizing<[u8; 32]>>> {
        if self.flag()? {
            Ok(Some(self.secret()?))
        } else {
            Ok(None)
        }
    }
    pub(super) fn opt_u32(&mut self) -> Result<Option<u32>> {
        if self.flag()? {
            Ok(Some(self.u32()?))
        } else {
            Ok(None)
        }
    }
    pub(super) fn count(&mut self, max: u32) -> Result<usize> {
        let n = self.u32()?;
        if n > max.min(MAX_ITEMS) {
            return Err(Error::Corrupt("item count out of range"));
        }
        usize::try_from(n).map_err(|_| Error::Corrupt("item count out of range"))
    }
    pub(super) fn finish(self) -> Result<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(Error::Corrupt("trailing bytes"))
        }
    }
}

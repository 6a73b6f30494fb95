//! A tiny length-prefixed binary encoding for the store's own records. Buffers are wiped
//! on drop because they may hold secrets or plaintexts, and they never grow in place: a
//! `Vec` that reallocates frees its old block unwiped, so [`Enc`] copies into a new
//! wiping buffer and wipes the old one itself.

use zeroize::Zeroizing;

use crate::error::{Result, StoreError};

/// Writes fields one after another.
#[derive(Default)]
pub struct Enc(Zeroizing<Vec<u8>>);

impl core::fmt::Debug for Enc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Enc(<{} bytes redacted>)", self.0.len())
    }
}

impl Enc {
    /// An empty buffer starting with a format tag.
    pub fn new(tag: u8) -> Self {
        let mut v = Zeroizing::new(Vec::with_capacity(128));
        v.push(tag);
        Self(v)
    }
    /// Appends bytes, moving to a larger wiping buffer when needed (never a `Vec` growth,
    /// which would free the old block without wiping it).
    fn put(&mut self, bytes: &[u8]) {
        let need = self.0.len().saturating_add(bytes.len());
        if need > self.0.capacity() {
            let mut grown = Zeroizing::new(Vec::with_capacity(need.max(self.0.capacity().saturating_mul(2))));
            grown.extend_from_slice(&self.0);
            // The old buffer is wiped (its whole capacity) as it drops here.
            self.0 = grown;
        }
        self.0.extend_from_slice(bytes);
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.put(&[v]);
        self
    }
    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.put(&v.to_be_bytes());
        self
    }
    /// A big-endian i64.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.put(&v.to_be_bytes());
        self
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.put(v);
        self
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
    /// An optional string (flag byte, then the string).
    pub fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(s) => self.u8(1).str(s),
            None => self.u8(0),
        }
    }
    /// An optional i64.
    pub fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(n) => self.u8(1).i64(n),
            None => self.u8(0),
        }
    }
    /// The encoded bytes.
    pub fn finish(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

/// Reads what [`Enc`] wrote, refusing truncation and trailing bytes.
#[derive(Debug)]
pub struct Dec<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Dec<'a> {
    /// Starts reading; the first byte must be `tag`.
    pub fn new(data: &'a [u8], tag: u8, what: &'static str) -> Result<Self> {
        let mut d = Self { data, what };
        if d.u8()? != tag {
            return Err(d.bad());
        }
        Ok(d)
    }
    fn bad(&self) -> StoreError {
        StoreError::Corrupt(format!("a stored {} record is malformed", self.what))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.data.len() < n {
            return Err(self.bad());
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        self.take(1)?.first().copied().ok_or_else(|| self.bad())
    }
    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }
    /// A big-endian i64.
    pub fn i64(&mut self) -> Result<i64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(b))
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = usize::try_from(self.u32()?).map_err(|_| self.bad())?;
        self.take(n)
    }
    /// Length-prefixed UTF-8.
    pub fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.bad())
    }
    /// A flag byte: 0 or 1.
    pub fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.bad()),
        }
    }
    /// An optional string.
    pub fn opt_string(&mut self) -> Result<Option<String>> {
        if self.flag()? {
            Ok(Some(self.string()?))
        } else {
            Ok(None)
        }
    }
    /// An optional i64.
    pub fn opt_i64(&mut self) -> Result<Option<i64>> {
        if self.flag()? {
            Ok(Some(self.i64()?))
        } else {
            Ok(None)
        }
    }
    /// Whether everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// Ends reading; trailing bytes are an error.
    pub fn finish(self) -> Result<()> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(self.bad())
        }
    }
}

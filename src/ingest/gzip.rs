//! Gzip through libdeflate, the fastest inflate on this class of machine.
//!
//! libdeflate works on whole buffers: each member is inflated in one call into a buffer sized
//! from the gzip trailer (exact for the usual single-member file), grown and retried when too
//! small. `libdeflate_gzip_decompress_ex` reports the input each member used, so concatenated
//! members are all read (the safe `libdeflater` wrapper does not expose that count, hence the
//! direct binding). The CRC and size of every member are checked by libdeflate.

use std::ffi::c_void;
use std::ptr::NonNull;

use libdeflate_sys as sys;

/// Decompressed output beyond this is refused (a corrupt size or a decompression bomb).
const MAX_OUTPUT: usize = 8 << 30;

/// Why gzip data could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    #[error("corrupt gzip data at byte {0}")]
    BadData(usize),
    #[error("gzip data ends early (truncated file?)")]
    Truncated,
    #[error("decompressed size exceeds {} GiB", MAX_OUTPUT >> 30)]
    TooLarge,
}

/// One libdeflate decompressor: reuse it per thread.
pub struct Inflater(NonNull<sys::libdeflate_decompressor>);

// SAFETY: a libdeflate decompressor has no thread affinity; `&mut self` on every use keeps it
// from being used by two threads at once.
unsafe impl Send for Inflater {}

impl Default for Inflater {
    fn default() -> Self {
        // SAFETY: plain allocation; null (out of memory) is handled.
        let p = unsafe { sys::libdeflate_alloc_decompressor() };
        Inflater(NonNull::new(p).expect("out of memory allocating a libdeflate decompressor"))
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        // SAFETY: allocated by libdeflate_alloc_decompressor, freed once.
        unsafe { sys::libdeflate_free_decompressor(self.0.as_ptr()) }
    }
}

/// True for gzip magic bytes.
pub fn is_gzip(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0x1f && b[1] == 0x8b
}

impl Inflater {
    /// Inflates all gzip members of `raw` into `out` (grown as needed, never shrunk, so a
    /// reused buffer is not zeroed again); returns the decompressed length.
    pub fn inflate(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<usize, GzipError> {
        if raw.len() < 18 {
            return Err(GzipError::Truncated);
        }
        let trailer =
            u32::from_le_bytes(raw[raw.len() - 4..].try_into().expect("4 bytes")) as usize;
        let mut want = if trailer > 0 && trailer / 1100 <= raw.len() {
            trailer
        } else {
            raw.len() * 8
        };
        let (mut in_pos, mut out_len) = (0usize, 0usize);
        while in_pos < raw.len() {
            if raw[in_pos..].iter().all(|&b| b == 0) {
                break; // zero padding after the last member
            }
            if out.len() < out_len + want {
                if out_len + want > MAX_OUTPUT {
                    return Err(GzipError::TooLarge);
                }
                out.resize(out_len + want, 0);
            }
            let (mut used_in, mut used_out) = (0usize, 0usize);
            let input = &raw[in_pos..];
            let output = &mut out[out_len..];
            // SAFETY: pointers and lengths come from live slices; libdeflate writes at most
            // `output.len()` bytes and reports what it used.
            let result = unsafe {
                sys::libdeflate_gzip_decompress_ex(
                    self.0.as_ptr(),
                    input.as_ptr().cast::<c_void>(),
                    input.len(),
                    output.as_mut_ptr().cast::<c_void>(),
                    output.len(),
                    &mut used_in,
                    &mut used_out,
                )
            };
            match result {
                sys::libdeflate_result_LIBDEFLATE_SUCCESS => {
                    in_pos += used_in;
                    out_len += used_out;
                    want = (raw.len() - in_pos) * 8; // the next member's size is unknown
                }
                sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => {
                    want = (want * 2).max(1 << 16)
                }
                _ if in_pos > 0 && !is_gzip(input) => return Err(GzipError::BadData(in_pos)),
                _ if truncated_member(input) => return Err(GzipError::Truncated),
                _ => return Err(GzipError::BadData(in_pos)),
            }
        }
        Ok(out_len)
    }
}

/// Whether a member that failed to inflate looks cut off (a streaming decoder runs out of input)
/// rather than corrupt.
fn truncated_member(member: &[u8]) -> bool {
    use std::io::Read;
    let mut sink = [0u8; 1 << 16];
    let mut dec = flate2::read::GzDecoder::new(member);
    loop {
        match dec.read(&mut sink) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) => return e.kind() == std::io::ErrorKind::UnexpectedEof,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn inflate(raw: &[u8]) -> Result<Vec<u8>, GzipError> {
        let mut out = Vec::new();
        let n = Inflater::default().inflate(raw, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    #[test]
    fn single_and_multi_member_even_when_trailer_sizes_coincide() {
        assert_eq!(inflate(&gz(b"hello world")).unwrap(), b"hello world");
        let mut two = gz(b"first ");
        two.extend(gz(b"second"));
        assert_eq!(inflate(&two).unwrap(), b"first second");
        let mut padded = gz(b"x");
        padded.extend([0u8; 64]);
        assert_eq!(inflate(&padded).unwrap(), b"x");
    }

    #[test]
    fn a_wrong_trailer_hint_only_costs_a_retry() {
        let data: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut z = gz(&data);
        let n = z.len();
        z[n - 4..].copy_from_slice(&7u32.to_le_bytes()); // lie about the size
        assert!(inflate(&z).is_err(), "libdeflate checks ISIZE");
        let mut ok = gz(&data);
        ok.extend(gz(&data)); // second member: no hint at all
        assert_eq!(inflate(&ok).unwrap().len(), data.len() * 2);
    }

    #[test]
    fn corrupt_and_truncated_are_told_apart() {
        let good = gz(&b"{\"Records\":[]}".repeat(1000));
        assert_eq!(inflate(&good[..good.len() / 2]), Err(GzipError::Truncated));
        let mut flipped = good.clone();
        flipped[30] ^= 0xff;
        assert!(matches!(inflate(&flipped), Err(GzipError::BadData(_))));
        let mut trailing = good.clone();
        trailing.extend(b"garbage!");
        assert!(matches!(inflate(&trailing), Err(GzipError::BadData(_))));
    }
}

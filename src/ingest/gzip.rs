//! Gzip through libdeflate, the fastest inflate on this class of machine, bounded by a cap.
//!
//! libdeflate works on whole buffers: each member is inflated in one call into a buffer sized
//! from the gzip trailer (exact for the usual single-member file) or a guess, grown and retried
//! when too small, but never past the caller's cap, so a decompression bomb costs at most the
//! cap (it is refused as [`GzipError::TooLarge`] once its output reaches it).
//! `libdeflate_gzip_decompress_ex` reports the input each member used, so concatenated members
//! are all read (the safe `libdeflater` wrapper does not expose that count, hence the direct
//! binding). The CRC and size of every member are checked by libdeflate.
//!
//! A file cut off mid-member is read as far as it goes with a streaming decoder (what `zcat`
//! prints before its error) and reported as truncated, so the complete records before the cut
//! are kept. [`head`] inflates only the first bytes of a file, to recognise it before paying
//! for the rest.

use std::ffi::c_void;
use std::io::Read;
use std::ptr::NonNull;

use libdeflate_sys as sys;

/// Why gzip data could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GzipError {
    #[error("corrupt gzip data at byte {0}")]
    BadData(usize),
    #[error("gzip data ends early (truncated file?)")]
    Truncated,
    #[error("decompresses to more than {} (--max-file-bytes)", human(*.0))]
    TooLarge(u64),
}

/// A byte count for messages: `256 MiB`, `1.5 GiB`, `900 KiB`, `12 B`.
pub fn human(n: u64) -> String {
    let (unit, div) = match n {
        n if n >= 1 << 30 => ("GiB", 1u64 << 30),
        n if n >= 1 << 20 => ("MiB", 1 << 20),
        n if n >= 1 << 10 => ("KiB", 1 << 10),
        _ => return format!("{n} B"),
    };
    if n.is_multiple_of(div) {
        format!("{} {unit}", n / div)
    } else {
        format!("{:.1} {unit}", n as f64 / div as f64)
    }
}

/// What [`Inflater::inflate`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inflated {
    /// Decompressed bytes written at the start of the output buffer.
    pub len: usize,
    /// The data ended mid-member: `len` bytes are what came before the cut.
    pub truncated: bool,
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

/// Deflate cannot expand data more than about 1032:1; a trailer claiming more is not a size.
const MAX_RATIO: usize = 1032;

/// The size the gzip trailer announces for a single-member file, when it is believable and
/// within `cap`: then inflating into a buffer of exactly that size cannot cost more.
pub fn announced_size(raw: &[u8], cap: usize) -> Option<usize> {
    let n = raw.len();
    if n < 18 {
        return None;
    }
    let isize = u32::from_le_bytes([raw[n - 4], raw[n - 3], raw[n - 2], raw[n - 1]]) as usize;
    (isize > 0 && isize <= cap && isize <= n.saturating_mul(MAX_RATIO)).then_some(isize)
}

/// Inflates at most `limit` bytes from the start of gzip data (all members), for recognising
/// a file from its first bytes. Errors (a cut, corruption) end the head early.
pub fn head(raw: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(limit);
    let _ = flate2::read::MultiGzDecoder::new(raw)
        .take(limit as u64)
        .read_to_end(&mut out);
    out
}

impl Inflater {
    /// Inflates all gzip members of `raw` into `out` (grown as needed, never shrunk, so a
    /// reused buffer is not zeroed again), writing at most `cap` bytes.
    pub fn inflate(
        &mut self,
        raw: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<Inflated, GzipError> {
        if raw.len() < 18 {
            return Err(GzipError::Truncated);
        }
        let mut want = announced_size(raw, cap).unwrap_or_else(|| raw.len().saturating_mul(8));
        let (mut in_pos, mut out_len) = (0usize, 0usize);
        while in_pos < raw.len() {
            if raw[in_pos..].iter().all(|&b| b == 0) {
                break; // zero padding after the last member
            }
            // One byte past the cap tells "exactly the cap" from "more than the cap".
            let room = cap.saturating_add(1).saturating_sub(out_len).max(1);
            want = want.clamp(1, room);
            grow(out, out_len + want, cap);
            let (mut used_in, mut used_out) = (0usize, 0usize);
            let input = &raw[in_pos..];
            let output = &mut out[out_len..out_len + want];
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
                    if out_len > cap {
                        return Err(GzipError::TooLarge(cap as u64));
                    }
                    want = (raw.len() - in_pos).saturating_mul(8); // the next member's size is unknown
                }
                sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE if want >= room => {
                    return Err(GzipError::TooLarge(cap as u64));
                }
                sys::libdeflate_result_LIBDEFLATE_INSUFFICIENT_SPACE => {
                    want = want.saturating_mul(2).max(1 << 16)
                }
                _ if in_pos > 0 && !is_gzip(input) => return Err(GzipError::BadData(in_pos)),
                _ => return salvage(input, in_pos, out, out_len, cap),
            }
        }
        Ok(Inflated {
            len: out_len,
            truncated: false,
        })
    }
}

/// Makes `out` at least `len` long, growing its allocation by doubling but never past what the
/// cap can use (a plain `resize` may double past it: a 256 MiB cap would cost 512 MiB).
fn grow(out: &mut Vec<u8>, len: usize, cap: usize) {
    if out.len() >= len {
        return;
    }
    if out.capacity() < len {
        let limit = cap.saturating_add(1 << 17);
        let target = len.max(out.capacity().saturating_mul(2).min(limit));
        out.reserve_exact(target - out.len());
    }
    out.resize(len, 0);
}

/// A member libdeflate refused: read it with a streaming decoder to tell a cut (keep what came
/// before it) from corruption.
fn salvage(
    member: &[u8],
    at: usize,
    out: &mut Vec<u8>,
    mut out_len: usize,
    cap: usize,
) -> Result<Inflated, GzipError> {
    let start = out_len;
    let mut dec = flate2::read::GzDecoder::new(member);
    loop {
        grow(out, out_len + (1 << 16), cap);
        match dec.read(&mut out[out_len..out_len + (1 << 16)]) {
            Ok(0) => return Err(GzipError::BadData(at)), // ends cleanly: libdeflate saw corruption
            Ok(n) => {
                out_len += n;
                if out_len > cap {
                    return Err(GzipError::TooLarge(cap as u64));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return if out_len > start || start > 0 {
                    Ok(Inflated {
                        len: out_len,
                        truncated: true,
                    })
                } else {
                    Err(GzipError::Truncated)
                };
            }
            Err(_) => return Err(GzipError::BadData(at)),
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

    fn inflate_capped(raw: &[u8], cap: usize) -> Result<(Vec<u8>, bool), GzipError> {
        let mut out = Vec::new();
        let r = Inflater::default().inflate(raw, &mut out, cap)?;
        out.truncate(r.len);
        Ok((out, r.truncated))
    }

    fn inflate(raw: &[u8]) -> Result<Vec<u8>, GzipError> {
        match inflate_capped(raw, 1 << 30)? {
            (out, false) => Ok(out),
            (_, true) => Err(GzipError::Truncated),
        }
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
        assert_eq!(inflate(&good[..12]), Err(GzipError::Truncated));
        let mut flipped = good.clone();
        flipped[30] ^= 0xff;
        assert!(matches!(inflate(&flipped), Err(GzipError::BadData(_))));
        let mut trailing = good.clone();
        trailing.extend(b"garbage!");
        assert!(matches!(inflate(&trailing), Err(GzipError::BadData(_))));
    }

    #[test]
    fn a_cut_file_yields_what_came_before_the_cut() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("line {i} of the file\n").into_bytes())
            .collect();
        let z = gz(&text);
        let (got, truncated) = inflate_capped(&z[..z.len() / 2], 1 << 30).unwrap();
        assert!(truncated);
        assert!(got.len() > text.len() / 4, "{}", got.len());
        assert_eq!(got[..], text[..got.len()]);
        // A second member cut off keeps the whole first one.
        let mut two = gz(b"first member\n");
        let second = gz(&text);
        two.extend_from_slice(&second[..second.len() / 3]);
        let (got, truncated) = inflate_capped(&two, 1 << 30).unwrap();
        assert!(truncated && got.starts_with(b"first member\nline 0 of the file"));
    }

    #[test]
    fn a_bomb_stops_at_the_cap_whatever_its_trailer_says() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = gz(&zeros);
        assert!(bomb.len() < 64 << 10);
        assert_eq!(
            inflate_capped(&bomb, 1 << 20),
            Err(GzipError::TooLarge(1 << 20))
        );
        // Exactly the cap is allowed.
        assert_eq!(inflate_capped(&bomb, 8 << 20).unwrap().0.len(), 8 << 20);
        // A trailer claiming a small size does not lift the cap.
        let mut lying = bomb.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&100u32.to_le_bytes());
        assert!(inflate_capped(&lying, 1 << 20).is_err());
        let mut out = Vec::new();
        let _ = Inflater::default().inflate(&bomb, &mut out, 1 << 20);
        assert!(out.len() <= (1 << 20) + 1, "buffer grew to {}", out.len());
        // Many members, each believable: the allocation stays near the cap.
        let members = gz(&vec![b' '; 3 << 20]).repeat(8);
        let mut out = Vec::new();
        let r = Inflater::default().inflate(&members, &mut out, 10 << 20);
        assert_eq!(r, Err(GzipError::TooLarge(10 << 20)));
        assert!(
            out.capacity() <= (10 << 20) + (1 << 17),
            "{}",
            out.capacity()
        );
        assert_eq!(head(&bomb, 4096).len(), 4096);
        assert_eq!(announced_size(&bomb, 1 << 20), None);
        assert_eq!(announced_size(&bomb, 16 << 20), Some(8 << 20));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(256 << 20), "256 MiB");
        assert_eq!(human(1536 << 20), "1.5 GiB");
        assert_eq!(human(12), "12 B");
    }
}

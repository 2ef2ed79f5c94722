//! Content codings (RFC 9110 section 8.4): decoding gzip, deflate and br
//! bodies as they stream in. Push-style: encoded chunks go in with
//! [`Decoder::feed`], decoded bytes come out into any `impl Write`, and
//! [`Decoder::finish`] says whether the compressed stream was complete.
//!
//! Guards against hostile bodies: at most [`MAX_CODINGS`] stacked codings,
//! unknown codings refused, and the decoded size capped relative to the
//! encoded size (a decompression bomb is an error, not an out-of-memory).
//! Pure: no I/O of its own and nothing from the rest of the crate but the
//! header type. One file per coding (`flate`, `br`); `coding` holds
//! the names and errors they share; `decoder` stacks them.

mod br;
mod coding;
mod decoder;
mod flate;

pub use coding::{codings, Coding, CodingError, DecodeError, MAX_CODINGS};
pub use decoder::{Decoder, BOMB_FLOOR, BOMB_RATIO};

/// What `--compressed` asks for.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br";

#[cfg(test)]
mod tests {
    use super::flate::{gzip_header_len, is_zlib_header, GZIP_HEADER_MAX};
    use super::*;
    use crate::http::Header;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::{self, Write};

    #[derive(Debug, Clone, Copy)]
    enum Enc {
        Gzip,
        Zlib,
        RawDeflate,
        Brotli,
    }

    const ALL: [Enc; 4] = [Enc::Gzip, Enc::Zlib, Enc::RawDeflate, Enc::Brotli];

    fn encode(enc: Enc, data: &[u8]) -> Vec<u8> {
        match enc {
            Enc::Gzip => {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::Zlib => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::RawDeflate => {
                let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Enc::Brotli => {
                let mut out = Vec::new();
                {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    e.write_all(data).unwrap();
                }
                out
            }
        }
    }

    fn coding(enc: Enc) -> Coding {
        match enc {
            Enc::Gzip => Coding::Gzip,
            Enc::Zlib | Enc::RawDeflate => Coding::Deflate,
            Enc::Brotli => Coding::Brotli,
        }
    }

    /// Decodes `pieces` in order with a fresh decoder.
    fn decode(codings: &[Coding], pieces: &[&[u8]]) -> Result<Vec<u8>, DecodeError> {
        let mut d = Decoder::new(codings).unwrap();
        let mut out = Vec::new();
        for p in pieces {
            d.feed(p, &mut out)?;
        }
        d.finish(&mut out)?;
        assert_eq!(d.decoded_bytes(), out.len() as u64);
        Ok(out)
    }

    fn text(n: usize) -> Vec<u8> {
        // Compressible but not trivially: words with a varying counter.
        let mut v = Vec::with_capacity(n + 32);
        let mut i = 0u64;
        while v.len() < n {
            v.extend_from_slice(
                format!("line {i} of {} ", i.wrapping_mul(2654435761) % 977).as_bytes(),
            );
            i += 1;
        }
        v.truncate(n);
        v
    }

    fn payloads() -> Vec<Vec<u8>> {
        vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"hello, world\n".to_vec(),
            text(3000),
        ]
    }

    #[test]
    fn every_coding_round_trips_whatever_the_split() {
        for enc in ALL {
            for data in payloads() {
                let wire = encode(enc, &data);
                let c = [coding(enc)];
                assert_eq!(decode(&c, &[&wire]).unwrap(), data, "{enc:?} whole");
                for at in 0..=wire.len() {
                    let (a, b) = wire.split_at(at);
                    assert_eq!(decode(&c, &[a, b]).unwrap(), data, "{enc:?} split at {at}");
                }
                let bytes: Vec<&[u8]> = wire.chunks(1).collect();
                assert_eq!(decode(&c, &bytes).unwrap(), data, "{enc:?} byte at a time");
            }
        }
    }

    #[test]
    fn large_bodies_stream_through() {
        let data = text(300_000);
        for enc in ALL {
            let wire = encode(enc, &data);
            let pieces: Vec<&[u8]> = wire.chunks(7919).collect();
            let got = decode(&[coding(enc)], &pieces).unwrap();
            assert!(got == data, "{enc:?}");
        }
    }

    #[test]
    fn stacked_codings_are_undone_last_first() {
        let data = text(5000);
        // "Content-Encoding: gzip, br": gzip was applied first, then br.
        let wire = encode(Enc::Brotli, &encode(Enc::Gzip, &data));
        let headers = [
            Header::new("Content-Encoding", "gzip"),
            Header::new("content-encoding", "br"),
        ];
        let mut d = Decoder::from_headers(&headers).unwrap();
        assert!(!d.is_identity());
        let mut out = Vec::new();
        for piece in wire.chunks(3) {
            d.feed(piece, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        assert!(out == data);
        // The other order does not decode.
        assert!(decode(&[Coding::Brotli, Coding::Gzip], &[&wire]).is_err());
    }

    #[test]
    fn content_encoding_lists() {
        use Coding::*;
        let ok: &[(&str, &[Coding])] = &[
            ("", &[]),
            ("identity", &[]),
            ("GZIP", &[Gzip]),
            ("x-gzip", &[Gzip]),
            ("deflate", &[Deflate]),
            ("br", &[Brotli]),
            ("gzip, br", &[Gzip, Brotli]),
            (" gzip ,identity,  deflate ", &[Gzip, Deflate]),
        ];
        for &(value, want) in ok {
            let hs = [Header::new("Content-Encoding", value)];
            assert_eq!(codings(&hs).unwrap(), want, "{value:?}");
        }
        let bad: &[(&str, CodingError)] = &[
            ("zstd", CodingError::Unsupported("zstd".into())),
            (
                "gzip, compress",
                CodingError::Unsupported("compress".into()),
            ),
            ("gzip, gzip, gzip", CodingError::TooManyCodings(3)),
            ("br,br,br,br", CodingError::TooManyCodings(4)),
        ];
        for (value, want) in bad {
            let hs = [Header::new("Content-Encoding", *value)];
            assert_eq!(&codings(&hs).unwrap_err(), want, "{value:?}");
        }
        assert_eq!(
            Decoder::new(&[Gzip, Gzip, Gzip]).err(),
            Some(CodingError::TooManyCodings(3))
        );
        assert!(Decoder::from_headers(&[]).unwrap().is_identity());
    }

    #[test]
    fn identity_passes_bytes_through() {
        let mut d = Decoder::new(&[]).unwrap();
        let mut out = Vec::new();
        d.feed(b"abc", &mut out).unwrap();
        d.feed(b"def", &mut out).unwrap();
        d.finish(&mut out).unwrap();
        assert_eq!(out, b"abcdef");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let data = text(2000);
        for enc in ALL {
            let wire = encode(enc, &data);
            for cut in 1..wire.len() {
                match decode(&[coding(enc)], &[&wire[..cut]]) {
                    Err(DecodeError::Coding(CodingError::Truncated(c))) => {
                        assert_eq!(c, coding(enc))
                    }
                    other => panic!("{enc:?} cut at {cut}/{}: {other:?}", wire.len()),
                }
            }
        }
    }

    #[test]
    fn an_empty_body_is_empty_whatever_the_coding() {
        for c in [Coding::Gzip, Coding::Deflate, Coding::Brotli] {
            assert_eq!(decode(&[c], &[]).unwrap(), b"");
        }
    }

    fn corrupt_error(r: Result<Vec<u8>, DecodeError>) -> String {
        match r {
            Err(DecodeError::Coding(CodingError::Corrupt { detail, .. })) => detail,
            other => panic!("not a corrupt error: {other:?}"),
        }
    }

    #[test]
    fn corrupt_streams_are_errors() {
        let data = text(2000);
        let gz = encode(Enc::Gzip, &data);
        let n = gz.len();
        let mut bad_crc = gz.clone();
        bad_crc[n - 8] ^= 1;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_crc])),
            "CRC-32 mismatch"
        );
        let mut bad_len = gz.clone();
        bad_len[n - 1] ^= 1;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_len])),
            "length mismatch"
        );
        let mut bad_magic = gz.clone();
        bad_magic[1] = 0x8c;
        assert_eq!(
            corrupt_error(decode(&[Coding::Gzip], &[&bad_magic])),
            "not gzip data"
        );
        let mut reserved = gz.clone();
        reserved[3] = 0x80;
        corrupt_error(decode(&[Coding::Gzip], &[&reserved]));

        let mut zlib = encode(Enc::Zlib, &data);
        let last = zlib.len() - 1;
        zlib[last] ^= 1; // the Adler-32
        corrupt_error(decode(&[Coding::Deflate], &[&zlib]));

        corrupt_error(decode(&[Coding::Brotli], &[b"\xff\xff\xff\xff garbage"]));
        corrupt_error(decode(&[Coding::Deflate], &[b"\xff\xff\xff\xff garbage"]));
    }

    #[test]
    fn gzip_header_fields_are_skipped_whatever_the_split() {
        let data = text(500);
        let mut e = flate2::GzBuilder::new()
            .filename("index.html")
            .comment("a comment")
            .extra(vec![7u8; 300])
            .write(Vec::new(), Compression::best());
        e.write_all(&data).unwrap();
        let wire = e.finish().unwrap();
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(
                decode(&[Coding::Gzip], &[a, b]).unwrap(),
                data,
                "split {at}"
            );
        }
        // A header with an FHCRC field too.
        let mut with_hcrc = wire.clone();
        with_hcrc[3] |= 0x02;
        let header_end = gzip_header_len(&wire).unwrap().unwrap();
        with_hcrc.splice(header_end..header_end, [0u8, 0u8]);
        assert_eq!(decode(&[Coding::Gzip], &[&with_hcrc]).unwrap(), data);
    }

    #[test]
    fn gzip_header_that_never_ends_is_refused() {
        let mut wire = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 0xff];
        wire.extend(std::iter::repeat_n(b'a', GZIP_HEADER_MAX + 10));
        corrupt_error(decode(&[Coding::Gzip], &[&wire]));
    }

    #[test]
    fn concatenated_gzip_members_and_padding() {
        let mut wire = encode(Enc::Gzip, b"first ");
        wire.extend(encode(Enc::Gzip, b"second"));
        wire.extend([0u8; 16]);
        for at in 0..=wire.len() {
            let (a, b) = wire.split_at(at);
            assert_eq!(decode(&[Coding::Gzip], &[a, b]).unwrap(), b"first second");
        }
    }

    #[test]
    fn zlib_or_raw_is_told_by_the_first_two_bytes() {
        let cases: &[(u8, u8, bool)] = &[
            (0x78, 0x9c, true),
            (0x78, 0x01, true),
            (0x78, 0xda, true),
            (0x58, 0x85, true),
            (0x78, 0x9d, false), // FCHECK wrong
            (0x78, 0xbb, false), // asks for a preset dictionary
            (0x88, 0x1b, false), // window too large
            (0xed, 0xbd, false), // a typical raw deflate start
            (0x03, 0x00, false), // the empty raw stream
        ];
        for &(a, b, want) in cases {
            assert_eq!(is_zlib_header(a, b), want, "{a:#x} {b:#x}");
        }
        assert_eq!(decode(&[Coding::Deflate], &[&[0x03, 0x00]]).unwrap(), b"");
    }

    fn zeros_gzip(n: usize, layers: usize) -> Vec<u8> {
        let mut data = vec![0u8; n];
        for _ in 0..layers {
            let mut e = GzEncoder::new(Vec::new(), Compression::best());
            e.write_all(&data).unwrap();
            data = e.finish().unwrap();
        }
        data
    }

    #[test]
    fn decompression_bombs_are_refused_early() {
        // Custom cap: 4 KiB, or 10 decoded bytes per encoded byte.
        let wire = zeros_gzip(400_000, 1);
        let mut d = Decoder::new(&[Coding::Gzip]).unwrap().with_limit(4096, 10);
        let mut out = Vec::new();
        let mut err = None;
        for piece in wire.chunks(100) {
            if let Err(e) = d.feed(piece, &mut out) {
                err = Some(e);
                break;
            }
        }
        assert!(
            matches!(err, Some(DecodeError::Coding(CodingError::Bomb { .. }))),
            "{err:?}"
        );
        assert!(out.len() as u64 <= 4096.max(10 * d.encoded_bytes()));

        // Default cap against a two-layer bomb: a few hundred bytes that
        // would become 8 MiB.
        let wire = zeros_gzip(8 << 20, 2);
        assert!(wire.len() < 1024, "{}", wire.len());
        let mut d = Decoder::new(&[Coding::Gzip, Coding::Gzip]).unwrap();
        let mut out = Vec::new();
        let r = d.feed(&wire, &mut out);
        assert!(matches!(
            r,
            Err(DecodeError::Coding(CodingError::Bomb { .. }))
        ));
        assert!(out.len() as u64 <= BOMB_FLOOR);
        assert!(r.unwrap_err().to_string().contains("decompression bomb"));
    }

    #[test]
    fn ordinary_compression_ratios_pass_the_default_cap() {
        // Past the 1 MiB floor, so the ratio is what is checked.
        let data = text(1_500_000);
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&data).unwrap();
        let wire = e.finish().unwrap();
        assert!(data.len() > 2 * wire.len());
        let pieces: Vec<&[u8]> = wire.chunks(16_384).collect();
        assert_eq!(decode(&[Coding::Gzip], &pieces).unwrap().len(), data.len());
    }

    #[test]
    fn output_errors_are_reported_as_such() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for enc in ALL {
            let wire = encode(enc, b"some data");
            let mut d = Decoder::new(&[coding(enc)]).unwrap();
            let r = d.feed(&wire, &mut Full).and_then(|()| d.finish(&mut Full));
            assert!(matches!(r, Err(DecodeError::Write(_))), "{enc:?}: {r:?}");
        }
    }
}

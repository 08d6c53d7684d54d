use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{
    write::{PcapNgWriter, PcapWriter},
    CaptureError, CaptureReader, Direction, Format,
};

fn t(s: u64, ns: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(s, ns)
}

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..60 + 7 * i).map(|b| (b * 31 + i) as u8).collect())
        .collect()
}

fn pcap_of(fs: &[Vec<u8>]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for (i, f) in fs.iter().enumerate() {
        w.write(t(1_790_000_000 + i as u64, 123_456_789), f)
            .unwrap();
    }
    w.into_inner()
}

fn read_all(bytes: &[u8]) -> (Vec<super::CaptureFrame>, Option<CaptureError>) {
    let mut ok = Vec::new();
    let r = match CaptureReader::new(bytes) {
        Ok(r) => r,
        Err(e) => return (ok, Some(e)),
    };
    for item in r {
        match item {
            Ok(f) => ok.push(f),
            Err(e) => return (ok, Some(e)),
        }
    }
    (ok, None)
}

#[test]
fn pcap_frames_numbers_offsets_and_nanosecond_times() {
    let fs = frames(3);
    let file = pcap_of(&fs);
    let mut r = CaptureReader::new(&file[..]).unwrap();
    let got: Vec<_> = r.by_ref().map(Result::unwrap).collect();
    assert_eq!(r.format(), Some(Format::Pcap));
    assert_eq!(got.len(), 3);
    let mut off = 24u64;
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.number, i as u64 + 1);
        assert_eq!(f.offset, off);
        assert_eq!(f.data, fs[i]);
        assert_eq!(f.orig_len as usize, fs[i].len());
        assert_eq!(f.ts, t(1_790_000_000 + i as u64, 123_456_789));
        assert!(f.is_ethernet());
        assert_eq!((f.iface.as_deref(), f.direction), (None, None));
        off += 16 + fs[i].len() as u64;
    }
    assert_eq!(r.offset(), file.len() as u64);
}

#[test]
fn pcap_microseconds_big_endian_and_other_link_type() {
    // A big-endian, microsecond pcap of LINKTYPE_LINUX_SLL (113), built by hand.
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
    file.extend_from_slice(&2u16.to_be_bytes());
    file.extend_from_slice(&4u16.to_be_bytes());
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_be_bytes());
    file.extend_from_slice(&113u32.to_be_bytes());
    let data = [0xabu8; 20];
    file.extend_from_slice(&7u32.to_be_bytes());
    file.extend_from_slice(&250_000u32.to_be_bytes());
    file.extend_from_slice(&20u32.to_be_bytes());
    file.extend_from_slice(&64u32.to_be_bytes());
    file.extend_from_slice(&data);
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ts, t(7, 250_000_000));
    assert_eq!(got[0].link_type, super::link_type::LINUX_SLL);
    assert!(!got[0].is_ethernet());
    assert_eq!(got[0].orig_len, 64);
    assert_eq!(got[0].data, data);
}

#[test]
fn pcapng_interfaces_names_directions_and_times() {
    let fs = frames(3);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let a = w.add_interface(Some("v6p-a")).unwrap();
    let b = w.add_interface(None).unwrap();
    w.write(a, t(100, 1), Some(Direction::Inbound), &fs[0])
        .unwrap();
    w.write(b, t(101, 999_999_999), Some(Direction::Outbound), &fs[1])
        .unwrap();
    w.write(a, t(102, 5), None, &fs[2]).unwrap();
    let file = w.into_inner();
    let mut r = CaptureReader::new(&file[..]).unwrap();
    let got: Vec<_> = r.by_ref().map(Result::unwrap).collect();
    assert_eq!(r.format(), Some(Format::PcapNg));
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].iface.as_deref(), Some("v6p-a"));
    assert_eq!(got[0].direction, Some(Direction::Inbound));
    assert_eq!(got[0].ts, t(100, 1));
    assert_eq!(got[1].iface, None);
    assert_eq!(got[1].direction, Some(Direction::Outbound));
    assert_eq!(got[1].ts, t(101, 999_999_999));
    assert_eq!(got[2].direction, None);
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f.number, i as u64 + 1);
        assert_eq!(f.data, fs[i]);
        // Each offset points at an Enhanced Packet Block (type 6).
        let o = f.offset as usize;
        assert_eq!(&file[o..o + 4], &6u32.to_le_bytes());
    }
}

#[test]
fn truncated_pcap_yields_frames_before_then_the_offset() {
    let fs = frames(3);
    let file = pcap_of(&fs);
    let third = 24 + 2 * 16 + fs[0].len() + fs[1].len();
    for cut in [third + 3, third + 16 + 10, file.len() - 1] {
        let (got, err) = read_all(&file[..cut]);
        assert_eq!(got.len(), 2, "cut at {cut}");
        match err {
            Some(CaptureError::Truncated { offset }) => assert_eq!(offset, third as u64),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn truncated_pcapng_yields_frames_before_then_the_offset() {
    let fs = frames(2);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let a = w.add_interface(Some("eth0")).unwrap();
    w.write(a, t(1, 0), None, &fs[0]).unwrap();
    let start = w.get_ref().len();
    w.write(a, t(2, 0), None, &fs[1]).unwrap();
    let file = w.into_inner();
    let (got, err) = read_all(&file[..file.len() - 5]);
    assert_eq!(got.len(), 1);
    assert!(
        matches!(err, Some(CaptureError::Truncated { offset }) if offset == start as u64),
        "{err:?}"
    );
    // The message names the offset.
    assert!(err.unwrap().to_string().contains(&start.to_string()));
}

#[test]
fn corrupt_pcapng_block_is_reported_at_its_offset() {
    let fs = frames(3);
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let a = w.add_interface(None).unwrap();
    let mut offsets = Vec::new();
    for f in &fs {
        offsets.push(w.get_ref().len());
        w.write(a, t(1, 0), None, f).unwrap();
    }
    let mut file = w.into_inner();
    // Break the trailing length of the second packet block.
    let end = offsets[2] - 4;
    file[end] ^= 0x40;
    let (got, err) = read_all(&file);
    assert_eq!(got.len(), 1);
    match err {
        Some(CaptureError::Corrupt { offset, .. }) => assert_eq!(offset, offsets[1] as u64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn packet_on_undefined_interface_is_corrupt() {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let _ = w.add_interface(None).unwrap();
    let at = w.get_ref().len();
    // The writer refuses a packet on an interface it has not described: take the packet block
    // from a file with four interfaces.
    let mut four = PcapNgWriter::new(Vec::new()).unwrap();
    for _ in 0..4 {
        four.add_interface(None).unwrap();
    }
    let from = four.get_ref().len();
    four.write(3, t(1, 0), None, &[0; 60]).unwrap();
    let mut file = w.into_inner();
    file.extend_from_slice(&four.into_inner()[from..]);
    let (got, err) = read_all(&file);
    assert!(got.is_empty());
    match err {
        Some(CaptureError::Corrupt { offset, what }) => {
            assert_eq!(offset, at as u64);
            assert!(what.contains("interface 3"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_larger_than_the_initial_buffer() {
    let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let file = pcap_of(&[vec![1; 60], big.clone(), vec![2; 60]]);
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 3);
    assert_eq!(got[1].data, big);
    assert_eq!(got[2].data, vec![2; 60]);
}

#[test]
fn absurd_record_length_is_an_error_not_an_allocation() {
    let mut file = pcap_of(&frames(1));
    let at = file.len();
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&u32::MAX.to_le_bytes());
    file.extend_from_slice(&[0; 64]);
    let (got, err) = read_all(&file);
    assert_eq!(got.len(), 1);
    let e = err.expect("an error");
    assert_eq!(e.offset(), Some(at as u64), "{e}");
}

#[test]
fn not_a_capture_and_empty() {
    let (_, err) = read_all(b"this is a text file, not a capture at all");
    assert!(matches!(err, Some(CaptureError::NotCapture)), "{err:?}");
    let (_, err) = read_all(b"abc");
    assert!(matches!(err, Some(CaptureError::NotCapture)), "{err:?}");
    // A pcap magic and then nothing: a truncated capture.
    let (_, err) = read_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]);
    assert!(
        matches!(err, Some(CaptureError::Truncated { offset: 0 })),
        "{err:?}"
    );
    let (_, err) = read_all(b"");
    assert!(matches!(err, Some(CaptureError::Empty)), "{err:?}");
    let e = CaptureReader::open("/nonexistent/v6p.pcap").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/v6p.pcap"), "{e}");
}

#[test]
fn a_reader_error_names_its_offset_and_cause() {
    // Serves the file in 64-byte reads, then fails after 78 reads (4992 bytes): the frames
    // wholly inside those bytes are read, the one across the failure is not.
    const LIMIT: usize = 78 * 64;
    struct Failing(Vec<u8>, usize);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.1 >= LIMIT {
                return Err(std::io::Error::other("disk on fire"));
            }
            let n = 64.min(buf.len());
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let fs = frames(100);
    let file = pcap_of(&fs);
    assert!(file.len() > LIMIT + 1000);
    let (mut off, mut whole) = (24usize, 0usize);
    for f in &fs {
        if off + 16 + f.len() > LIMIT {
            break;
        }
        off += 16 + f.len();
        whole += 1;
    }
    let mut r = CaptureReader::new(Failing(file, 0)).unwrap();
    for _ in 0..whole {
        assert!(r.next().unwrap().is_ok());
    }
    let e = r.next().unwrap().unwrap_err();
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert_eq!(e.offset(), Some(off as u64));
    assert!(r.next().is_none());
}

// Hostile files: every one ends in an error at the damaged block's offset, after the frames
// before it, never in a panic, a hang or a made-up timestamp.

use super::{
    craft::{opt, Ng},
    MAX_IF_NAME, MAX_INTERFACES, MAX_RECORD,
};

const NS_1700: u64 = 1_700_000_000_000_000; // 2023-11-14 in microseconds

/// A well-formed capture start: one Ethernet interface (microseconds) and one good frame.
fn good_start() -> Ng {
    Ng::le().shb().idb(1, &[]).epb(0, NS_1700, &[0xab; 60], &[])
}

/// Reads `file`; asserts `frames` frames came first, then a corrupt-block error at `offset`
/// whose text contains `what`.
fn expect_damage(file: &[u8], frames: usize, offset: usize, what: &str) -> CaptureError {
    let (got, err) = read_all(file);
    let e = err.unwrap_or_else(|| panic!("no error; {} frames", got.len()));
    assert_eq!(got.len(), frames, "{e}");
    assert_eq!(e.offset(), Some(offset as u64), "{e}");
    assert!(e.to_string().contains(what), "{e}");
    e
}

#[test]
fn timestamp_of_2_pow_64_seconds_is_damage_not_a_panic() {
    // if_tsresol 0: one unit per second, and a timestamp near 2^64 of them.
    let ng = Ng::le().shb().idb(1, &[opt::if_tsresol(0)]);
    let at = ng.len();
    let file = ng.epb(0, u64::MAX - 255, &[0; 60], &[]).into_bytes();
    expect_damage(&file, 0, at, "outside 1970-01-01 .. 2554-07-21");
}

#[test]
fn high_word_all_ones_is_past_the_readable_range() {
    let ng = good_start();
    let at = ng.len();
    let file = ng.epb(0, 0xffff_ffff << 32, &[0; 60], &[]).into_bytes();
    expect_damage(&file, 1, at, "is outside");
}

#[test]
fn an_offset_before_1970_or_beyond_i64_is_damage() {
    for off in [-1_000_000_000_000i64, i64::MIN, i64::MAX, 18_446_744_074] {
        let ng = Ng::le().shb().idb(1, &[opt::if_tsoffset(off)]);
        let at = ng.len();
        let file = ng.epb(0, NS_1700, &[0; 60], &[]).into_bytes();
        expect_damage(&file, 0, at, &format!("if_tsoffset {off} s"));
    }
    // A negative offset that stays after 1970 is applied.
    let file = Ng::le()
        .shb()
        .idb(1, &[opt::if_tsoffset(-1_000_000_000)])
        .epb(0, NS_1700, &[0; 60], &[])
        .into_bytes();
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].ts, t(700_000_000, 0));
}

#[test]
fn the_last_readable_nanosecond_converts_and_the_next_does_not() {
    let max = Ng::le().shb().idb(1, &[opt::if_tsresol(9)]);
    let file = max.clone().epb(0, u64::MAX, &[0; 60], &[]).into_bytes();
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].ts, UNIX_EPOCH + Duration::from_nanos(u64::MAX));
    let ng = max.idb(1, &[opt::if_tsresol(9), opt::if_tsoffset(1)]);
    let at = ng.len();
    let file = ng.epb(1, u64::MAX, &[0; 60], &[]).into_bytes();
    expect_damage(&file, 0, at, "is outside");
}

#[test]
fn resolutions_beyond_64_bits_are_damage_at_the_interface_block() {
    // 10^-20 s and 2^-64 s: more units per second than 64 bits hold.
    for v in [20u8, 0xff, 0xc0] {
        let ng = good_start();
        let at = ng.len();
        let file = ng.idb(1, &[opt::if_tsresol(v)]).into_bytes();
        expect_damage(&file, 1, at, &format!("if_tsresol {v:#04x}"));
    }
    // A one-byte option of two bytes.
    let ng = Ng::le().shb();
    let at = ng.len();
    let file = ng.idb(1, &[opt::raw(9, &[6, 0])]).into_bytes();
    expect_damage(&file, 0, at, "if_tsresol option of 2 bytes");
    let ng = Ng::le().shb();
    let at = ng.len();
    let file = ng.idb(1, &[opt::raw(14, &[0; 4])]).into_bytes();
    expect_damage(&file, 0, at, "if_tsoffset option of 4 bytes");
}

#[test]
fn binary_resolutions_and_big_endian_offsets_are_read_as_written() {
    // 2^-20 s units (pcap-parser alone takes every binary resolution for invalid).
    let file = Ng::le()
        .shb()
        .idb(1, &[opt::if_tsresol(0x80 | 20)])
        .epb(0, (1_000_000 << 20) + (1 << 19), &[0; 60], &[])
        .into_bytes();
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].ts, t(1_000_000, 500_000_000));
    // A big-endian section's if_tsoffset is big-endian (pcap-parser alone reads it LE).
    let file = Ng::be()
        .shb()
        .idb(1, &[opt::if_tsoffset(1_000), opt::if_name(b"be0")])
        .epb(0, 5_000_000, &[0; 60], &[opt::epb_flags(2)])
        .into_bytes();
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got[0].ts, t(1_005, 0));
    assert_eq!(got[0].iface.as_deref(), Some("be0"));
    assert_eq!(got[0].direction, Some(Direction::Outbound));
}

#[test]
fn block_lengths_that_cannot_be_right_are_damage_at_once() {
    for (len, what) in [
        (8u32, "below its minimum of 32"),
        (30, "below its minimum of 32"),
        (66, "not a multiple of 4"),
        (0xffff_fff0, "a record longer than"),
        ((MAX_RECORD + 4) as u32, "a record longer than"),
    ] {
        let ng = good_start();
        let at = ng.len();
        let file = ng
            .block_with_len(6, &[0; 40], len, len)
            .raw(&[0; 64])
            .into_bytes();
        expect_damage(&file, 1, at, what);
    }
    // An unknown block type with a length below 12.
    let ng = good_start();
    let at = ng.len();
    let file = ng.block_with_len(0x99, &[], 4, 4).into_bytes();
    expect_damage(&file, 1, at, "below its minimum of 12");
    // Trailing length differs from the leading one.
    let ng = good_start();
    let at = ng.len();
    let file = ng.block_with_len(6, &[0; 40], 52, 56).into_bytes();
    expect_damage(&file, 1, at, "corrupt capture");
}

#[test]
fn captured_length_beyond_the_block_is_damage() {
    let ng = good_start();
    let at = ng.len();
    // caplen says 4000 bytes; the block holds 60.
    let file = ng
        .epb_lengths(0, NS_1700, 4000, 4000, &[0; 60], &[])
        .raw(&[0; 8192])
        .into_bytes();
    expect_damage(&file, 1, at, "4000 captured bytes in a block of 92 bytes");
    let ng = good_start();
    let at = ng.len();
    let file = ng
        .epb_lengths(0, NS_1700, u32::MAX, 60, &[0; 60], &[])
        .into_bytes();
    expect_damage(&file, 1, at, "captured bytes");
}

#[test]
fn an_option_running_past_its_block_is_damage() {
    let mut long = opt::if_name(b"eth0");
    long.len = Some(400);
    let ng = good_start();
    let at = ng.len();
    let file = ng.idb(1, &[opt::if_tsresol(9), long.clone()]).into_bytes();
    expect_damage(&file, 1, at, "the option 24 bytes into the block runs past");
    // Same in a packet block: its flags option claims 300 bytes.
    let mut flags = opt::epb_flags(1);
    flags.len = Some(300);
    let ng = good_start();
    let at = ng.len();
    let file = ng.epb(0, NS_1700, &[0; 60], &[flags]).into_bytes();
    expect_damage(&file, 1, at, "runs past the block's end");
    // epb_flags of the wrong size.
    let ng = good_start();
    let at = ng.len();
    let file = ng
        .epb(0, NS_1700, &[0; 60], &[opt::raw(2, &[1, 0])])
        .into_bytes();
    expect_damage(&file, 1, at, "epb_flags option of 2 bytes");
}

#[test]
fn interface_blocks_are_bounded_in_number_and_name_length() {
    let mut ng = Ng::le().shb();
    for _ in 0..MAX_INTERFACES {
        ng = ng.idb(1, &[opt::if_name(b"eth0")]);
    }
    let at = ng.len();
    let file = ng.idb(1, &[]).into_bytes();
    expect_damage(&file, 0, at, "more than 4096 interface blocks");
    // A new section starts a new count.
    let mut ng = Ng::le().shb();
    for _ in 0..MAX_INTERFACES {
        ng = ng.idb(1, &[]);
    }
    let file = ng.shb().idb(1, &[]).epb(0, NS_1700, &[1; 60], &[]);
    let (got, err) = read_all(&file.into_bytes());
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 1);

    let ng = Ng::le().shb().idb(1, &[opt::if_name(&[b'a'; MAX_IF_NAME])]);
    let at = ng.len();
    let file = ng
        .idb(1, &[opt::if_name(&[b'a'; MAX_IF_NAME + 1])])
        .into_bytes();
    expect_damage(&file, 0, at, "interface name of 257 bytes");
}

#[test]
fn absurd_snaplen_is_not_trusted_for_anything() {
    let file = Ng::le()
        .shb()
        .idb_snaplen(1, u32::MAX, &[])
        .idb_snaplen(1, 1, &[])
        .epb(0, NS_1700, &[7; 60], &[])
        .epb(1, NS_1700, &[8; 60], &[])
        .into_bytes();
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].data, vec![8; 60]);
    let file = super::craft::pcap(u32::MAX, 1, &[(1, 0, 60, u32::MAX, &[9; 60])]);
    let (got, err) = read_all(&file);
    assert!(err.is_none(), "{err:?}");
    assert_eq!((got[0].orig_len, got[0].data.len()), (u32::MAX, 60));
}

#[test]
fn a_section_with_an_unknown_byte_order_magic_is_damage() {
    let ng = good_start();
    let at = ng.len();
    let mut body = vec![0x11, 0x22, 0x33, 0x44, 1, 0, 0, 0];
    body.extend_from_slice(&[0xff; 8]);
    let file = ng.block(0x0A0D_0D0A, &body).into_bytes();
    expect_damage(&file, 1, at, "byte-order magic");
}

#[test]
fn truncated_interface_and_packet_blocks() {
    let full = good_start().idb(1, &[opt::if_name(b"x")]).into_bytes();
    let idb_at = good_start().len();
    for cut in [idb_at + 3, idb_at + 9, full.len() - 1] {
        expect_damage(&full[..cut], 1, idb_at, "truncated");
    }
}

#[test]
fn a_pcap_record_longer_than_the_limit_fails_before_reading_it() {
    let mut file = super::craft::pcap(65535, 1, &[(1, 0, 60, 60, &[0; 60])]);
    let at = file.len();
    file.extend_from_slice(&2u32.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    file.extend_from_slice(&((MAX_RECORD + 1) as u32).to_le_bytes());
    file.extend_from_slice(&60u32.to_le_bytes());
    // A reader that would fail if more than the header were asked for.
    struct Limited(Vec<u8>, usize);
    impl std::io::Read for Limited {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let mut r = CaptureReader::new(Limited(file, 0)).unwrap();
    assert!(r.next().unwrap().is_ok());
    let e = r.next().unwrap().unwrap_err();
    assert!(
        matches!(e, CaptureError::RecordTooLarge { offset, .. } if offset == at as u64),
        "{e}"
    );
}

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

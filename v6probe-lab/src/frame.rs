//! Hand-built frames for the kernel parser tests and the XDP benchmark: byte layouts written
//! out field by field, independent of the `wire` codec, so the kernel parser is checked against
//! something other than our own emitter. Synthetic addresses (fe80::/10, ff02::/16 only).

/// Source MAC of the crafted frames.
pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const DST_MAC: [u8; 6] = [0x33, 0x33, 0xff, 0, 0, 0x02];
pub const SRC_IP: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const DST_IP: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2];

/// A frame under construction: Ethernet (+ VLAN tags) + IPv6 + extension headers + payload.
/// A frame under construction.
pub struct FrameSpec {
    pub vlans: Vec<(u16, u16)>, // (TPID, TCI)
    pub ethertype: u16,
    pub hop_limit: u8,
    /// (next-header value of this header, its bytes without the next-header byte)
    pub ext: Vec<(u8, Vec<u8>)>,
    pub upper: u8,
    pub payload: Vec<u8>,
    /// Override of the IPv6 payload length field.
    pub payload_len: Option<u16>,
}

impl FrameSpec {
    pub fn icmp(ty: u8, code: u8, body: &[u8]) -> Self {
        let mut payload = vec![ty, code, 0, 0];
        payload.extend_from_slice(body);
        Self {
            vlans: vec![],
            ethertype: 0x86dd,
            hop_limit: 255,
            ext: vec![],
            upper: 58,
            payload,
            payload_len: None,
        }
    }

    pub fn build(&self) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DST_MAC);
        f.extend_from_slice(&SRC_MAC);
        for (tpid, tci) in &self.vlans {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&self.ethertype.to_be_bytes());
        let mut exts = Vec::new();
        let types: Vec<u8> = self.ext.iter().map(|(t, _)| *t).collect();
        for (i, (_, body)) in self.ext.iter().enumerate() {
            let next = types.get(i + 1).copied().unwrap_or(self.upper);
            exts.push(next);
            exts.extend_from_slice(body);
        }
        let plen = self
            .payload_len
            .unwrap_or((exts.len() + self.payload.len()) as u16);
        let first_nh = types.first().copied().unwrap_or(self.upper);
        f.extend_from_slice(&[0x60, 0, 0, 0]);
        f.extend_from_slice(&plen.to_be_bytes());
        f.push(first_nh);
        f.push(self.hop_limit);
        f.extend_from_slice(&SRC_IP);
        f.extend_from_slice(&DST_IP);
        f.extend_from_slice(&exts);
        f.extend_from_slice(&self.payload);
        f
    }
}

/// Hop-by-hop or destination options header body (after the next-header byte): 8 bytes with
/// a PadN option.
pub fn opts8() -> Vec<u8> {
    vec![0, 1, 4, 0, 0, 0, 0]
}

/// Fragment header body: reserved, offset(13 bits)|res|M, identification.
pub fn frag(offset_units: u16, more: bool, id: u32) -> Vec<u8> {
    let ofs = (offset_units << 3) | u16::from(more);
    let mut v = vec![0];
    v.extend_from_slice(&ofs.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v
}

pub fn ns_body() -> Vec<u8> {
    // reserved(4) + target fe80::2 + SLLA option
    let mut b = vec![0, 0, 0, 0];
    b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(&SRC_MAC);
    b
}

/// A Router Advertisement with SLLA, MTU, two prefix information and an RDNSS option.
pub fn ra_body() -> Vec<u8> {
    // cur hop limit, flags (M|O), router lifetime 1800, reachable 0, retrans 0
    let mut b = vec![64, 0xc0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(&SRC_MAC);
    b.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]);
    for second in [1u8, 2] {
        // PIO: type 3 len 4, prefix len 64, flags L|A, valid 86400, preferred 14400
        b.extend_from_slice(&[
            3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0,
        ]);
        b.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, second, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
    // RDNSS: type 25 len 3, lifetime 600, fd00::53
    b.extend_from_slice(&[25, 3, 0, 0, 0, 0, 0x02, 0x58]);
    b.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53]);
    b
}

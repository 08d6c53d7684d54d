//! The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 section 8.1).
use core::net::Ipv6Addr;

/// One's-complement sum of `data` as big-endian 16-bit words (odd length padded with zero),
/// not folded. Whole 32-byte blocks are summed by a fixed-length inner loop that the compiler
/// unrolls and vectorizes (RFC 1071 section 2 (B): the sum may be taken in any order and
/// width, and folded at the end).
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        let mut s: u32 = 0;
        for w in b.chunks_exact(2) {
            s += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        acc += u64::from(s);
    }
    let mut rest = blocks.remainder().chunks_exact(2);
    for c in &mut rest {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = rest.remainder() {
        acc += u64::from(*b) << 8;
    }
    fold64(acc)
}

#[inline]
fn fold64(mut acc: u64) -> u32 {
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Folds a 32-bit sum to 16 bits.
#[inline]
pub fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Sum of the IPv6 pseudo-header: source, destination, upper-layer length, next header.
#[inline]
pub fn pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let mut acc = sum(&src.octets()) + sum(&dst.octets());
    acc += (length >> 16) + (length & 0xffff) + u32::from(next_header);
    acc
}

/// The checksum field value for `data` (with its checksum field zeroed) under the pseudo-header.
pub fn compute(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, data: &[u8]) -> u16 {
    let acc = pseudo_header(src, dst, next_header, data.len() as u32) + sum(data);
    !fold(acc)
}

/// True when `data` (checksum field included) sums to all ones under the pseudo-header.
#[inline]
pub fn verify(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, data: &[u8]) -> bool {
    let acc = pseudo_header(src, dst, next_header, data.len() as u32) + sum(data);
    fold(acc) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example: 0001 f203 f4f5 f6f7 sums to 0xddf2 (folded).
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d)), 0xddf2);
        // Odd length pads with a zero byte.
        assert_eq!(fold(sum(&[0x01])), 0x0100);
        // The block sums agree with a plain 16-bit word sum at every length and offset.
        let data: [u8; 100] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        for start in 0..8 {
            for end in start..data.len() {
                let d = &data[start..end];
                let mut plain: u32 = d
                    .chunks(2)
                    .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
                    .sum();
                plain = u32::from(fold(plain));
                assert_eq!(u32::from(fold(sum(d))), plain, "{start}..{end}");
            }
        }
    }
}

//! The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 section 8.1).
use core::net::Ipv6Addr;

/// One's-complement sum of `data` as big-endian 16-bit words (odd length padded with zero),
/// folded to 16 bits or not (callers add sums and [`fold`] at the end).
///
/// RFC 1071 section 2 (A) and (B): the sum is the same in any byte order and any word width,
/// folded at the end. So the bulk is summed as native-order 32-bit words into a 64-bit
/// accumulator (a loop the compiler vectorizes without byte swaps), folded to 16 bits and
/// swapped to network order once; the last 0-3 bytes are added as big-endian words.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
    }
    // 64 -> 16 bits: a 64-bit sum of 32-bit words folds like a sum of 16-bit words, because
    // 2^16 = 1 modulo 2^16 - 1.
    let folded = fold(fold64(acc));
    let mut acc = u32::from(if cfg!(target_endian = "little") {
        folded.swap_bytes()
    } else {
        folded
    });
    let mut pairs = words.remainder().chunks_exact(2);
    for c in &mut pairs {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = pairs.remainder() {
        acc += u32::from(*b) << 8;
    }
    acc
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
        // All ones at every length (the folds' carries), and a sum that folds to 0xffff.
        let ones = [0xffu8; 1500];
        for n in 0..ones.len() {
            let plain = ones[..n]
                .chunks(2)
                .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
                .fold(0u32, |a, w| u32::from(fold(a + w)));
            assert_eq!(u32::from(fold(sum(&ones[..n]))), plain, "{n} bytes of 0xff");
        }
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

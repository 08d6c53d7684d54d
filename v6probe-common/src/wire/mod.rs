//! NDP / ICMPv6 wire codec. See issue 3.

"""Writes fuzz/seeds/capture/ra_na.pcap: an RA with every common option and three NAs.
Run from the workspace root: /usr/bin/python3 fuzz/seeds/ra_na.py (Debian's python3-scapy)."""
from scapy.all import (Ether, IPv6, ICMPv6ND_RA, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS,
                       ICMPv6NDOptDNSSL, ICMPv6NDOptMTU, ICMPv6NDOptRouteInfo, wrpcap)

ra = (Ether(src="02:00:00:00:01:01", dst="33:33:00:00:00:01")
      / IPv6(src="fe80::1", dst="ff02::1", hlim=255)
      / ICMPv6ND_RA(routerlifetime=1800, prf=1)
      / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:01:01")
      / ICMPv6NDOptMTU(mtu=1500)
      / ICMPv6NDOptPrefixInfo(prefix="2001:db8:1::", prefixlen=64)
      / ICMPv6NDOptRDNSS(dns=["2001:db8:1::53"])
      / ICMPv6NDOptDNSSL(searchlist=["example.net"])
      / ICMPv6NDOptRouteInfo(prefix="2001:db8:ff::", plen=48))
ra.time = 1700000000.0
pkts = [ra]
for i in range(2, 5):
    na = (Ether(src=f"02:00:00:00:00:{i:02x}", dst="33:33:00:00:00:01")
          / IPv6(src=f"fd00:1::{i:x}", dst="ff02::1", hlim=255)
          / ICMPv6ND_NA(tgt=f"fd00:1::{i:x}", R=0, S=0, O=1)
          / ICMPv6NDOptDstLLAddr(lladdr=f"02:00:00:00:00:{i:02x}"))
    na.time = 1700000000.0 + i
    pkts.append(na)
wrpcap("fuzz/seeds/capture/ra_na.pcap", pkts)

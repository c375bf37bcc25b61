import { BlockList, isIP } from 'node:net';

/** Addresses a webhook must not reach unless `allow_private_networks`: loopback, private, link-local (cloud metadata), shared, reserved, multicast. */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
  // Site-local (deprecated, still routed inside some networks), NAT64 local-use, 6to4 and Teredo:
  // their embedded IPv4 or their target network is not ours to judge, so they are refused whole.
  ['fec0::', 10], ['64:ff9b:1::', 48], ['2002::', 16], ['2001::', 32],
] as const) BLOCKED.addSubnet(network, prefix, 'ipv6');

/** The 8 hextets of an IPv6 address (a trailing dotted IPv4 counts as two), or null. */
function hextets(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail, extra] = text.split('::');
  if (extra !== undefined) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...front, ...Array<number>(missing).fill(0), ...back];
}

/**
 * The IPv4 address an IPv6 address carries in its low 32 bits, for the forms that reach it:
 * IPv4-compatible (`::a.b.c.d`), -mapped (`::ffff:a.b.c.d`), -translated (`::ffff:0:a.b.c.d`) and
 * NAT64 (`64:ff9b::a.b.c.d`), written dotted or in hex. Null for any other address.
 */
function embeddedIPv4(address: string): string | null {
  const groups = hextets(address);
  if (groups === null) return null;
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const zeroTo = (end: number): boolean => groups.slice(0, end).every((group) => group === 0);
  const compatible = zeroTo(6) && (g6 !== 0 || g7 > 1); // not :: or ::1, which are blocked as themselves
  const mapped = zeroTo(5) && g5 === 0xffff;
  const translated = zeroTo(4) && g4 === 0xffff && g5 === 0;
  const nat64 = g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0;
  if (!(compatible || mapped || translated || nat64)) return null;
  return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff].join('.');
}

/** True when an IP address is in a range webhooks may not reach (IPv4 inside IPv6 judged as IPv4). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  const inner = embeddedIPv4(address);
  if (inner !== null) return BLOCKED.check(inner, 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** A URL whose host is an IP literal in a blocked range (names are checked when they resolve, at connect time). */
export function isPrivateLiteralUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 && isPrivateAddress(host);
}

import { describe, expect, it } from 'vitest';
import { isPrivateAddress, isPrivateLiteralUrl } from './network.ts';

describe('SSRF address ranges', () => {
  it.each(['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '224.0.0.1',
    // IPv4 embedded in IPv6 (compatible, mapped in hex, translated, NAT64 local-use, 6to4) and site-local.
    '::7f00:1', '::ffff:7f00:1', '::ffff:0:a00:1', '64:ff9b:1::a00:1', '2002:a9fe:a9fe::1', 'fec0::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2'])('refuses %s', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:1.1.1.1', '::ffff:101:101', '64:ff9b::101:101', '2001:4860:4860::8888'])('allows %s', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });
  it('judges literal URLs and leaves names to the connect-time check', () => {
    expect(isPrivateLiteralUrl('http://169.254.169.254/latest/meta-data')).toBe(true);
    expect(isPrivateLiteralUrl('https://[::1]:8443/hook')).toBe(true);
    expect(isPrivateLiteralUrl('https://hooks.example.com/x')).toBe(false);
  });
});

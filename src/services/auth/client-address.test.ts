import { describe, expect, it } from 'vitest';
import { addressLimitKey } from './client-address.ts';

describe('addressLimitKey: what a per-address limit counts', () => {
  it('keeps IPv4 addresses exact, also when written IPv4-mapped', () => {
    expect(addressLimitKey('198.51.100.7')).toBe('198.51.100.7');
    expect(addressLimitKey('198.51.100.8')).toBe('198.51.100.8');
    expect(addressLimitKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressLimitKey('::FFFF:c633:6407')).toBe('198.51.100.7');
    expect(addressLimitKey('0:0:0:0:0:ffff:c633:6408')).toBe('198.51.100.8');
  });

  it('groups IPv6 addresses by their /64, however they are written', () => {
    const sameSubnet = [
      '2001:db8:1:2::1',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0000:0000:0000:0abc',
      '2001:db8:1:2:a:b:c:d%eth0',
      '2001:db8:1:2::198.51.100.7',
    ];
    for (const address of sameSubnet) expect(addressLimitKey(address), address).toBe('2001:db8:1:2::/64');
    expect(addressLimitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressLimitKey('2001:db8::1')).toBe('2001:db8::/64');
    expect(addressLimitKey('::1')).toBe('::/64');
    expect(addressLimitKey('fe80::1%lo0')).toBe('fe80::/64');
    expect(addressLimitKey('0:0:0:1::5')).toBe('0:0:0:1::/64');
    expect(addressLimitKey('2001:0:0:1::')).toBe('2001:0:0:1::/64');
  });

  it('does not group IPv4-compatible or NAT64 neighbours into one IPv4 address, and keeps what is not an address as it is', () => {
    expect(addressLimitKey('64:ff9b::198.51.100.7')).toBe('64:ff9b::/64');
    expect(addressLimitKey('')).toBe('');
    expect(addressLimitKey('unknown')).toBe('unknown');
    expect(addressLimitKey('198.51.100.300')).toBe('198.51.100.300');
  });
});

import { describe, expect, it } from 'vitest';
import {
  cidrContains,
  classifyAddress,
  decideAddress,
  parseAddress,
  parseCidr,
  resolveTarget,
  TargetRefusedError,
  type TargetPolicy,
} from './address-policy.ts';

const strict: TargetPolicy = { allowPrivateTargets: [], sandboxRelaxed: false };
const sandbox: TargetPolicy = { allowPrivateTargets: [], sandboxRelaxed: true };

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['203.0.114.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['169.254.169.254', 'link_local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['febf::1', 'link_local'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456:789a::1', 'unique_local'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001:0::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82a::200e', 'public'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link_local'],
    ['::ffff:8.8.8.8', 'public'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:0808:0808::1', 'public'],
    ['::8.8.8.8', 'reserved'],
    ['[::1]', 'loopback'],
    ['not-an-ip', 'reserved'],
    ['1.2.3', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('parses IPv6 forms to the same bytes', () => {
    const a = parseAddress('::ffff:1.2.3.4')!;
    const b = parseAddress('0:0:0:0:0:ffff:102:304')!;
    expect([...a.bytes]).toEqual([...b.bytes]);
    expect(parseAddress('1:2:3:4:5:6:7:8:9')).toBeUndefined();
    expect(parseAddress('1::2::3')).toBeUndefined();
  });
});

describe('CIDRs and decisions', () => {
  it('matches IPv4 and IPv6 prefixes, IPv4-mapped addresses as IPv4', () => {
    expect(cidrContains(parseCidr('10.0.0.0/8'), '10.200.0.1')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), '11.0.0.1')).toBe(false);
    expect(cidrContains(parseCidr('10.0.0.0/8'), '::ffff:10.0.0.5')).toBe(true);
    expect(cidrContains(parseCidr('172.16.5.0/24'), '172.16.5.77')).toBe(true);
    expect(cidrContains(parseCidr('172.16.5.0/24'), '172.16.6.1')).toBe(false);
    expect(cidrContains(parseCidr('fd00::/8'), 'fd12::1')).toBe(true);
    expect(cidrContains(parseCidr('fd00::/8'), 'fc12::1')).toBe(false);
    expect(cidrContains(parseCidr('127.0.0.1'), '127.0.0.1')).toBe(true);
    expect(cidrContains(parseCidr('127.0.0.1'), '127.0.0.2')).toBe(false);
    expect(cidrContains(parseCidr('::ffff:10.0.0.0/104'), '10.1.1.1')).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0'), '192.168.0.1')).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/8'), 'fd00::1')).toBe(false);
  });

  it.each(['10.0.0.0/33', 'fd00::/129', '10.0.0.0/x', 'nonsense', '10.0.0.0/8/1', ''])('refuses the CIDR %j', (text) => {
    expect(() => parseCidr(text)).toThrow();
  });

  it('allows public addresses, and others only as the policy says', () => {
    expect(decideAddress('8.8.8.8', strict).allowed).toBe(true);
    expect(decideAddress('127.0.0.1', strict)).toEqual({ allowed: false, addressClass: 'loopback' });
    expect(decideAddress('127.0.0.1', sandbox).allowed).toBe(true);
    expect(decideAddress('::1', sandbox).allowed).toBe(true);
    // The sandbox allows loopback, not the private network.
    expect(decideAddress('10.0.0.1', sandbox).allowed).toBe(false);
    expect(decideAddress('10.0.0.1', { ...strict, allowPrivateTargets: ['10.0.0.0/8'] }).allowed).toBe(true);
    expect(decideAddress('192.168.0.1', { ...strict, allowPrivateTargets: ['10.0.0.0/8'] }).allowed).toBe(false);
    expect(decideAddress('169.254.169.254', { ...strict, allowPrivateTargets: ['*'] }).allowed).toBe(true);
    expect(decideAddress('10.0.0.1', { ...strict, allowPrivateTargets: ['garbage', '10.0.0.1/32'] }).allowed).toBe(true);
  });
});

describe('resolveTarget', () => {
  const lookupTo =
    (...addresses: string[]) =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('accepts https to a public name and returns the address to connect to', async () => {
    const target = await resolveTarget('https://merchant.example/notify?x=1', strict, lookupTo('93.184.216.34'));
    expect(target).toMatchObject({ hostname: 'merchant.example', address: '93.184.216.34', family: 4 });
  });

  it('refuses plain http, except on the sandbox', async () => {
    await expect(resolveTarget('http://merchant.example/notify', strict, lookupTo('93.184.216.34'))).rejects.toMatchObject({
      reason: 'scheme',
    });
    await expect(resolveTarget('http://127.0.0.1:9/notify', sandbox)).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(resolveTarget('ftp://merchant.example/', sandbox)).rejects.toMatchObject({ reason: 'scheme' });
  });

  it('refuses names that resolve, even partly, to a non-public address', async () => {
    await expect(resolveTarget('https://evil.example/', strict, lookupTo('10.0.0.5'))).rejects.toThrow(/private address/);
    await expect(resolveTarget('https://evil.example/', strict, lookupTo('93.184.216.34', '169.254.169.254'))).rejects.toThrow(
      /link-local/,
    );
    await expect(resolveTarget('https://evil.example/', strict, lookupTo('::ffff:127.0.0.1'))).rejects.toThrow(/loopback/);
    await expect(resolveTarget('https://evil.example/', strict, lookupTo('fd00::1'))).rejects.toThrow(/unique-local/);
    await expect(resolveTarget('https://localhost/', strict, lookupTo('127.0.0.1', '::1'))).rejects.toBeInstanceOf(TargetRefusedError);
  });

  it('refuses IP literals by class, IPv6 included', async () => {
    await expect(resolveTarget('https://127.0.0.1/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://[::1]/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://[::ffff:a00:1]/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://[fe80::1]/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://2130706433/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://0x7f.1/', strict)).rejects.toMatchObject({ reason: 'address' });
    await expect(resolveTarget('https://[2606:4700:4700::1111]/', strict)).resolves.toMatchObject({ family: 6 });
  });

  it('refuses credentials in the URL, bad URLs and names that do not resolve', async () => {
    await expect(resolveTarget('https://user:pw@merchant.example/', strict, lookupTo('93.184.216.34'))).rejects.toMatchObject({
      reason: 'credentials',
    });
    await expect(resolveTarget('not a url', strict)).rejects.toMatchObject({ reason: 'url' });
    await expect(resolveTarget('https://nowhere.example/', strict, async () => [])).rejects.toMatchObject({ reason: 'unresolvable' });
    await expect(
      resolveTarget('https://nowhere.example/', strict, async () => {
        throw new Error('ENOTFOUND');
      }),
    ).rejects.toMatchObject({ reason: 'unresolvable' });
  });

  it('lets PAYTHROUGH_ALLOW_PRIVATE_TARGETS open private networks', async () => {
    const policy = { allowPrivateTargets: ['10.0.0.0/8', 'fd00::/8'], sandboxRelaxed: false };
    await expect(resolveTarget('https://internal.example/', policy, lookupTo('10.1.2.3', 'fd00::5'))).resolves.toMatchObject({
      address: '10.1.2.3',
    });
  });
});

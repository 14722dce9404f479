import { describe, expect, it } from 'vitest';
import { parseTc3Authorization, tc3Date, tc3Signature, verifyTc3Signature } from './tc3.ts';

// Tencent Cloud's published worked example (API 3.0 signature documentation, CVM DescribeInstances).
const example = {
  secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******',
  secretKey: 'Gu5t9xGARNpq86cd98joQYCN3*******',
  timestamp: 1551113065,
  body: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
};

describe('TC3-HMAC-SHA256', () => {
  const signature = tc3Signature({
    method: 'POST',
    path: '/',
    query: '',
    canonicalHeaders: [
      ['content-type', 'application/json; charset=utf-8'],
      ['host', 'cvm.tencentcloudapi.com'],
    ],
    body: example.body,
    timestampSeconds: example.timestamp,
    date: tc3Date(example.timestamp),
    service: 'cvm',
    secretKey: example.secretKey,
  });

  it('derives the scope date from the timestamp in UTC', () => {
    expect(tc3Date(example.timestamp)).toBe('2019-02-25');
  });

  it('parses the Authorization header the SDKs send', () => {
    const parsed = parseTc3Authorization(
      `TC3-HMAC-SHA256 Credential=${example.secretId}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${signature}`,
    );
    expect(parsed).toEqual({
      secretId: example.secretId,
      date: '2019-02-25',
      service: 'cvm',
      signedHeaders: ['content-type', 'host'],
      signature,
    });
    expect(parseTc3Authorization('TC3-HMAC-SHA256 Credential=x')).toBeUndefined();
    expect(parseTc3Authorization(undefined)).toBeUndefined();
  });

  it('accepts the host with or without its port, and refuses any other change', () => {
    const authorization = {
      secretId: example.secretId,
      date: '2019-02-25',
      service: 'cvm',
      signedHeaders: ['content-type', 'host'],
      signature,
    };
    const base = {
      authorization,
      method: 'POST',
      path: '/',
      query: '',
      headers: { 'content-type': 'application/json; charset=utf-8', host: 'cvm.tencentcloudapi.com:443' },
      body: example.body,
      timestampSeconds: example.timestamp,
      secretKey: example.secretKey,
    };
    expect(verifyTc3Signature(base)).toBe(true);
    expect(verifyTc3Signature({ ...base, headers: { ...base.headers, host: 'cvm.tencentcloudapi.com' } })).toBe(true);
    expect(verifyTc3Signature({ ...base, body: example.body.replace('1', '2') })).toBe(false);
    expect(verifyTc3Signature({ ...base, secretKey: 'other' })).toBe(false);
    expect(verifyTc3Signature({ ...base, timestampSeconds: example.timestamp + 1 })).toBe(false);
    expect(verifyTc3Signature({ ...base, headers: { ...base.headers, host: 'evil.example.com' } })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { apiV3KeyProblem, generateApiV3Key } from './credentials.ts';
import { currencies, currencyExponent, defaultCurrencies, formatMinorUnits, isCurrencyCode } from './money.ts';

describe('currencies', () => {
  it('know their ISO 4217 minor-unit exponents; CNY is the default', () => {
    expect(currencyExponent('CNY')).toBe(2);
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(defaultCurrencies).toEqual(['CNY']);
    expect(currencies[0]!.code).toBe('CNY');
    expect(new Set(currencies.map((c) => c.code)).size).toBe(currencies.length);
    expect(currencies.every((c) => /^[A-Z]{3}$/.test(c.code))).toBe(true);
    expect(isCurrencyCode('XXX')).toBe(false);
    expect(() => currencyExponent('XXX')).toThrow();
  });
  it('format sums past 2^53 exactly as bigint, and refuse an unsafe number', () => {
    expect(formatMinorUnits(2n ** 60n + 5n, 'CNY')).toBe('11529215046068469.81');
    expect(formatMinorUnits(-(2n ** 54n) - 1n, 'JPY')).toBe('-18014398509481985');
    expect(() => formatMinorUnits(2 ** 53 + 2, 'CNY')).toThrow(/safe integers/);
  });

  it('format minor units in major units with the currency exponent', () => {
    expect(formatMinorUnits(1230, 'CNY')).toBe('12.30');
    expect(formatMinorUnits(5, 'CNY')).toBe('0.05');
    expect(formatMinorUnits(-5, 'USD')).toBe('-0.05');
    expect(formatMinorUnits(500, 'JPY')).toBe('500');
    expect(formatMinorUnits(1, 'KWD')).toBe('0.001');
    expect(formatMinorUnits(9_007_199_254_740_991, 'CNY')).toBe('90071992547409.91');
    expect(() => formatMinorUnits(1.5, 'CNY')).toThrow();
  });
});

describe('APIv3 keys', () => {
  it('are exactly 32 characters mixing digits, upper- and lower-case letters', () => {
    expect(apiV3KeyProblem('abcdefghABCDEFGH12345678abcdefgh')).toBeUndefined();
    expect(apiV3KeyProblem('abcdefghABCDEFGH12345678abcdefg')).toMatch(/32/);
    expect(apiV3KeyProblem('abcdefghabcdefgh12345678abcdefgh')).toMatch(/mix/);
    expect(apiV3KeyProblem('abcdefghABCDEFGH_2345678abcdefgh')).toMatch(/digits and letters/);
    for (let i = 0; i < 50; i++) expect(apiV3KeyProblem(generateApiV3Key())).toBeUndefined();
  });
});

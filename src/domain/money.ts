/**
 * ISO 4217 currencies a superapp may allow, with their minor-unit exponents. Amounts everywhere are
 * integers in the minor unit; only the edges format them (SPEC §7 "Money and time").
 */
export const currencies = [
  { code: 'CNY', exponent: 2, name: 'Chinese yuan' },
  { code: 'USD', exponent: 2, name: 'US dollar' },
  { code: 'EUR', exponent: 2, name: 'Euro' },
  { code: 'GBP', exponent: 2, name: 'Pound sterling' },
  { code: 'HKD', exponent: 2, name: 'Hong Kong dollar' },
  { code: 'MOP', exponent: 2, name: 'Macanese pataca' },
  { code: 'TWD', exponent: 2, name: 'New Taiwan dollar' },
  { code: 'JPY', exponent: 0, name: 'Japanese yen' },
  { code: 'KRW', exponent: 0, name: 'South Korean won' },
  { code: 'SGD', exponent: 2, name: 'Singapore dollar' },
  { code: 'MYR', exponent: 2, name: 'Malaysian ringgit' },
  { code: 'THB', exponent: 2, name: 'Thai baht' },
  { code: 'IDR', exponent: 2, name: 'Indonesian rupiah' },
  { code: 'PHP', exponent: 2, name: 'Philippine peso' },
  { code: 'VND', exponent: 0, name: 'Vietnamese dong' },
  { code: 'INR', exponent: 2, name: 'Indian rupee' },
  { code: 'AUD', exponent: 2, name: 'Australian dollar' },
  { code: 'NZD', exponent: 2, name: 'New Zealand dollar' },
  { code: 'CAD', exponent: 2, name: 'Canadian dollar' },
  { code: 'CHF', exponent: 2, name: 'Swiss franc' },
  { code: 'AED', exponent: 2, name: 'UAE dirham' },
  { code: 'SAR', exponent: 2, name: 'Saudi riyal' },
  { code: 'QAR', exponent: 2, name: 'Qatari riyal' },
  { code: 'KWD', exponent: 3, name: 'Kuwaiti dinar' },
  { code: 'BHD', exponent: 3, name: 'Bahraini dinar' },
  { code: 'OMR', exponent: 3, name: 'Omani rial' },
  { code: 'JOD', exponent: 3, name: 'Jordanian dinar' },
] as const satisfies readonly { code: string; exponent: number; name: string }[];

export type CurrencyCode = (typeof currencies)[number]['code'];

export const currencyCodes = currencies.map((c) => c.code) as [CurrencyCode, ...CurrencyCode[]];

/** What a superapp allows until its administrator says otherwise; the first is its default currency. */
export const defaultCurrencies: CurrencyCode[] = ['CNY'];

/** The largest amount of one order or refund, in minor units (SPEC §7 "Money and time"). */
export const maxOrderAmount = 100_000_000_000;

const exponents = new Map<string, number>(currencies.map((c) => [c.code, c.exponent]));

export function isCurrencyCode(code: string): code is CurrencyCode {
  return exponents.has(code);
}

/** The minor-unit exponent of a currency (CNY 2, JPY 0, KWD 3); throws for an unknown code. */
export function currencyExponent(code: string): number {
  const exponent = exponents.get(code);
  if (exponent === undefined) throw new Error(`Unknown currency ${code}`);
  return exponent;
}

/**
 * An integer amount in minor units as a major-unit decimal string: 1230 CNY → "12.30", 5 JPY → "5". Sums over
 * many orders come as bigint, exact past 2^53; a number must be a safe integer.
 */
export function formatMinorUnits(amount: number | bigint, code: string): string {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount))
    throw new Error(`Amounts are safe integers in minor units (got ${amount})`);
  const exponent = currencyExponent(code);
  const sign = amount < 0 ? '-' : '';
  const digits = (amount < 0 ? -BigInt(amount) : BigInt(amount)).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

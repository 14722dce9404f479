import { AppError } from './errors.ts';

const paramError = (field: string, issue: string, value: unknown) =>
  new AppError('InvalidParameterValue', `${field}: ${issue}`, { field, issue, location: 'body', value });

/**
 * SPEC §4.2: a notify_url is https, without a query string; plain http is allowed only for superapps on
 * the sandbox channel while the sandbox is on (where the SSRF guard also lets loopback through).
 */
export function checkNotifyUrl(value: string, field: string, sandboxRelaxed: boolean): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw paramError(field, 'must be an absolute https URL', value);
  }
  if (url.protocol !== 'https:' && !(sandboxRelaxed && url.protocol === 'http:')) throw paramError(field, 'must be an https URL', value);
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw paramError(field, 'must carry no query string, fragment or credentials', value);
}

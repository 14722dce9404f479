import { Tag } from 'antd';
import type { MerchantKey } from '../../api/types.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';

type Expiry = Pick<MerchantKey, 'expiry' | 'expiresInDays'>;

/** SPEC §7: a certificate within 30 days of its not_after is flagged, one past it is expired (the gateway refuses it). */
export function CertificateExpiryTag({ certificate }: { certificate: Expiry }) {
  const text = useCertificateExpiryText();
  if (certificate.expiry === 'valid') return null;
  return (
    <Tag color={certificate.expiry === 'expired' ? 'error' : 'warning'} data-testid="certificate-expiry">
      {text(certificate)}
    </Tag>
  );
}

/** The Tag's words, for sentences that list several certificates. */
export function useCertificateExpiryText(): (certificate: Expiry) => string {
  const { t } = useI18n();
  return (certificate) =>
    certificate.expiry === 'expired'
      ? t('credentials.expired')
      : certificate.expiresInDays <= 1
        ? t('credentials.expiresInOneDay')
        : t('credentials.expiresInDays', { days: certificate.expiresInDays });
}

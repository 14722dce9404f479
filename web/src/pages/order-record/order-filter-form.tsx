import { Col, Form, Input, InputNumber, Row, Select } from 'antd';
import { tradeStates, type CappedTotal, type OrderFilter, type TradeState } from '../../api/records-api.ts';
import type { Currency, MiniProgram } from '../../api/types.ts';
import { fromLocalInputValue } from '../../components/date-time.ts';
import { useI18n } from '../../i18n/i18n-context.tsx';
import { SearchActions, toMinorUnits, TotalText } from './record-parts.tsx';

interface FilterValues {
  createdFrom?: string;
  createdTo?: string;
  mnpIds?: string[];
  tradeStates?: TradeState[];
  outTradeNo?: string;
  transactionId?: string;
  amountMin?: number | null;
  amountMax?: number | null;
  currency?: string;
}

const trimmed = (value: string | undefined) => (value?.trim() ? value.trim() : undefined);

/** The filter lists the paid states together (REFUND right after SUCCESS), unlike the state machine. */
const tradeStateOptionRank: Record<TradeState, number> = { WAIT_PAY: 0, SUCCESS: 1, REFUND: 2, CLOSED: 3, AUTO_CLOSED: 4, PAY_ERROR: 5 };
const tradeStateOptions = [...tradeStates]
  .sort((first, second) => tradeStateOptionRank[first] - tradeStateOptionRank[second])
  .map((state) => ({ value: state, label: state }));

/** The filter the form's values ask for; amounts are typed in major units of the chosen currency. */
function orderFilterOf(values: FilterValues, currencies: Currency[] | undefined): OrderFilter {
  const exponent = currencies?.find((currency) => currency.code === (values.currency ?? 'CNY'))?.exponent ?? 2;
  const amountMin = toMinorUnits(values.amountMin, exponent);
  const amountMax = toMinorUnits(values.amountMax, exponent);
  return {
    createdFrom: fromLocalInputValue(values.createdFrom) ?? undefined,
    createdTo: fromLocalInputValue(values.createdTo) ?? undefined,
    mnpIds: values.mnpIds?.length ? values.mnpIds : undefined,
    tradeStates: values.tradeStates?.length ? values.tradeStates : undefined,
    outTradeNo: trimmed(values.outTradeNo),
    transactionId: trimmed(values.transactionId),
    amountMin,
    amountMax,
    currency: amountMin !== undefined || amountMax !== undefined ? (values.currency ?? 'CNY') : undefined,
  };
}

interface OrderFilterFormProps {
  currencies: Currency[] | undefined;
  miniPrograms: MiniProgram[];
  total: CappedTotal | undefined;
  onSearch(filter: OrderFilter): void;
}

/** The Order record's filter: Search asks for the filtered orders, Reset for all of them. */
export function OrderFilterForm({ currencies, miniPrograms, total, onSearch }: OrderFilterFormProps) {
  const { t } = useI18n();
  const [form] = Form.useForm<FilterValues>();
  const search = (values: FilterValues) => onSearch(orderFilterOf(values, currencies));
  const miniProgramOptions = miniPrograms.map((miniProgram) => ({
    value: miniProgram.mnpId,
    label: `${miniProgram.name} (${miniProgram.mnpId})`,
  }));

  return (
    <Form<FilterValues> form={form} layout="vertical" onFinish={search} initialValues={{ currency: 'CNY' }} data-testid="order-filters">
      <Row gutter={16}>
        <Col xs={24} md={6}>
          <Form.Item name="createdFrom" label={t('records.createdFrom')}>
            <Input type="datetime-local" />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item name="createdTo" label={t('records.createdTo')}>
            <Input type="datetime-local" />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item name="mnpIds" label={t('records.miniPrograms')}>
            <Select
              mode="tags"
              options={miniProgramOptions}
              placeholder={t('records.miniProgramsPlaceholder')}
              tokenSeparators={[',', ' ']}
            />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item name="tradeStates" label={t('records.tradeState')}>
            <Select mode="multiple" allowClear placeholder={t('records.anyState')} options={tradeStateOptions} />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item name="outTradeNo" label={t('records.outTradeNo')}>
            <Input allowClear />
          </Form.Item>
        </Col>
        <Col xs={24} md={6}>
          <Form.Item name="transactionId" label={t('records.transactionId')}>
            <Input allowClear />
          </Form.Item>
        </Col>
        <Col xs={12} md={4}>
          <Form.Item name="amountMin" label={t('records.amountMin')} tooltip={t('records.amountNeedsRange')}>
            <InputNumber min={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={12} md={4}>
          <Form.Item name="amountMax" label={t('records.amountMax')}>
            <InputNumber min={0} style={{ width: '100%' }} />
          </Form.Item>
        </Col>
        <Col xs={24} md={4}>
          <Form.Item name="currency" label={t('records.currency')}>
            <Select options={(currencies ?? [{ code: 'CNY' }]).map((currency) => ({ value: currency.code, label: currency.code }))} />
          </Form.Item>
        </Col>
      </Row>
      <SearchActions
        onReset={() => {
          form.resetFields();
          search({ currency: 'CNY' });
        }}
      >
        <TotalText total={total} />
      </SearchActions>
    </Form>
  );
}

import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { consoleApi, queryKeys } from '../../api/console-api.ts';
import { recordQueryKeys, recordsApi } from '../../api/records-api.ts';
import { useConsole } from '../../app/console-context.tsx';
import { lastThirtyDays, paymentDataQueryOf, type PaymentDataQuery } from './payment-data-filter-form.tsx';

/** The Payment data page's data: the figures the query asks for, and the currencies and mini programs to filter by. */
export function usePaymentData() {
  const { currentTeam } = useConsole();
  const [query, setQuery] = useState<PaymentDataQuery>(() => paymentDataQueryOf(lastThirtyDays()));
  const data = useQuery({
    queryKey: recordQueryKeys.paymentData(query),
    queryFn: () => recordsApi.getPaymentData(query),
    placeholderData: keepPreviousData,
    retry: false,
  });
  const currencies = useQuery({ queryKey: queryKeys.currencies, queryFn: () => consoleApi.listCurrencies() });
  const teamMiniPrograms = useQuery({
    queryKey: queryKeys.miniPrograms(currentTeam?.id ?? ''),
    queryFn: () => consoleApi.listMiniPrograms(currentTeam!.id),
    enabled: currentTeam?.kind === 'miniprogram',
  });
  return { query, search: setQuery, data, currencies, teamMiniPrograms };
}

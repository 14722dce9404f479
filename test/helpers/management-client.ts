import { CommonClient } from 'tencentcloud-sdk-nodejs-common';

export interface ManagementCredentials {
  secretId: string;
  secretKey: string;
}

/** The published Tencent Cloud SDK's CommonClient pointed at a running Paythrough over http. */
export function managementClient(baseUrl: string, credentials: ManagementCredentials): CommonClient {
  const endpoint = baseUrl.replace(/^https?:\/\//, '');
  return new CommonClient(endpoint, '2025-01-06', {
    credential: credentials,
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint, protocol: baseUrl.startsWith('https') ? 'https://' : 'http://', reqTimeout: 10 } },
  });
}

/** Calls an action; resolves with `Data`, or with `{error: {code, message}}` when the envelope carries an error. */
export async function callAction(client: CommonClient, action: string, params: Record<string, unknown>): Promise<any> {
  try {
    const response = (await client.request(action, params)) as { Data?: unknown; RequestId?: string };
    return response.Data;
  } catch (error) {
    const failure = error as { code?: string; message?: string; requestId?: string };
    if (!failure.code) throw error;
    return { error: { code: failure.code, message: failure.message, requestId: failure.requestId } };
  }
}

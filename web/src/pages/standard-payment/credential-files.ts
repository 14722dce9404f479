// The file names WeChat Pay's merchant tools use, prefixed with the appid so several mini programs' keys can sit together.
export const privateKeyFileName = (mnpId: string) => `${mnpId}_apiclient_key.pem`;
export const certificateFileName = (mnpId: string) => `${mnpId}_apiclient_cert.pem`;

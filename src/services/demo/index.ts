export { DemoMerchant, DemoMerchantError, demoGoods } from './demo-merchant.service.ts';
export { DemoWorldService } from './demo-world.service.ts';
export { extendDemoWorldWithPayment } from './payment-demo-world.ts';
export { demoGameItems, extendDemoWorldWithMiniGame } from './mini-game-demo-world.ts';
export type { DemoDayServices } from './demo-yesterday.ts';
export { DemoGameMerchant, demoGameCredentials, demoPlayerOpenid, type GameCredentials } from './demo-game-merchant.service.ts';

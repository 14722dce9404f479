export { DemoWorldService } from './demo-world.service.ts';
export { extendDemoWorldWithPayment } from './payment-demo-world.ts';

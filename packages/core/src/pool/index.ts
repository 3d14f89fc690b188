export { Gate } from './gate.js';
export { claimOnce } from './once.js';
export { waitUntil, type WaitUntilOptions } from './wait.js';

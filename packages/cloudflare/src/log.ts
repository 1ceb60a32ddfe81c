import { logger } from '@switchboard/core/protocol';

/** `switchboard:cloudflare`. Never pass audio or secrets to it. */
export const log = logger('cloudflare');

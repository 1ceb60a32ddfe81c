import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError, base64Encode } from '@switchboard/core';
import {
  assertTelnyxWebhook,
  readTelnyxWebhookVerdict,
  readTelnyxSignatureHeaders,
  validateTelnyxWebhook,
  type TelnyxHeaders,
  type ValidateTelnyxWebhookOptions,
} from '../src/index.js';

const encoder = new TextEncoder();
const BODY = '{"data":{"event_type":"call.answered"}}';
const NOW_MS = 1_787_000_000_000;
const TIMESTAMP = String(NOW_MS / 1000);

async function fixture(): Promise<{ keys: CryptoKeyPair; options: ValidateTelnyxWebhookOptions }> {
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = base64Encode(new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey)));
  const signature = base64Encode(
    new Uint8Array(await crypto.subtle.sign('Ed25519', keys.privateKey, encoder.encode(`${TIMESTAMP}|${BODY}`))),
  );
  return { keys, options: { publicKey, body: BODY, signature, timestamp: TIMESTAMP, now: () => NOW_MS } };
}

describe('Telnyx checks on what a request can carry', () => {
  it('answers malformed (assert: WebhookSignatureError) for a body that is not a string or bytes', async () => {
    const { options } = await fixture();
    for (const body of [undefined, null, 42, JSON.parse(BODY), [BODY], new ArrayBuffer(4), true]) {
      const bad = { ...options, body: body as string };
      expect(await readTelnyxWebhookVerdict(bad)).toEqual({ valid: false, reason: 'malformed' });
      expect(await validateTelnyxWebhook(bad)).toBe(false);
      await expect(assertTelnyxWebhook(bad)).rejects.toThrow(WebhookSignatureError);
      await expect(assertTelnyxWebhook(bad)).rejects.toThrow(/raw request body/);
    }
  });

  it('answers malformed for a signature far longer than any Ed25519 signature', async () => {
    const { options } = await fixture();
    expect(await readTelnyxWebhookVerdict({ ...options, signature: `${options.signature} `.repeat(10_000) })).toEqual({
      valid: false,
      reason: 'malformed',
    });
  });

  it('reads header maps that are not objects, or values that are not strings, as missing', async () => {
    const { options } = await fixture();
    for (const headers of [
      undefined,
      null,
      42,
      'telnyx-timestamp',
      { 'telnyx-signature-ed25519': [42], 'telnyx-timestamp': Number(TIMESTAMP) },
    ]) {
      const read = readTelnyxSignatureHeaders(headers as unknown as TelnyxHeaders);
      expect(read).toEqual({ signature: undefined, timestamp: undefined });
      expect(await readTelnyxWebhookVerdict({ ...options, ...read })).toEqual({ valid: false, reason: 'missing' });
    }
  });

  it('refuses a key that cannot verify Ed25519 with a ConfigError, not a DOMException', async () => {
    const { options, keys } = await fixture();
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    await expect(validateTelnyxWebhook({ ...options, publicKey: hmac })).rejects.toBeInstanceOf(ConfigError);
    await expect(validateTelnyxWebhook({ ...options, publicKey: keys.privateKey })).rejects.toBeInstanceOf(ConfigError);
    await expect(validateTelnyxWebhook(undefined as unknown as ValidateTelnyxWebhookOptions)).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(validateTelnyxWebhook({ ...options, now: 5 as unknown as () => number })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  assertTelnyxWebhook,
  readTelnyxWebhookVerdict,
  readTelnyxSignatureHeaders,
  validateTelnyxWebhook,
  type ValidateTelnyxWebhookOptions,
} from '../src/signature.js';

const encoder = new TextEncoder();
const b64 = (bytes: ArrayBuffer | Uint8Array) =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('base64');

/** A webhook body as Telnyx sends it (call.hangup), kept byte for byte. */
const BODY =
  '{"data":{"event_type":"call.hangup","id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0","occurred_at":"2026-08-21T10:00:00.000000Z",' +
  '"payload":{"call_control_id":"v3:abc","hangup_cause":"normal_clearing"},"record_type":"event"},"meta":{"attempt":1}}';
const NOW_MS = 1_787_000_000_000;
const TIMESTAMP = String(NOW_MS / 1000);

/** A fresh Ed25519 key pair, and Telnyx's signature of `${timestamp}|${body}` made with it. */
async function fixture(timestamp = TIMESTAMP, body = BODY) {
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = b64(await crypto.subtle.exportKey('raw', keys.publicKey));
  const signature = b64(await crypto.subtle.sign('Ed25519', keys.privateKey, encoder.encode(`${timestamp}|${body}`)));
  const options: ValidateTelnyxWebhookOptions = { publicKey, body, signature, timestamp, now: () => NOW_MS };
  return { keys, publicKey, signature, options };
}

describe('validateTelnyxWebhook', () => {
  it('accepts a valid signature (string body, byte body, CryptoKey)', async () => {
    const { options, keys } = await fixture();
    expect(await validateTelnyxWebhook(options)).toBe(true);
    expect(await validateTelnyxWebhook({ ...options, body: encoder.encode(BODY) })).toBe(true);
    expect(await validateTelnyxWebhook({ ...options, publicKey: keys.publicKey })).toBe(true);
    await expect(assertTelnyxWebhook(options)).resolves.toBeUndefined();
  });

  it('rejects a tampered body, timestamp or signature, and another key', async () => {
    const { options } = await fixture();
    expect(await readTelnyxWebhookVerdict({ ...options, body: BODY.replace('normal_clearing', 'user_busy') })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(await readTelnyxWebhookVerdict({ ...options, body: `${BODY} ` })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(await readTelnyxWebhookVerdict({ ...options, timestamp: String(Number(TIMESTAMP) + 1) })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    const flipped = Buffer.from(options.signature!, 'base64');
    flipped[10] = flipped[10]! ^ 1;
    expect(await readTelnyxWebhookVerdict({ ...options, signature: flipped.toString('base64') })).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    const other = await fixture();
    expect(await validateTelnyxWebhook({ ...options, publicKey: other.publicKey })).toBe(false);
    await expect(assertTelnyxWebhook({ ...options, body: '{}' })).rejects.toThrow(WebhookSignatureError);
  });

  it('rejects a stale or future timestamp outside the tolerance, and honours a custom one', async () => {
    const old = String(Number(TIMESTAMP) - 301);
    const { options } = await fixture(old);
    expect(await readTelnyxWebhookVerdict(options)).toEqual({ valid: false, reason: 'stale' });
    expect(await validateTelnyxWebhook({ ...options, toleranceSeconds: 600 })).toBe(true);
    const future = await fixture(String(Number(TIMESTAMP) + 301));
    expect(await readTelnyxWebhookVerdict(future.options)).toEqual({ valid: false, reason: 'stale' });
    await expect(assertTelnyxWebhook(options)).rejects.toThrow(/outside the allowed window/);
    // Within the window.
    const recent = await fixture(String(Number(TIMESTAMP) - 299));
    expect(await validateTelnyxWebhook(recent.options)).toBe(true);
  });

  it('reports missing and malformed headers, and refuses a bad key with a ConfigError', async () => {
    const { options } = await fixture();
    expect(await readTelnyxWebhookVerdict({ ...options, signature: undefined })).toEqual({
      valid: false,
      reason: 'missing',
    });
    expect(await readTelnyxWebhookVerdict({ ...options, timestamp: null })).toEqual({
      valid: false,
      reason: 'missing',
    });
    expect(await readTelnyxWebhookVerdict({ ...options, timestamp: '17e8' })).toEqual({
      valid: false,
      reason: 'malformed',
    });
    expect(await readTelnyxWebhookVerdict({ ...options, signature: 'c2hvcnQ=' })).toEqual({
      valid: false,
      reason: 'malformed',
    });
    await expect(assertTelnyxWebhook({ ...options, signature: '' })).rejects.toThrow(
      /missing telnyx-signature-ed25519/,
    );
    await expect(validateTelnyxWebhook({ ...options, publicKey: 'c2hvcnQ=' })).rejects.toThrow(ConfigError);
  });

  it('verifies the timestamp Telnyx signed when the header arrives with surrounding whitespace', async () => {
    const { options } = await fixture();
    expect(await readTelnyxWebhookVerdict({ ...options, timestamp: ` ${TIMESTAMP}\t` })).toEqual({ valid: true });
    expect(await readTelnyxWebhookVerdict({ ...options, timestamp: '   ' })).toEqual({
      valid: false,
      reason: 'missing',
    });
  });

  it('reads the two headers case-insensitively from Node headers or a Headers object', () => {
    expect(
      readTelnyxSignatureHeaders({ 'Telnyx-Signature-Ed25519': 'sig', 'telnyx-timestamp': ['123', '456'] }),
    ).toEqual({ signature: 'sig', timestamp: '123' });
    expect(
      readTelnyxSignatureHeaders(new Headers({ 'telnyx-signature-ed25519': 's', 'Telnyx-Timestamp': '9' })),
    ).toEqual({ signature: 's', timestamp: '9' });
    expect(readTelnyxSignatureHeaders({})).toEqual({ signature: undefined, timestamp: undefined });
  });
});

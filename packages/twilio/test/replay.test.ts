import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, MemoryNonceStore, ReplayGuard, WebhookSignatureError } from '@switchboard/core';
import {
  assertSignalWireSignature,
  assertTwilioSignature,
  validateSignalWireSignature,
  validateTwilioSignature,
  ReplayGuard as ReExportedReplayGuard,
} from '../src/index.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_787_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

/** Twilio's scheme, computed independently: base64(HMAC-SHA1(key, url + sorted name/value pairs)). */
function sign(key: string, url: string, params: Record<string, string>): string {
  const text =
    url +
    Object.keys(params)
      .sort()
      .map((name) => name + params[name])
      .join('');
  return createHmac('sha1', key).update(text, 'utf8').digest('base64');
}

const PARAMS = {
  CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701',
  AccountSid: 'AC25e16e9a716a4a1786a7c83f58e30482',
  From: '+15551230001',
  To: '+15551230002',
  CallStatus: 'ringing',
};

type Check = {
  name: string;
  header: string;
  /** A signed delivery, as the carrier sends it. */
  delivery: (params?: Record<string, string>) => { signature: string; url: string; params: Record<string, string> };
  validate: (delivery: ReturnType<Check['delivery']>, replayGuard?: ReplayGuard) => Promise<boolean>;
  assert: (delivery: ReturnType<Check['delivery']>, replayGuard?: ReplayGuard) => Promise<void>;
};

const AUTH_TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';
const SIGNING_KEY = 'PSK_2a0e8d7c6b5a4f3e2d1c0b9a889f3c2b';
const TWILIO_URL = 'https://voice.example.com/twilio/voice';
const SIGNALWIRE_URL = 'https://voice.example.com/signalwire/voice';

const checks: Check[] = [
  {
    name: 'Twilio',
    header: 'X-Twilio-Signature',
    delivery: (params = PARAMS) => ({ signature: sign(AUTH_TOKEN, TWILIO_URL, params), url: TWILIO_URL, params }),
    validate: (d, replayGuard) =>
      validateTwilioSignature({ authToken: AUTH_TOKEN, ...d, ...(replayGuard === undefined ? {} : { replayGuard }) }),
    assert: (d, replayGuard) =>
      assertTwilioSignature({ authToken: AUTH_TOKEN, ...d, ...(replayGuard === undefined ? {} : { replayGuard }) }),
  },
  {
    name: 'SignalWire',
    header: 'X-SignalWire-Signature',
    delivery: (params = PARAMS) => ({
      signature: sign(SIGNING_KEY, SIGNALWIRE_URL, params),
      url: SIGNALWIRE_URL,
      params,
    }),
    validate: (d, replayGuard) =>
      validateSignalWireSignature({
        signingKey: SIGNING_KEY,
        ...d,
        ...(replayGuard === undefined ? {} : { replayGuard }),
      }),
    assert: (d, replayGuard) =>
      assertSignalWireSignature({
        signingKey: SIGNING_KEY,
        ...d,
        ...(replayGuard === undefined ? {} : { replayGuard }),
      }),
  },
];

describe.each(checks)('$name webhook signature with a replayGuard', ({ header, delivery, validate, assert }) => {
  it('accepts a valid delivery once and refuses it again as replayed, with a WebhookSignatureError', async () => {
    const replayGuard = new ReplayGuard();
    const first = delivery();
    await expect(assert(first, replayGuard)).resolves.toBeUndefined();
    const replay = assert(first, replayGuard);
    await expect(replay).rejects.toBeInstanceOf(WebhookSignatureError);
    await expect(replay).rejects.toThrow(/replayed/);
    await expect(assert(first, replayGuard)).rejects.toThrow(new RegExp(`^${header} was already accepted`));
    // Another delivery (another status of the same call) is its own signature and goes through.
    await expect(assert(delivery({ ...PARAMS, CallStatus: 'in-progress' }), replayGuard)).resolves.toBeUndefined();
  });

  it('refuses a tampered delivery as a mismatch without remembering it', async () => {
    const replayGuard = new ReplayGuard();
    const genuine = delivery();
    const tampered = { ...genuine, params: { ...PARAMS, To: '+15559999999' } };
    await expect(assert(tampered, replayGuard)).rejects.toThrow(/does not match/);
    await expect(assert({ ...genuine, signature: 'AAAA' }, replayGuard)).rejects.toThrow(/does not match/);
    await expect(assert({ ...genuine, signature: '' }, replayGuard)).rejects.toThrow(/missing/);
    // Nothing forged reached the guard: the genuine delivery still verifies, once.
    await expect(assert(genuine, replayGuard)).resolves.toBeUndefined();
    await expect(assert(genuine, replayGuard)).rejects.toThrow(/replayed/);
  });

  it('refuses a stale delivery replayed later within the TTL, and accepts it after the TTL', async () => {
    const clock = manualClock();
    const replayGuard = new ReplayGuard({ ttlMs: 10 * 60_000, store: new MemoryNonceStore({ now: clock.now }) });
    const captured = delivery();
    await assert(captured, replayGuard);
    clock.advance(10 * 60_000 - 1);
    await expect(assert(captured, replayGuard)).rejects.toThrow(/replayed/);
    clock.advance(1);
    // Past the TTL the guard no longer knows it: the TTL is what bounds the protection.
    await expect(assert(captured, replayGuard)).resolves.toBeUndefined();
  });

  it('makes validate return false for a replay, and stays stateless without a guard', async () => {
    const replayGuard = new ReplayGuard();
    const first = delivery();
    expect(await validate(first, replayGuard)).toBe(true);
    expect(await validate(first, replayGuard)).toBe(false);
    expect(await validate(first)).toBe(true);
    expect(await validate(first)).toBe(true);
  });

  it('lets the carrier retry through once the application forgets a delivery it failed to handle', async () => {
    const replayGuard = new ReplayGuard();
    const first = delivery();
    await assert(first, replayGuard);
    // Handling failed (say the database was down): forget it, keyed by the signature header.
    await replayGuard.forget(first.signature);
    // The carrier's retry: same URL, same parameters, same signature.
    await expect(assert({ ...first }, replayGuard)).resolves.toBeUndefined();
    await expect(assert({ ...first }, replayGuard)).rejects.toThrow(/replayed/);
  });

  it('refuses a replayGuard that is not one with a ConfigError', async () => {
    await expect(assert(delivery(), {} as ReplayGuard)).rejects.toBeInstanceOf(ConfigError);
    await expect(validate(delivery(), null as unknown as ReplayGuard)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('replay guard shared by the Twilio and SignalWire endpoints', () => {
  it('keeps each carrier’s deliveries apart and is re-exported by @switchboard/twilio', async () => {
    expect(ReExportedReplayGuard).toBe(ReplayGuard);
    const replayGuard = new ReExportedReplayGuard({ keyPrefix: 'webhooks:' });
    for (const { delivery, assert } of checks) await expect(assert(delivery(), replayGuard)).resolves.toBeUndefined();
    for (const { delivery, assert } of checks)
      await expect(assert(delivery(), replayGuard)).rejects.toThrow(/replayed/);
  });
});

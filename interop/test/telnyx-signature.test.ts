/**
 * Telnyx webhook signatures (Ed25519 over `${telnyx-timestamp}|${raw body}`) against the `telnyx`
 * SDK's verifier (`client.webhooks.unwrap`, which checks the signature and a 300 s window).
 *
 * Only Telnyx holds the private key, so neither the SDK nor we can sign as Telnyx: the test makes
 * a key pair, signs deliveries with it the way Telnyx documents, and asks both verifiers. What one
 * accepts the other must accept, and tampered, stale and foreign-key deliveries are refused by
 * both. The few inputs where the two differ on purpose are listed at the end, with why.
 */
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import Telnyx from 'telnyx';
import { describe, expect, it } from 'vitest';
import { readTelnyxWebhookVerdict, validateTelnyxWebhook } from '@switchboard/telnyx';

const encoder = new TextEncoder();
const b64 = (bytes: ArrayBuffer | Uint8Array) =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('base64');

type Signer = { publicKey: string; sign(timestamp: string, body: string): Promise<string> };

async function signer(): Promise<Signer> {
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = b64(await crypto.subtle.exportKey('raw', keys.publicKey));
  return {
    publicKey,
    sign: async (timestamp, body) =>
      b64(await crypto.subtle.sign('Ed25519', keys.privateKey, encoder.encode(`${timestamp}|${body}`))),
  };
}

/** The SDK's verdict: the parsed event, or the error it threw. */
async function sdkAccepts(publicKey: string, body: string, headers: Record<string, string>): Promise<boolean> {
  const client = new Telnyx({ apiKey: 'KEY_interop', publicKey });
  try {
    await client.webhooks.unwrap(body, { headers });
    return true;
  } catch (error) {
    // Anything but the SDK's own verification error would be a broken test, not a verdict.
    expect((error as Error).name).toBe('TelnyxWebhookVerificationError');
    return false;
  }
}

async function oursAccepts(publicKey: string, body: string, headers: Record<string, string>): Promise<boolean> {
  return validateTelnyxWebhook({
    publicKey,
    body,
    signature: headers['telnyx-signature-ed25519'],
    timestamp: headers['telnyx-timestamp'],
  });
}

const BODY =
  '{"data":{"event_type":"call.initiated","id":"0ccc7b54-4df3-4bca-a65a-3da1ecc777f0","occurred_at":"2026-12-01T10:00:00.000000Z",' +
  '"payload":{"call_control_id":"v3:abc","from":"+13125550100","to":"+13125550199","direction":"incoming"},"record_type":"event"},"meta":{"attempt":1}}';

const nowSeconds = () => String(Math.floor(Date.now() / 1000));

describe('Telnyx webhook signatures against telnyx (SDK) webhooks.unwrap', () => {
  it('a delivery signed the way Telnyx documents passes both verifiers; tampering fails both', async () => {
    const key = await signer();
    const timestamp = nowSeconds();
    const signature = await key.sign(timestamp, BODY);
    const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp };
    expect(await sdkAccepts(key.publicKey, BODY, headers)).toBe(true);
    expect(await oursAccepts(key.publicKey, BODY, headers)).toBe(true);
    // Headers as a framework may spell them: both look them up case-insensitively.
    const spelled = { 'Telnyx-Signature-Ed25519': signature, 'Telnyx-Timestamp': timestamp };
    expect(await sdkAccepts(key.publicKey, BODY, spelled)).toBe(true);
    expect(await readTelnyxWebhookVerdict({ publicKey: key.publicKey, body: BODY, signature, timestamp })).toEqual({
      valid: true,
    });

    const other = await signer();
    const refused: Array<[string, string, Record<string, string>, string]> = [
      ['a changed body', BODY.replace('incoming', 'outgoing'), headers, key.publicKey],
      ['a body with a trailing newline', `${BODY}\n`, headers, key.publicKey],
      [
        'another timestamp, within the window',
        BODY,
        { ...headers, 'telnyx-timestamp': String(Number(timestamp) - 1) },
        key.publicKey,
      ],
      ['another key', BODY, headers, other.publicKey],
      ['no signature', BODY, { 'telnyx-timestamp': timestamp }, key.publicKey],
      ['no timestamp', BODY, { 'telnyx-signature-ed25519': signature }, key.publicKey],
      [
        'a signature of 63 bytes',
        BODY,
        { ...headers, 'telnyx-signature-ed25519': b64(Buffer.from(signature, 'base64').subarray(1)) },
        key.publicKey,
      ],
      ['a timestamp that is not seconds', BODY, { ...headers, 'telnyx-timestamp': `${timestamp}.5` }, key.publicKey],
    ];
    for (const [what, body, h, publicKey] of refused) {
      expect([what, await sdkAccepts(publicKey, body, h)]).toEqual([what, false]);
      expect([what, await oursAccepts(publicKey, body, h)]).toEqual([what, false]);
    }
  });

  it('stale and future deliveries, correctly signed, are refused by both (300 s window)', async () => {
    const key = await signer();
    for (const offset of [-3600, -400, 400, 3600]) {
      const timestamp = String(Math.floor(Date.now() / 1000) + offset);
      const headers = { 'telnyx-signature-ed25519': await key.sign(timestamp, BODY), 'telnyx-timestamp': timestamp };
      expect([offset, await sdkAccepts(key.publicKey, BODY, headers)]).toEqual([offset, false]);
      expect([
        offset,
        await readTelnyxWebhookVerdict({
          publicKey: key.publicKey,
          body: BODY,
          signature: headers['telnyx-signature-ed25519'],
          timestamp,
        }),
      ]).toEqual([offset, { valid: false, reason: 'stale' }]);
    }
    // Well inside the window on either side: both accept (the windows agree, ±300 s).
    for (const offset of [-200, 200]) {
      const timestamp = String(Math.floor(Date.now() / 1000) + offset);
      const headers = { 'telnyx-signature-ed25519': await key.sign(timestamp, BODY), 'telnyx-timestamp': timestamp };
      expect([offset, await sdkAccepts(key.publicKey, BODY, headers)]).toEqual([offset, true]);
      expect([offset, await oursAccepts(key.publicKey, BODY, headers)]).toEqual([offset, true]);
    }
  });

  it('any body (unicode included) signed with the key verifies in both, and one changed character fails both', async () => {
    const key = await signer();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.nat(), async (text, at) => {
        // unwrap parses the body once it verified, so the body is JSON (any text inside).
        const body = JSON.stringify({ data: { event_type: 'call.dtmf.received', payload: { text } } });
        const timestamp = nowSeconds();
        const headers = { 'telnyx-signature-ed25519': await key.sign(timestamp, body), 'telnyx-timestamp': timestamp };
        expect(await sdkAccepts(key.publicKey, body, headers)).toBe(true);
        expect(await oursAccepts(key.publicKey, body, headers)).toBe(true);
        // The same body as bytes (as a raw-body middleware hands it over) verifies too.
        expect(
          await validateTelnyxWebhook({
            publicKey: key.publicKey,
            body: encoder.encode(body),
            signature: headers['telnyx-signature-ed25519'],
            timestamp,
          }),
        ).toBe(true);
        const chars = [...body, 'x'];
        const i = at % chars.length;
        chars[i] = chars[i] === 'y' ? 'z' : 'y';
        const tampered = chars.join('');
        expect(await sdkAccepts(key.publicKey, tampered, headers)).toBe(false);
        expect(await oursAccepts(key.publicKey, tampered, headers)).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it('where the two differ, on purpose: the same signature and timestamp, written loosely', async () => {
    // A proxy or a hand-built Headers object may leave whitespace around a value, and some
    // base64 writers drop the padding. The SDK refuses these headers outright; we read the same
    // digits and the same 64 signature bytes and verify them. Safe: the signed text and the
    // signature are unchanged, only their spelling is.
    const key = await signer();
    const timestamp = nowSeconds();
    const signature = await key.sign(timestamp, BODY);
    const loose: Array<[string, Record<string, string>]> = [
      [
        'a timestamp with whitespace around it',
        { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': ` ${timestamp} ` },
      ],
      [
        'a signature with whitespace around it',
        { 'telnyx-signature-ed25519': ` ${signature} `, 'telnyx-timestamp': timestamp },
      ],
      [
        'a signature without base64 padding',
        { 'telnyx-signature-ed25519': signature.replace(/=+$/, ''), 'telnyx-timestamp': timestamp },
      ],
    ];
    for (const [what, headers] of loose) {
      expect([what, await sdkAccepts(key.publicKey, BODY, headers)]).toEqual([what, false]);
      expect([what, await oursAccepts(key.publicKey, BODY, headers)]).toEqual([what, true]);
    }
    // Spellings that change what is signed stay refused by both: a timestamp with a sign or a
    // leading zero is not the text Telnyx signed.
    for (const odd of [`+${timestamp}`, `0${timestamp}`]) {
      const headers = { 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': odd };
      expect([odd, await sdkAccepts(key.publicKey, BODY, headers)]).toEqual([odd, false]);
      expect([odd, await oursAccepts(key.publicKey, BODY, headers)]).toEqual([odd, false]);
    }
  });
});

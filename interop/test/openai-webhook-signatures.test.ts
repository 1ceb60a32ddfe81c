/**
 * OpenAI webhook signatures (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature
 * `v1,<base64 HMAC-SHA256>`) held against the `openai` SDK's own verifier,
 * `client.webhooks.verifySignature` / `unwrap`.
 *
 * Both directions: every delivery our test signer produces (packages/sip/test/openai-fakes.ts)
 * is judged by the SDK (`unwrap`: verify, then parse) and by `assertOpenAIWebhook`, and the two
 * verdicts must match: the SDK accepting means we accept; the SDK refusing the signature means a
 * 401 from us; a verified body that is not JSON is the SDK's SyntaxError and our ProtocolError;
 * headers the SDK cannot read at all are our 400. The few cases where we are stricter on purpose
 * are in their own block below, each with its reason.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import OpenAI, { InvalidWebhookSignatureError } from 'openai';
import type { RealtimeCallIncomingWebhookEvent, UnwrapWebhookEvent } from 'openai/resources/webhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  OpenAIWebhookSignatureError,
  parseOpenAISipCall,
  assertOpenAIWebhook,
  type OpenAISipCall,
  type OpenAIWebhookEvent,
  type OpenAIWebhookHeaders,
} from '@switchboard/sip';
import { incomingCallEvent, sign, signingKey } from '../../packages/sip/test/openai-fakes.js';

const SECRET = `whsec_${Buffer.from('interop-webhook-secret-0123456789').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('the-secret-before-rotation-98765').toString('base64')}`;
const sdk = new OpenAI({ apiKey: 'sk-interop-unused', webhookSecret: SECRET });

/** `not-json`: the signature verified, and `unwrap` then failed to parse the body. */
type SdkVerdict = 'accepted' | 'rejected' | 'not-json' | 'error';
type OurVerdict = 'accepted' | 401 | 400 | 'protocol-error' | 'other';

async function sdkVerdict(
  body: string,
  headers: OpenAIWebhookHeaders,
  secret: string,
  tolerance = 300,
): Promise<SdkVerdict> {
  try {
    await sdk.webhooks.unwrap(body, headers as Record<string, string>, secret, tolerance);
    return 'accepted';
  } catch (error) {
    if (error instanceof InvalidWebhookSignatureError) return 'rejected';
    return error instanceof SyntaxError ? 'not-json' : 'error';
  }
}

async function ourVerdict(
  body: string | Uint8Array,
  headers: OpenAIWebhookHeaders,
  secret: string,
  tolerance = 300,
): Promise<{ verdict: OurVerdict; webhookId?: string }> {
  try {
    const verified = await assertOpenAIWebhook(body, headers, { secret, toleranceSeconds: tolerance });
    return { verdict: 'accepted', webhookId: verified.webhookId };
  } catch (error) {
    if (error instanceof OpenAIWebhookSignatureError) return { verdict: error.status };
    if ((error as { code?: unknown })?.code === 'webhook_invalid_body') return { verdict: 'protocol-error' };
    return { verdict: 'other' };
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const eventBody = (callId = 'rtc_interop_1') => JSON.stringify(incomingCallEvent(callId));

function headersFor(id: string, timestamp: number | string, signature: string): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('our signer -> the openai SDK verifier, and the SDK verdict -> ours', () => {
  type Case = {
    name: string;
    body: string;
    /** What our verifier is handed (default: the same text). */
    ourBody?: string | Uint8Array;
    headers: OpenAIWebhookHeaders;
    secret?: string;
    tolerance?: number;
    sdk: SdkVerdict;
    ours: OurVerdict;
  };

  const cases = (): Case[] => {
    const ts = nowSeconds();
    const body = eventBody();
    const good = sign(SECRET, 'msg_1', ts, body);
    const old = sign(OLD_SECRET, 'msg_1', ts, body);
    const rawSecret = 'a-secret-without-the-whsec-prefix';
    const bomBody = `\uFEFF${body}`;
    const padded = sign(SECRET, 'msg_pad', ts, body);
    const headersObject = new Headers({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts) });
    headersObject.append('webhook-signature', old);
    headersObject.append('webhook-signature', good);
    const forty = Array.from({ length: 39 }, (_, i) => sign(OLD_SECRET, `msg_${i}`, ts, body));
    return [
      {
        name: 'a correctly signed delivery',
        body,
        headers: headersFor('msg_1', ts, good),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'a secret without the whsec_ prefix (its UTF-8 bytes are the key)',
        body,
        headers: headersFor('msg_1', ts, sign(rawSecret, 'msg_1', ts, body)),
        secret: rawSecret,
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'a prefix-less secret read as base64 (the Standard Webhooks library reading) is not what OpenAI uses',
        body,
        headers: headersFor(
          'msg_1',
          ts,
          `v1,${createHmac('sha256', Buffer.from(rawSecret, 'base64')).update(`msg_1.${ts}.${body}`).digest('base64')}`,
        ),
        secret: rawSecret,
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'a tampered body',
        body: body.replace('rtc_interop_1', 'rtc_interop_2'),
        headers: headersFor('msg_1', ts, good),
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'the wrong secret',
        body,
        headers: headersFor('msg_1', ts, good),
        secret: OLD_SECRET,
        sdk: 'rejected',
        ours: 401,
      },
      { name: 'a tampered webhook-id', body, headers: headersFor('msg_2', ts, good), sdk: 'rejected', ours: 401 },
      { name: 'a tampered timestamp', body, headers: headersFor('msg_1', ts - 1, good), sdk: 'rejected', ours: 401 },
      {
        name: 'rotation: old and new signatures, new last',
        body,
        headers: headersFor('msg_1', ts, `${old} ${good}`),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'rotation: new and old signatures, new first',
        body,
        headers: headersFor('msg_1', ts, `${good} ${old}`),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'rotation: only the old secret signed',
        body,
        headers: headersFor('msg_1', ts, old),
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'an asymmetric v1a entry next to the v1 signature',
        body,
        headers: headersFor('msg_1', ts, `v1a,${Buffer.alloc(64, 7).toString('base64')} ${good}`),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'a signature without its v1, tag',
        body,
        headers: headersFor('msg_1', ts, good.slice(3)),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'an upper-case V1, tag',
        body,
        headers: headersFor('msg_1', ts, `V1,${good.slice(3)}`),
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'forty entries, the valid one last',
        body,
        headers: headersFor('msg_1', ts, [...forty, good].join(' ')),
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'forty entries, none valid',
        body,
        headers: headersFor('msg_1', ts, [...forty, old].join(' ')),
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'a signature that is not base64',
        body,
        headers: headersFor('msg_1', ts, 'v1,@@@@ v1,'),
        sdk: 'rejected',
        ours: 401,
      },
      {
        name: 'repeated webhook-signature headers in a Headers object',
        body,
        headers: headersObject,
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'mixed-case header names',
        body,
        headers: { 'Webhook-Id': 'msg_1', 'WEBHOOK-TIMESTAMP': String(ts), 'Webhook-Signature': good },
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        // The mark is part of the signed text: the signature verifies, the JSON does not parse.
        name: 'a body starting with a byte-order mark, as text',
        body: bomBody,
        headers: headersFor('msg_1', ts, sign(SECRET, 'msg_1', ts, bomBody)),
        sdk: 'not-json',
        ours: 'protocol-error',
      },
      {
        name: 'the same body handed to us as bytes (the same verdict as the text)',
        body: bomBody,
        ourBody: new TextEncoder().encode(bomBody),
        headers: headersFor('msg_1', ts, sign(SECRET, 'msg_1', ts, bomBody)),
        sdk: 'not-json',
        ours: 'protocol-error',
      },
      {
        name: 'a signed body that is not JSON',
        body: 'not json',
        headers: headersFor('msg_1', ts, sign(SECRET, 'msg_1', ts, 'not json')),
        sdk: 'not-json',
        ours: 'protocol-error',
      },
      {
        name: 'header values with surrounding whitespace',
        body,
        headers: { 'webhook-id': ' msg_pad\t', 'webhook-timestamp': ` ${ts} `, 'webhook-signature': ` ${padded} ` },
        sdk: 'accepted',
        ours: 'accepted',
      },
      {
        name: 'no webhook-signature header',
        body,
        headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts) },
        sdk: 'error',
        ours: 400,
      },
    ];
  };

  it('agree on every case', async () => {
    const rows: string[] = [];
    for (const c of cases()) {
      const secret = c.secret ?? SECRET;
      const theirs = await sdkVerdict(c.body, c.headers, secret, c.tolerance);
      const ours = await ourVerdict(c.ourBody ?? c.body, c.headers, secret, c.tolerance);
      rows.push(`${c.name}: sdk ${theirs}, ours ${ours.verdict}`);
      expect.soft(theirs, `${c.name} (the SDK)`).toBe(c.sdk);
      expect.soft(ours.verdict, `${c.name} (ours)`).toBe(c.ours);
    }
    expect(rows).toHaveLength(cases().length);
  });

  it('repeated signature headers joined with ", " (as Node and Headers join them), on a runtime without Buffer', async () => {
    // Without a global Buffer (workerd, browsers) the SDK decodes base64 with atob, which refuses
    // the "=," a ", " join leaves on every entry but the last: given the joined value, the SDK
    // only finds a valid signature in the last place. We split such a value into its entries.
    const ts = nowSeconds();
    const body = eventBody();
    const good = sign(SECRET, 'msg_j', ts, body);
    const old = sign(OLD_SECRET, 'msg_j', ts, body);
    const joined = new Headers({ 'webhook-id': 'msg_j', 'webhook-timestamp': String(ts) });
    joined.append('webhook-signature', good);
    joined.append('webhook-signature', old);
    const nodeStyle = headersFor('msg_j', ts, `${good}, ${old}`);
    const saved = globalThis.Buffer;
    const verdicts: Array<[string, unknown]> = [];
    try {
      (globalThis as { Buffer?: unknown }).Buffer = undefined;
      for (const [name, headers] of [
        ['Headers', joined],
        ['Node', nodeStyle],
      ] as const) {
        verdicts.push([`sdk ${name}`, await sdkVerdict(body, headers, SECRET)]);
        verdicts.push([`ours ${name}`, (await ourVerdict(body, headers, SECRET)).verdict]);
      }
    } finally {
      globalThis.Buffer = saved;
    }
    expect(verdicts).toEqual([
      ['sdk Headers', 'rejected'],
      ['ours Headers', 'accepted'],
      ['sdk Node', 'rejected'],
      ['ours Node', 'accepted'],
    ]);
    // With Buffer (Node), the SDK's lenient base64 reads past the comma and accepts as well.
    expect(await sdkVerdict(body, nodeStyle, SECRET)).toBe('accepted');
  });

  it('return the webhook-id the SDK verified: whitespace around a header value is not part of it', async () => {
    const ts = nowSeconds();
    const body = eventBody();
    const headers = {
      'webhook-id': '  msg_ws ',
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(SECRET, 'msg_ws', ts, body),
    };
    expect(await sdkVerdict(body, headers, SECRET)).toBe('accepted');
    expect(await ourVerdict(body, headers, SECRET)).toEqual({ verdict: 'accepted', webhookId: 'msg_ws' });
  });

  it('draw the tolerance line where the SDK draws it (at the second, both ways, default 300 s)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T12:00:00Z'));
    const now = nowSeconds();
    const body = eventBody();
    for (const tolerance of [300, 10]) {
      for (const [offset, expected] of [
        [-tolerance, 'accepted'],
        [-tolerance - 1, 'rejected'],
        [tolerance, 'accepted'],
        [tolerance + 1, 'rejected'],
      ] as const) {
        const ts = now + offset;
        const headers = headersFor('msg_t', ts, sign(SECRET, 'msg_t', ts, body));
        const what = `timestamp ${offset >= 0 ? '+' : ''}${offset} s, tolerance ${tolerance} s`;
        expect.soft(await sdkVerdict(body, headers, SECRET, tolerance), what).toBe(expected);
        expect
          .soft((await ourVerdict(body, headers, SECRET, tolerance)).verdict, what)
          .toBe(expected === 'accepted' ? 'accepted' : 401);
      }
    }
    // Our default is the SDK's default.
    const stale = now - 301;
    const headers = headersFor('msg_d', stale, sign(SECRET, 'msg_d', stale, body));
    await expect(sdk.webhooks.unwrap(body, headers)).rejects.toBeInstanceOf(InvalidWebhookSignatureError);
    await expect(assertOpenAIWebhook(body, headers, { secret: SECRET })).rejects.toMatchObject({ status: 401 });
  });

  it('agree on random deliveries, and on any one-character change to a signed body (property)', async () => {
    const secretArb = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 48 }).map((b) => `whsec_${Buffer.from(b).toString('base64')}`),
      fc
        .string({ unit: 'grapheme-ascii', minLength: 8, maxLength: 40 })
        .filter((s) => !s.startsWith('whsec_') && s.trim() === s && s.length > 0),
    );
    await fc.assert(
      fc.asyncProperty(
        secretArb,
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).map((s) => `msg_${s.replace(/[\s]/g, '_')}`),
        fc.integer({ min: -299, max: 299 }),
        fc.jsonValue(),
        fc.nat(),
        async (secret, id, offset, data, position) => {
          const ts = nowSeconds() + offset;
          const body = JSON.stringify({ object: 'event', id: 'evt_p', type: 'batch.completed', created_at: ts, data });
          const headers = headersFor(id, ts, sign(secret, id, ts, body));
          expect(await sdkVerdict(body, headers, secret)).toBe('accepted');
          expect((await ourVerdict(body, headers, secret)).verdict).toBe('accepted');
          expect((await ourVerdict(new TextEncoder().encode(body), headers, secret)).verdict).toBe('accepted');

          const at = position % body.length;
          const changed = body.slice(0, at) + (body[at] === 'x' ? 'y' : 'x') + body.slice(at + 1);
          expect(await sdkVerdict(changed, headers, secret)).toBe('rejected');
          expect((await ourVerdict(changed, headers, secret)).verdict).toBe(401);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('where we are stricter than the SDK on purpose', () => {
  it('an empty webhook-id: the SDK then signs `timestamp.body` and accepts; we answer 400', async () => {
    // OpenAI always sends a webhook-id, and it is what retries of one delivery are recognised by
    // (de-duplication). A delivery without one cannot be de-duplicated, so it is refused.
    const ts = nowSeconds();
    const body = eventBody();
    const signature = `v1,${createHmac('sha256', signingKey(SECRET)).update(`${ts}.${body}`).digest('base64')}`;
    const headers = headersFor('', ts, signature);
    expect(await sdkVerdict(body, headers, SECRET)).toBe('accepted');
    expect((await ourVerdict(body, headers, SECRET)).verdict).toBe(400);
  });

  it('a timestamp with trailing characters: the SDK reads its numeric prefix and accepts; we answer 400', async () => {
    // Standard Webhooks timestamps are integer Unix seconds. `1700000000abc` or `1700000000.5`
    // is not something OpenAI sends; reading a prefix of it would let the checked time and the
    // signed text differ.
    const body = eventBody();
    for (const suffix of ['abc', '.5', 'e3']) {
      const ts = `${nowSeconds()}${suffix}`;
      const headers = headersFor('msg_s', ts, sign(SECRET, 'msg_s', ts, body));
      expect.soft(await sdkVerdict(body, headers, SECRET), suffix).toBe('accepted');
      expect.soft((await ourVerdict(body, headers, SECRET)).verdict, suffix).toBe(400);
    }
  });
});

describe('the realtime.call.incoming event, typed by the SDK', () => {
  // Compile-time: a sample written against the SDK's declaration, and our fake's events, are that type.
  const sample = {
    object: 'event',
    id: 'evt_68f2c7ab31a48190',
    type: 'realtime.call.incoming',
    created_at: 1_760_000_000,
    data: {
      call_id: 'rtc_c3b9c0f2a1d24c7f',
      sip_headers: [
        { name: 'From', value: '"Ada" <sip:+15551230001@pstn.example.net>;tag=x1' },
        { name: 'To', value: '<sip:+15559870002@sip.api.openai.com>' },
        { name: 'Call-ID', value: 'dlg-77@10.0.0.7' },
        { name: 'X-Account', value: 'acme' },
      ],
      sip_media_security: 'srtp',
    },
  } satisfies RealtimeCallIncomingWebhookEvent;
  const fromFake: RealtimeCallIncomingWebhookEvent = incomingCallEvent('rtc_fake');
  // Our types hold the SDK's: every event `unwrap` returns is an OpenAIWebhookEvent, and the
  // call's `event` is exactly the SDK's incoming-call event.
  const asOurs = (event: UnwrapWebhookEvent): OpenAIWebhookEvent => event;
  type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
  const eventTypeIsTheSdks: Same<
    OpenAISipCall['event'],
    Extract<UnwrapWebhookEvent, { type: 'realtime.call.incoming' }>
  > = true;

  it('what the SDK unwraps, parseOpenAISipCall reads: call id, SIP headers, media security', async () => {
    expect(eventTypeIsTheSdks).toBe(true);
    expect(fromFake.data.call_id).toBe('rtc_fake');
    const ts = nowSeconds();
    const body = JSON.stringify(sample);
    const headers = headersFor('msg_e', ts, sign(SECRET, 'msg_e', ts, body));
    const unwrapped = await sdk.webhooks.unwrap(body, headers);
    expect(unwrapped.type).toBe('realtime.call.incoming');
    const ours = await assertOpenAIWebhook(body, headers, { secret: SECRET });
    expect(ours.event).toEqual(unwrapped);

    const call = parseOpenAISipCall(asOurs(unwrapped), 'msg_e');
    expect(call).toMatchObject({
      callId: sample.data.call_id,
      eventId: sample.id,
      createdAt: sample.created_at,
      sipCallId: 'dlg-77@10.0.0.7',
      customHeaders: { 'X-Account': 'acme' },
      mediaSecurity: 'srtp',
      sipHeaders: sample.data.sip_headers,
    });
    expect(call.from?.uri).toBe('sip:+15551230001@pstn.example.net');
    expect(call.event).toEqual(sample);
  });
});

import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  validateVonageWebhook,
  readVonageAuthorization,
  assertVonageWebhook,
  type ValidateVonageWebhookOptions,
  type VonageWebhookHeaders,
} from '../src/index.js';

const SECRET = 'signature-secret-of-the-account';
const NOW_S = 1_760_000_000;
const now = () => NOW_S * 1000;
const BODY = '{"uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356","status":"answered"}';
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function bearer(payload: string): string {
  const claims = { iat: NOW_S - 2, payload_hash: createHash('sha256').update(payload).digest('hex') };
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}`;
  return `Bearer ${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

describe('Vonage checks on what a request can carry', () => {
  it('answers false (assert: WebhookSignatureError) for a missing, non-string or wrongly signed Authorization', async () => {
    const good = bearer(BODY);
    const forged = good.slice(0, good.lastIndexOf('.') + 1) + 'A'.repeat(43);
    const cases: Array<Record<string, unknown>> = [
      {},
      { headers: {} },
      { headers: { authorization: 42 } },
      { headers: { authorization: [null] } },
      { headers: 'Bearer x' },
      { authorization: forged },
      { headers: { Authorization: forged } },
    ];
    for (const extra of cases) {
      const options = { signatureSecret: SECRET, body: BODY, now, ...extra } as ValidateVonageWebhookOptions;
      expect(await validateVonageWebhook(options)).toBe(false);
      await expect(assertVonageWebhook(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
    expect(
      await validateVonageWebhook({ signatureSecret: SECRET, headers: { Authorization: good }, body: BODY, now }),
    ).toBe(true);
  });

  it('answers invalid for a body that is not a string or bytes, instead of hashing "[object Object]"', async () => {
    const authorization = bearer(BODY);
    for (const body of [JSON.parse(BODY), null, 42, [BODY], new ArrayBuffer(2)]) {
      const options = { signatureSecret: SECRET, authorization, body: body as string, now };
      expect(await validateVonageWebhook(options)).toBe(false);
      await expect(assertVonageWebhook(options)).rejects.toThrow(WebhookSignatureError);
      await expect(assertVonageWebhook(options)).rejects.toThrow(/not the raw request body/);
    }
    expect(await validateVonageWebhook({ signatureSecret: SECRET, authorization, body: BODY, now })).toBe(true);
  });

  it('answers invalid for a query that is null, a string or an array, and never throws a TypeError for it', async () => {
    const authorization = bearer('{"a":"1"}');
    for (const query of [null, 'a=1', [['a', '1']], 42]) {
      const options = {
        signatureSecret: SECRET,
        authorization,
        query: query as unknown as Record<string, string>,
        now,
      };
      expect(await validateVonageWebhook(options)).toBe(false);
      await expect(assertVonageWebhook(options)).rejects.toBeInstanceOf(WebhookSignatureError);
    }
    expect(await validateVonageWebhook({ signatureSecret: SECRET, authorization, query: { a: '1' }, now })).toBe(true);
    expect(
      await validateVonageWebhook({ signatureSecret: SECRET, authorization, query: new URLSearchParams('a=1'), now }),
    ).toBe(true);
  });

  it('reads a query value of another JSON type as its JSON, and one that is not JSON as no match', async () => {
    const authorization = bearer('{"a":["1","2"]}');
    expect(
      await validateVonageWebhook({
        signatureSecret: SECRET,
        authorization,
        query: { a: ['1', '2'] } as unknown as Record<string, string>,
        now,
      }),
    ).toBe(true);
    expect(
      await validateVonageWebhook({
        signatureSecret: SECRET,
        authorization,
        query: { a: undefined } as unknown as Record<string, string>,
        now,
      }),
    ).toBe(false);
  });

  it('reads header maps that are not objects, or an Authorization that is not a string, as unsigned', async () => {
    for (const headers of [null, 42, 'Bearer x', { authorization: 42 }, { authorization: [Object.create(null)] }]) {
      expect(readVonageAuthorization(headers as VonageWebhookHeaders)).toBeUndefined();
      const options: ValidateVonageWebhookOptions = {
        signatureSecret: SECRET,
        headers: headers as VonageWebhookHeaders,
        body: BODY,
        now,
      };
      await expect(assertVonageWebhook(options)).rejects.toThrow(/missing Authorization/);
    }
  });

  it('keeps ConfigError for the developer’s own mistakes: no secret, no body or query at all, a clock that is not a function', async () => {
    const authorization = bearer(BODY);
    await expect(assertVonageWebhook({ signatureSecret: '', authorization, body: BODY })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(assertVonageWebhook({ signatureSecret: SECRET, authorization, now })).rejects.toBeInstanceOf(
      ConfigError,
    );
    await expect(
      validateVonageWebhook({ signatureSecret: SECRET, authorization, body: BODY, now: 1 as unknown as () => number }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertSignalWireSignature,
  assertSignalWireStreamAuthorization,
  assertTwilioSignature,
  assertTwilioWebSocketUpgrade,
  computeTwilioSignature,
  readTwilioMachineDetection,
  TwilioCallControl,
  TwilioWarmTransfer,
  validateSignalWireSignature,
  validateSignalWireStreamAuthorization,
  validateTwilioSignature,
  validateTwilioWebSocketUpgrade,
  type TwilioHeaders,
  type TwilioSignedParams,
} from '../src/index.js';
import {
  FUZZ_RUNS,
  anyHeaders,
  anyParams,
  anySignature,
  anyUrl,
  expectInvalid,
  jsonObject,
} from '@switchboard/test-kit/webhook-fuzz';

const TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';
const SIGNATURE_HEADERS = ['x-twilio-signature', 'x-signalwire-signature', 'authorization'];

/** Form parameters as Twilio sends them: names and values any text, a name possibly repeated. */
const formParams = jsonObject(fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1, maxLength: 3 })));

describe('fuzz: Twilio and SignalWire verifiers answer invalid, never anything else', () => {
  it('validateTwilioSignature / assertTwilioSignature with any signature, URL and parameters', async () => {
    await fc.assert(
      fc.asyncProperty(anySignature, anyUrl, anyParams, async (signature, url, params) => {
        const options = {
          authToken: TOKEN,
          signature: signature as string,
          url: url as string,
          params: params as TwilioSignedParams,
        };
        await expectInvalid(() => validateTwilioSignature(options));
        await expectInvalid(() => assertTwilioSignature(options));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('the media upgrade checks with any headers and URL', async () => {
    await fc.assert(
      fc.asyncProperty(anyHeaders(SIGNATURE_HEADERS), anyUrl, async (headers, url) => {
        const options = { authToken: TOKEN, headers: headers as TwilioHeaders, url: url as string };
        await expectInvalid(() => validateTwilioWebSocketUpgrade(options));
        await expectInvalid(() => assertTwilioWebSocketUpgrade(options));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('SignalWire signatures and the stream Authorization with any input', async () => {
    await fc.assert(
      fc.asyncProperty(
        anySignature,
        anyUrl,
        anyParams,
        anyHeaders(SIGNATURE_HEADERS),
        async (signature, url, params, headers) => {
          const options = {
            signingKey: TOKEN,
            signature: signature as string,
            url: url as string,
            params: params as TwilioSignedParams,
          };
          await expectInvalid(() => validateSignalWireSignature(options));
          await expectInvalid(() => assertSignalWireSignature(options));
          const auth = { bearerToken: TOKEN, headers: headers as TwilioHeaders };
          await expectInvalid(() => validateSignalWireStreamAuthorization(auth));
          await expectInvalid(() => assertSignalWireStreamAuthorization(auth));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: signed requests still verify', () => {
  it('a webhook signed for any URL and form parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true }),
        formParams,
        fc.boolean(),
        async (url, params, asSearchParams) => {
          const signature = await computeTwilioSignature(TOKEN, url, params);
          const given: TwilioSignedParams = asSearchParams
            ? new URLSearchParams(
                Object.entries(params).flatMap(([name, value]) =>
                  typeof value === 'string' ? [[name, value]] : value.map((v) => [name, v]),
                ),
              )
            : params;
          expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, params: given })).toBe(true);
          expect(await validateSignalWireSignature({ signingKey: TOKEN, signature, url, params: given })).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('an upgrade whose signature header sits among any other headers, in any letter case', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl().map((u) => u.replace(/^https?:/, 'wss:')),
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
          fc.oneof(fc.string(), fc.integer(), fc.array(fc.string())),
        ),
        fc.constantFrom('x-twilio-signature', 'X-Twilio-Signature', 'X-TWILIO-SIGNATURE'),
        async (url, others, name) => {
          const signature = await computeTwilioSignature(TOKEN, url);
          const { ['x-twilio-signature']: _signature, authorization: _authorization, ...rest } = others;
          const headers = { ...rest, [name]: signature } as TwilioHeaders;
          expect(await validateTwilioWebSocketUpgrade({ authToken: TOKEN, headers, url })).toBe(true);
          expect(
            validateSignalWireStreamAuthorization({
              bearerToken: TOKEN,
              headers: { ...rest, Authorization: `Bearer ${TOKEN}` } as TwilioHeaders,
            }),
          ).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: the call-feature callbacks read any request without throwing', () => {
  const CALL = 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701';
  const ANSWERS = ['human', 'machine_start', 'machine_end_beep', 'fax', 'unknown', 'robot', ''];

  it('readTwilioMachineDetection returns undefined or an event of the call it names', () => {
    const likely = jsonObject(
      fc.oneof(fc.constantFrom(CALL, ...ANSWERS, '2500', '-1', 'x'.repeat(5000)), fc.string()),
      fc.constantFrom('CallSid', 'AnsweredBy', 'MachineDetectionDuration', '__proto__', 'constructor'),
    );
    fc.assert(
      fc.property(fc.oneof(anyParams, likely), (params) => {
        const event = readTwilioMachineDetection(params as never);
        if (event === undefined) return;
        expect(event.type).toBe('machine_detection');
        expect(event.callId).toMatch(/^CA[0-9a-fA-F]{32}$|^[0-9a-fA-F-]{36}$/);
        expect(['human', 'machine', 'fax', 'unknown']).toContain(event.answeredBy);
        expect(JSON.stringify(event.raw).length).toBeLessThan(100_000);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('TwilioWarmTransfer.handleStatus answers ignored for anything not its own, without a request', async () => {
    let requests = 0;
    const callControl = new TwilioCallControl({
      accountSid: 'AC25e16e9a716a4a1786a7c83f58e30482',
      authToken: TOKEN,
      fetch: async () => {
        requests++;
        return new Response('{}', { status: 200 });
      },
    });
    const warm = new TwilioWarmTransfer({
      callControl,
      from: '+15550000000',
      statusCallback: 'https://app.example.com/warm',
    });
    await fc.assert(
      fc.asyncProperty(anyUrl, anyParams, async (url, params) => {
        const update = await warm.handleStatus(url as string, params as never);
        expect(update).toEqual({ outcome: 'ignored' });
      }),
      { numRuns: FUZZ_RUNS },
    );
    expect(requests).toBe(0);
  });
});

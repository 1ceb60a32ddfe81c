import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PlivoReplayGuard,
  assertPlivoSignatureV3,
  computePlivoSignatureV3,
  readPlivoMachineDetection,
  readPlivoSignatureHeaders,
  readPlivoTransfer,
  validatePlivoSignatureV3,
  type PlivoHeaders,
  type PlivoSignedParams,
} from '../src/index.js';
import {
  FUZZ_RUNS,
  anyHeaders,
  anyMethod,
  anyParams,
  anySignature,
  anyUrl,
  anyValue,
  expectInvalid,
  jsonObject,
} from '@switchboard/test-kit/webhook-fuzz';

const TOKEN = 'ZWI3ZGU0ZjM2NTljZTk1ZWE5NGE0OGE0MDBiNDE3';
const HEADERS = ['x-plivo-signature-v3', 'x-plivo-signature-ma-v3', 'x-plivo-signature-v3-nonce'];

describe('fuzz: Plivo V3 verifiers answer invalid, never anything else', () => {
  it('validatePlivoSignatureV3 / assertPlivoSignatureV3 with any method, URL, parameters, nonce and signature', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyMethod,
        anyUrl,
        anyParams,
        fc.oneof(fc.string(), anyValue),
        anySignature,
        async (method, url, params, nonce, signature) => {
          const options = {
            authToken: TOKEN,
            method: method as string,
            url: url as string,
            params: params as PlivoSignedParams,
            nonce: nonce as string,
            signature: signature as string,
          };
          await expectInvalid(() => validatePlivoSignatureV3(options));
          await expectInvalid(() => assertPlivoSignatureV3({ ...options, replayGuard: new PlivoReplayGuard() }));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('headers read from any map feed the check without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(anyHeaders(HEADERS), anyUrl, async (headers, url) => {
        const read = readPlivoSignatureHeaders(headers as PlivoHeaders);
        for (const value of Object.values(read)) expect(value === undefined || typeof value === 'string').toBe(true);
        await expectInvalid(() =>
          validatePlivoSignatureV3({
            authToken: TOKEN,
            method: 'POST',
            url: url as string,
            nonce: read.nonce,
            signature: read.signature,
          }),
        );
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz: signed requests still verify', () => {
  it('a GET or POST signed for any URL, parameters and nonce, the method in any case, among other signatures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.webUrl({ withQueryParameters: true }),
        fc.constantFrom('GET', 'POST', 'get', 'post'),
        jsonObject(fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1, maxLength: 3 }))),
        fc.string({ minLength: 1, maxLength: 40 }).filter((n) => n.trim().length > 0),
        fc.array(fc.base64String({ minLength: 4, maxLength: 44 }), { maxLength: 2 }),
        async (url, method, params, nonce, others) => {
          const signature = await computePlivoSignatureV3({ authToken: TOKEN, method, url, params, nonce });
          const header = [...others, signature].join(', ');
          expect(
            await validatePlivoSignatureV3({ authToken: TOKEN, method, url, params, nonce, signature: header }),
          ).toBe(true);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('readPlivoMachineDetection reads any parameters as a result or nothing, never throwing', () => {
    const callbackLike = jsonObject(
      fc.oneof(fc.string(), anyValue),
      fc.constantFrom('Machine', 'CallUUID', 'Event', 'IfMachine', '__proto__', 'constructor'),
    );
    fc.assert(
      fc.property(fc.oneof(anyParams, callbackLike), (params) => {
        const event = readPlivoMachineDetection(params as URLSearchParams);
        if (event === undefined) return;
        expect(typeof event.callId).toBe('string');
        expect(event.callId.length).toBeGreaterThan(0);
        expect(['machine', 'human']).toContain(event.answeredBy);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('readPlivoTransfer reads any URL or query as a target or nothing, never throwing', () => {
    fc.assert(
      fc.property(fc.oneof(anyUrl, anyParams), (from) => {
        const target = readPlivoTransfer(from as string);
        if (target !== undefined) expect(typeof target.destination).toBe('string');
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

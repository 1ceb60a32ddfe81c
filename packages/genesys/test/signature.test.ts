import { MemoryNonceStore, ReplayGuard, WebhookSignatureError, ConfigError } from '@switchboard/core';
import { describe, expect, it } from 'vitest';
import {
  assertGenesysUpgrade,
  readGenesysUpgradeVerdict,
  validateGenesysUpgrade,
  type ValidateGenesysUpgradeOptions,
} from '../src/index.js';
import { signGenesysUpgrade } from '../src/testing.js';

// The signed upgrade request of the AudioHook protocol documentation (also the test vector of
// purecloudlabs/audiohook-reference-implementation): API key, client secret and signature as published.
const API_KEY = 'SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh';
const SECRET = 'TXlTdXBlclNlY3JldEtleVRlbGxOby0xITJAMyM0JDU=';
const CREATED = 1641013200;
const documented = (): Record<string, string> => ({
  host: 'audiohook.example.com',
  'audiohook-organization-id': 'd7934305-0972-4844-938e-9060eef73d05',
  'audiohook-session-id': '30b0e395-84d3-4570-ac13-9a62d8f514c0',
  'audiohook-correlation-id': 'e160e428-53e2-487c-977d-96989bf5c99d',
  'x-api-key': API_KEY,
  signature: 'sig1=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:',
  'signature-input':
    'sig1=("@request-target" "@authority" "audiohook-organization-id" "audiohook-session-id" ' +
    '"audiohook-correlation-id" "x-api-key");keyid="SGVsbG8sIEkgYW0gdGhlIEFQSSBrZXkh";' +
    'nonce="VGhpc0lzQVVuaXF1ZU5vbmNl";alg="hmac-sha256";created=1641013200;expires=3282026430',
});
const options = (overrides: Partial<ValidateGenesysUpgradeOptions> = {}): ValidateGenesysUpgradeOptions => ({
  headers: documented(),
  requestTarget: '/api/v1/voicebiometrics/ws',
  apiKey: API_KEY,
  clientSecret: SECRET,
  now: () => (CREATED + 1) * 1000,
  ...overrides,
});

describe('Genesys upgrade signatures', () => {
  it('verifies the documented example', async () => {
    expect(await readGenesysUpgradeVerdict(options())).toBe('valid');
    expect(await validateGenesysUpgrade(options({ headers: new Headers(documented()) }))).toBe(true);
  });

  it('refuses the example altered anywhere it is signed', async () => {
    const cases: Array<[Partial<ValidateGenesysUpgradeOptions>, string]> = [
      [{ requestTarget: '/api/v1/voicebiometrics/ws?x=1' }, 'mismatch'],
      [{ authority: 'evil.example.com' }, 'mismatch'],
      [{ headers: { ...documented(), 'audiohook-session-id': '30b0e395-84d3-4570-ac13-9a62d8f514c1' } }, 'mismatch'],
      [{ clientSecret: 'b3RoZXIgc2VjcmV0' }, 'mismatch'],
      [{ headers: { ...documented(), 'x-api-key': 'another' } }, 'wrong_api_key'],
      [{ apiKey: 'another' }, 'wrong_api_key'],
      [{ now: () => (CREATED + 14) * 1000 }, 'expired'],
      [{ now: () => (CREATED - 4) * 1000 }, 'not_yet_valid'],
    ];
    for (const [override, verdict] of cases) expect(await readGenesysUpgradeVerdict(options(override))).toBe(verdict);
  });

  it('says what is wrong with malformed or incomplete signatures', async () => {
    const base = documented();
    const { signature: _s, 'signature-input': input, ...unsigned } = base;
    const without = (name: string) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== name));
    const cases: Array<[Record<string, string>, string]> = [
      [without('x-api-key'), 'missing_api_key'],
      [unsigned, 'unsigned'],
      [{ ...unsigned, 'signature-input': input! }, 'malformed'],
      [{ ...base, signature: 'sig1=:not base64!:' }, 'malformed'],
      [{ ...base, 'signature-input': 'sig1=("@request-target"' }, 'malformed'],
      [{ ...base, signature: 'other=:NZBwyBHRRyRoeLqy1IzOa9VYBuI8TgMFt2GRDkDuJh4=:' }, 'malformed'],
      [{ ...base, 'signature-input': input!.replace(' "x-api-key")', ')') }, 'not_covered'],
      [{ ...base, 'signature-input': input!.replace('hmac-sha256', 'rsa-pss-sha512') }, 'unsupported'],
      [{ ...base, 'signature-input': input!.replace('keyid="SGVs', 'keyid="XGVs') }, 'keyid_mismatch'],
      [{ ...base, 'signature-input': input!.replace('VGhpc0lzQVVuaXF1ZU5vbmNl', 'short') }, 'nonce'],
      [without('audiohook-correlation-id'), 'missing_component'],
    ];
    for (const [headers, verdict] of cases) expect(await readGenesysUpgradeVerdict(options({ headers }))).toBe(verdict);
  });

  it('accepts unsigned requests only for an integration without a client secret', async () => {
    const { signature: _s, 'signature-input': _i, ...unsigned } = documented();
    expect(await readGenesysUpgradeVerdict(options({ headers: unsigned, clientSecret: '' }))).toBe('valid');
    expect(await readGenesysUpgradeVerdict(options({ headers: unsigned }))).toBe('unsigned');
  });

  it('refuses a replayed signature once a replay guard has seen it', async () => {
    const replayGuard = new ReplayGuard({ store: new MemoryNonceStore() });
    expect(await readGenesysUpgradeVerdict(options({ replayGuard }))).toBe('valid');
    expect(await readGenesysUpgradeVerdict(options({ replayGuard }))).toBe('replayed');
  });

  it('verifies what signGenesysUpgrade signs, and assert throws a typed error otherwise', async () => {
    const headers = await signGenesysUpgrade({
      apiKey: 'key-1',
      clientSecret: SECRET,
      requestTarget: '/genesys/bot?x=1',
      authority: 'bot.example.com:8443',
      organizationId: 'd7934305-0972-4844-938e-9060eef73d05',
      sessionId: '30b0e395-84d3-4570-ac13-9a62d8f514c0',
      correlationId: 'e160e428-53e2-487c-977d-96989bf5c99d',
    });
    const ok = { headers, requestTarget: '/genesys/bot?x=1', apiKey: 'key-1', clientSecret: SECRET };
    await expect(assertGenesysUpgrade(ok)).resolves.toBeUndefined();
    const error = await assertGenesysUpgrade({ ...ok, requestTarget: '/genesys/other' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookSignatureError);
    expect((error as Error).message).toMatch(/mismatch/);
  });

  it('refuses bad options with a ConfigError, and never throws on what a request carries', async () => {
    await expect(readGenesysUpgradeVerdict(options({ apiKey: '' }))).rejects.toThrow(ConfigError);
    await expect(readGenesysUpgradeVerdict(options({ requestTarget: 'no-slash' }))).rejects.toThrow(ConfigError);
    const odd = [null, 42, { 'x-api-key': 7 }, { 'x-api-key': [API_KEY, 5] }] as unknown[];
    for (const headers of odd)
      expect(await readGenesysUpgradeVerdict(options({ headers: headers as Record<string, string> }))).toBe(
        'missing_api_key',
      );
  });
});

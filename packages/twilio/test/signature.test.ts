import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, WebhookSignatureError } from '@switchboard/core';
import {
  assertTwilioSignature,
  computeTwilioSignature,
  twilioSignatureUrlVariants,
  validateTwilioSignature,
  validateTwilioWebSocketUpgrade,
} from '../src/signature.js';

const TOKEN = '9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88';

/** Independent implementation with node:crypto: url + sorted name/value pairs, HMAC-SHA1, base64. */
function expectedSignature(token: string, text: string): string {
  return createHmac('sha1', token).update(text, 'utf8').digest('base64');
}

const WEBHOOK_URL = 'https://voice.example.com/twilio/voice?tenant=acme';
const PARAMS = {
  CallSid: 'CA3c9a5e2b1d7f40e88b6c2a19d5e4f701',
  From: '+15551230001',
  To: '+15551230002',
  AccountSid: 'AC25e16e9a716a4a1786a7c83f58e30482',
  CallStatus: 'ringing',
};
const SIGNED_TEXT =
  WEBHOOK_URL +
  'AccountSidAC25e16e9a716a4a1786a7c83f58e30482' +
  'CallSidCA3c9a5e2b1d7f40e88b6c2a19d5e4f701' +
  'CallStatusringing' +
  'From+15551230001' +
  'To+15551230002';

describe('computeTwilioSignature', () => {
  it('signs the URL followed by the parameters sorted by name', async () => {
    expect(await computeTwilioSignature(TOKEN, WEBHOOK_URL, PARAMS)).toBe(expectedSignature(TOKEN, SIGNED_TEXT));
  });

  it('reproduces the example published in Twilio’s security documentation', async () => {
    const signature = await computeTwilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675310',
      Digits: '1234',
      From: '+14158675310',
      To: '+18005551212',
    });
    expect(signature).toBe('GvWf1cFY/Q7PnoempGyD5oXAezc=');
  });

  it('signs the bare URL when there are no parameters', async () => {
    const url = 'wss://voice.example.com/media';
    expect(await computeTwilioSignature(TOKEN, url)).toBe(expectedSignature(TOKEN, url));
  });

  it('signs each value of a repeated parameter once, in ascending order, as Twilio’s validators do', async () => {
    const url = 'https://voice.example.com/status';
    const text = `${url}Callbackx` + 'Eventanswered' + 'Eventcompleted' + 'Eventinitiated';
    const expected = expectedSignature(TOKEN, text);
    expect(
      await computeTwilioSignature(TOKEN, url, { Event: ['initiated', 'completed', 'answered'], Callback: 'x' }),
    ).toBe(expected);
    expect(
      await computeTwilioSignature(TOKEN, url, {
        Event: ['completed', 'answered', 'initiated', 'answered'],
        Callback: 'x',
      }),
    ).toBe(expected);
    const form = new URLSearchParams('Event=initiated&Callback=x&Event=answered&Event=completed');
    expect(await computeTwilioSignature(TOKEN, url, form)).toBe(expected);
  });

  it('handles non-ASCII values as UTF-8', async () => {
    const url = 'https://voice.example.com/sms';
    expect(await computeTwilioSignature(TOKEN, url, { Body: 'héllo ✓' })).toBe(
      expectedSignature(TOKEN, `${url}Bodyhéllo ✓`),
    );
  });

  it('refuses an empty auth token', async () => {
    await expect(computeTwilioSignature('', WEBHOOK_URL)).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('validateTwilioSignature', () => {
  const signature = expectedSignature(TOKEN, SIGNED_TEXT);

  it('accepts the signature of the exact URL and parameters', async () => {
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: WEBHOOK_URL, params: PARAMS })).toBe(true);
  });

  it('rejects a signature made with another token, for another URL or for other parameters', async () => {
    expect(
      await validateTwilioSignature({
        authToken: TOKEN,
        signature: expectedSignature('other-token', SIGNED_TEXT),
        url: WEBHOOK_URL,
        params: PARAMS,
      }),
    ).toBe(false);
    expect(
      await validateTwilioSignature({
        authToken: TOKEN,
        signature,
        url: 'https://voice.example.com/twilio/voice?tenant=evil',
        params: PARAMS,
      }),
    ).toBe(false);
    expect(
      await validateTwilioSignature({
        authToken: TOKEN,
        signature,
        url: WEBHOOK_URL,
        params: { ...PARAMS, CallStatus: 'completed' },
      }),
    ).toBe(false);
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: WEBHOOK_URL })).toBe(false);
  });

  it('rejects missing, empty and garbled signatures', async () => {
    for (const bad of [undefined, null, '', 'not-a-signature', signature.slice(0, -2)]) {
      expect(
        await validateTwilioSignature({ authToken: TOKEN, signature: bad, url: WEBHOOK_URL, params: PARAMS }),
      ).toBe(false);
    }
  });

  it('accepts a signature made over the URL with the default https port written out', async () => {
    const signedWithPort = expectedSignature(
      TOKEN,
      SIGNED_TEXT.replace('voice.example.com/', 'voice.example.com:443/'),
    );
    expect(
      await validateTwilioSignature({ authToken: TOKEN, signature: signedWithPort, url: WEBHOOK_URL, params: PARAMS }),
    ).toBe(true);
  });

  it('accepts a signature made without the port when the URL has :443', async () => {
    const urlWithPort = 'https://voice.example.com:443/twilio/voice?tenant=acme';
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url: urlWithPort, params: PARAMS })).toBe(true);
  });

  it('does not drop a non-default port', async () => {
    const url = 'https://voice.example.com:8443/twilio/voice?tenant=acme';
    expect(await validateTwilioSignature({ authToken: TOKEN, signature, url, params: PARAMS })).toBe(false);
  });

  it('refuses to validate without an auth token', async () => {
    await expect(validateTwilioSignature({ authToken: '', signature, url: WEBHOOK_URL })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

describe('twilioSignatureUrlVariants', () => {
  it('adds or removes only the default port of the scheme', () => {
    expect(twilioSignatureUrlVariants('https://h.example/p?q=1')).toEqual([
      'https://h.example/p?q=1',
      'https://h.example:443/p?q=1',
    ]);
    expect(twilioSignatureUrlVariants('wss://h.example:443/m')).toEqual(['wss://h.example:443/m', 'wss://h.example/m']);
    expect(twilioSignatureUrlVariants('http://h.example')).toEqual(['http://h.example', 'http://h.example:80']);
    expect(twilioSignatureUrlVariants('https://[::1]:443/p')).toEqual(['https://[::1]:443/p', 'https://[::1]/p']);
    expect(twilioSignatureUrlVariants('https://h.example:8443/p')).toEqual(['https://h.example:8443/p']);
  });
});

describe('assertTwilioSignature', () => {
  it('resolves for a valid signature', async () => {
    const signature = expectedSignature(TOKEN, SIGNED_TEXT);
    await expect(
      assertTwilioSignature({ authToken: TOKEN, signature, url: WEBHOOK_URL, params: PARAMS }),
    ).resolves.toBeUndefined();
  });

  it('tells a missing header from a mismatch, without revealing the token or the signature', async () => {
    const missing = await assertTwilioSignature({ authToken: TOKEN, signature: undefined, url: WEBHOOK_URL }).catch(
      (e: unknown) => e,
    );
    const wrongSignature = expectedSignature('other-token', SIGNED_TEXT);
    const mismatch = await assertTwilioSignature({
      authToken: TOKEN,
      signature: wrongSignature,
      url: WEBHOOK_URL,
      params: PARAMS,
    }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(WebhookSignatureError);
    expect(mismatch).toBeInstanceOf(WebhookSignatureError);
    const missingMessage = (missing as Error).message;
    const mismatchMessage = (mismatch as Error).message;
    expect(missingMessage).toMatch(/missing/i);
    expect(mismatchMessage).toMatch(/does not match/);
    expect(missingMessage).not.toBe(mismatchMessage);
    for (const message of [missingMessage, mismatchMessage]) {
      expect(message).not.toContain(TOKEN);
      expect(message).not.toContain(wrongSignature);
    }
  });
});

describe('validateTwilioWebSocketUpgrade', () => {
  const url = 'wss://voice.example.com/media';
  const signature = expectedSignature(TOKEN, url);

  it('reads X-Twilio-Signature whatever its case and checks it against the bare wss URL', async () => {
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { 'x-twilio-signature': signature } }),
    ).toBe(true);
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { 'X-Twilio-Signature': signature } }),
    ).toBe(true);
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { 'X-TWILIO-SIGNATURE': [signature] } }),
    ).toBe(true);
    expect(
      await validateTwilioWebSocketUpgrade({
        authToken: TOKEN,
        url,
        headers: new Headers({ 'X-Twilio-Signature': signature }),
      }),
    ).toBe(true);
  });

  it('accepts an upgrade signed over the URL with :443', async () => {
    const signedWithPort = expectedSignature(TOKEN, 'wss://voice.example.com:443/media');
    expect(
      await validateTwilioWebSocketUpgrade({
        authToken: TOKEN,
        url,
        headers: { 'x-twilio-signature': signedWithPort },
      }),
    ).toBe(true);
  });

  it('rejects an upgrade without the header or with a wrong signature', async () => {
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { host: 'voice.example.com' } }),
    ).toBe(false);
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { 'x-twilio-signature': undefined } }),
    ).toBe(false);
    const otherPath = expectedSignature(TOKEN, 'wss://voice.example.com/other');
    expect(
      await validateTwilioWebSocketUpgrade({ authToken: TOKEN, url, headers: { 'x-twilio-signature': otherPath } }),
    ).toBe(false);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, type TransferRequest } from '@switchboard/core';
import { startFakeRest, type FakeRest } from '@switchboard/conformance/testing';
import { BandwidthCallControl, bandwidthTransfer, bandwidthTransferBxml, readBandwidthTransfer } from '../src/index.js';

const CALL = 'c-2a913f94-6a486f3a-3cae-4034-bcc3-f0c9fa77ca2f';

let api: FakeRest;
let callControl: BandwidthCallControl;

beforeEach(async () => {
  api = await startFakeRest();
  callControl = new BandwidthCallControl({ accountId: '5555555', username: 'u', password: 'p', baseUrl: api.url });
});

afterEach(async () => {
  await api.stop();
});

const request = (fields: Partial<TransferRequest>): TransferRequest =>
  ({ name: 'billing', destination: '+15553334444', callId: CALL, ...fields }) as TransferRequest;

describe('bandwidthTransfer', () => {
  it('redirects the call to the endpoint, naming the target in its query, with the redirect credentials', async () => {
    const transfer = bandwidthTransfer({
      callControl,
      url: 'https://agent.example.com/bandwidth/transfer?tenant=a',
      username: 'hook',
      password: 'secret',
    });
    await expect(transfer(request({}))).resolves.toEqual({ alreadyEnded: false });
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.path).toBe(`/accounts/5555555/calls/${CALL}`);
    const body = JSON.parse(api.requests[0]!.body) as { redirectUrl: string };
    expect(body).toEqual({
      state: 'active',
      redirectUrl:
        'https://agent.example.com/bandwidth/transfer?tenant=a&transfer_to=%2B15553334444&transfer_name=billing',
      username: 'hook',
      password: 'secret',
    });
    // The endpoint reads the target back and answers with the Transfer.
    expect(readBandwidthTransfer(new URL(body.redirectUrl).pathname + new URL(body.redirectUrl).search)).toEqual({
      to: '+15553334444',
      name: 'billing',
    });
    expect(bandwidthTransferBxml(readBandwidthTransfer(body.redirectUrl)!)).toContain(
      '<PhoneNumber>+15553334444</PhoneNumber>',
    );
  });

  it('takes the call id from call_start when the request names none, and SIP URIs as targets', async () => {
    const transfer = bandwidthTransfer({ callControl, url: 'https://agent.example.com/t', method: 'GET' });
    await transfer(
      request({
        callId: undefined,
        callStart: { callId: CALL } as TransferRequest['callStart'],
        destination: 'sip:desk@pbx.example.com',
      }),
    );
    const body = JSON.parse(api.requests[0]!.body) as { redirectUrl: string; redirectMethod: string };
    expect(body.redirectMethod).toBe('GET');
    expect(readBandwidthTransfer(body.redirectUrl)).toEqual({ to: 'sip:desk@pbx.example.com', name: 'billing' });
  });

  it('refuses a call without an id, and a destination that is neither a number nor a SIP URI, before sending anything', async () => {
    const transfer = bandwidthTransfer({ callControl, url: 'https://agent.example.com/t' });
    await expect(transfer(request({ callId: undefined }))).rejects.toThrow(ConfigError);
    await expect(transfer(request({ destination: 'javascript:alert(1)' }))).rejects.toThrow(ConfigError);
    expect(api.requests).toHaveLength(0);
  });

  it('refuses bad options with a ConfigError', () => {
    expect(() => bandwidthTransfer({ url: 'https://a.example.com' } as never)).toThrow(ConfigError);
    expect(() => bandwidthTransfer({ callControl, url: 'wss://a.example.com' })).toThrow(ConfigError);
  });
});

describe('readBandwidthTransfer', () => {
  it.each(['/t', '/t?transfer_to=', '/t?transfer_to=not%20a%20number', '/t?transfer_to=%3Cscript%3E', 'http://[bad'])(
    'reads no target from %s',
    (url) => {
      expect(readBandwidthTransfer(url)).toBeUndefined();
    },
  );
});

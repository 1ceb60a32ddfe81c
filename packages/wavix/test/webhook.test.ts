import { expectProtocolError } from '@switchboard/conformance/testing';
import { describe, expect, it } from 'vitest';
import { WAVIX_WEBHOOK_ERROR_CODE, readWavixCallWebhook } from '../src/index.js';

/** An `on-call` webhook body as Wavix's OpenAPI example writes the call object. */
const SETUP = {
  uuid: '5dccb6b0-f35c-488c-867b-86fb012c4415',
  id: '5dccb6b0-f35c-488c-867b-86fb012c4415',
  direction: 'inbound',
  event_type: 'call_setup',
  event_time: '2025-09-22T12:56:38.547Z',
  event_payload: null,
  from: '+18045961058',
  to: '17653889567',
  call_started: '2025-09-22T12:56:38.547Z',
  call_answered: null,
  call_completed: null,
  machine_detected: false,
  tag: '',
};

describe('readWavixCallWebhook', () => {
  it('reads the call, its event and its numbers, from the parsed body or its text', () => {
    const expected = {
      callId: SETUP.uuid,
      eventType: 'call_setup',
      direction: 'inbound',
      from: '+18045961058',
      to: '17653889567',
      raw: SETUP,
    };
    expect(readWavixCallWebhook(SETUP)).toEqual(expected);
    expect(readWavixCallWebhook(JSON.stringify(SETUP))).toEqual(expected);
    expect(readWavixCallWebhook({ id: 'abc', event_type: 'ringing', tag: 'campaign-7' })).toMatchObject({
      callId: 'abc',
      tag: 'campaign-7',
    });
  });

  it('gives the digits of a completed DTMF collection, and none of one still running', () => {
    const collect = (status: string) => ({
      ...SETUP,
      event_type: 'on_call_event',
      event_payload: { type: 'collect', payload: { digits: '1234', status } },
    });
    expect(readWavixCallWebhook(collect('completed')).digits).toBe('1234');
    expect(readWavixCallWebhook(collect('started')).digits).toBeUndefined();
  });

  it('throws a ProtocolError for a body that is no call event', () => {
    for (const body of [
      'not json',
      '[1]',
      null,
      { event_type: 'answered' },
      { uuid: '', event_type: 'answered' },
      { uuid: 'abc' },
      'x'.repeat(100_001),
    ]) {
      expectProtocolError(() => readWavixCallWebhook(body), { provider: 'wavix', code: WAVIX_WEBHOOK_ERROR_CODE });
    }
  });
});

/**
 * Webhook deliveries signed as the carriers sign them, for the tests that deliver one request to
 * several instances: Plivo's V3 signature, and OpenAI's Standard Webhooks signature.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { OpenAISipWebhookHandler, type OpenAISipWebhookHandlerOptions } from '@switchboard/sip';

export const PLIVO_TOKEN = 'MAXXXXXXXXXXXXXXXXXX-token-for-tests';
const PLIVO_URL = 'https://voice.example.com/plivo/answer';

/** A Plivo answer-URL delivery: HMAC-SHA256 of the URL, `?`, the sorted `namevalue` pairs, `.` and the nonce. */
export function plivoDelivery(nonce: string, callUuid: string) {
  const params = { CallUUID: callUuid, From: '+14155551234', To: '+14155556789' };
  const base = `${PLIVO_URL}?${Object.keys(params)
    .sort()
    .map((k) => k + params[k as keyof typeof params])
    .join('')}`;
  const signature = createHmac('sha256', PLIVO_TOKEN).update(`${base}.${nonce}`).digest('base64');
  return { authToken: PLIVO_TOKEN, method: 'POST', url: PLIVO_URL, params, nonce, signature };
}

export const OPENAI_WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** A signed `realtime.call.incoming` delivery (Standard Webhooks: `v1,` HMAC-SHA256 of `id.timestamp.body`). */
export function openAICallDelivery(
  callId: string,
  webhookId: string,
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    object: 'event',
    id: `evt_${randomBytes(8).toString('hex')}`,
    type: 'realtime.call.incoming',
    created_at: Math.floor(Date.now() / 1000),
    data: {
      call_id: callId,
      sip_headers: [
        { name: 'From', value: '<sip:+15551230001@pstn.example.net>;tag=a1' },
        { name: 'To', value: '<sip:+15559870002@sip.api.openai.com>' },
      ],
    },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(OPENAI_WEBHOOK_SECRET.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`).digest('base64');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature}`,
    },
  };
}

/** An OpenAI SIP webhook handler as one instance runs it: the calls it took are counted, its errors kept. */
export function sipInstance(options: Partial<OpenAISipWebhookHandlerOptions>) {
  const calls: string[] = [];
  const errors: unknown[] = [];
  const handler = new OpenAISipWebhookHandler({
    apiKey: 'sk-test-local-fake',
    webhookSecret: OPENAI_WEBHOOK_SECRET,
    maxRetries: 0,
    onIncomingCall: (call) => {
      calls.push(call.callId);
      return { action: 'handled' };
    },
    onError: (error) => errors.push(error),
    ...options,
  });
  return { handler, calls, errors };
}

/** One call's `RealtimeSession` on a relay bench bridge, the same for every implementation. */
import { RealtimeSession, type RealtimeAgent, type RealtimeTransportLayer } from '@openai/agents/realtime';

/**
 * Runs `transport` under a session (the telephony format given explicitly, so the SDK adapter is
 * measured working correctly), closed when the carrier's socket closes; `onError` counts errors.
 */
export function startCallSession(
  agent: RealtimeAgent,
  transport: RealtimeTransportLayer,
  carrier: { on(event: 'close', listener: () => void): unknown },
  onError: () => void,
): RealtimeSession {
  const session = new RealtimeSession(agent, {
    transport,
    model: 'gpt-realtime',
    config: { audio: { input: { format: 'g711_ulaw' }, output: { format: 'g711_ulaw' } } },
  });
  session.on('error', onError);
  carrier.on('close', () => session.close());
  session.connect({ apiKey: 'sk-bench' }).catch(onError);
  return session;
}

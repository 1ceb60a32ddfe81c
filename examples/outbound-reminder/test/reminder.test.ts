/**
 * The reminder example end to end against the realtime simulator and the fake Twilio, several
 * times faster than real time: who answered reaches the call, the agent's last words are heard in
 * full before it hangs up, and Twilio gets its requests in order.
 */
import { describe, expect, it } from 'vitest';
import { LINES } from '../src/agent.js';
import { runReminder } from '../src/run.js';

const SPEED = 8;
/** EXAMPLE_VERBOSE=1 prints the calls as they happen. */
const verbose = process.env.EXAMPLE_VERBOSE
  ? { print: (line: string, at: number) => console.log(`[${Math.round(at)}] ${line}`) }
  : {};

function restCalls(run: Awaited<ReturnType<typeof runReminder>>): string[] {
  return run.requests.map((r) => {
    const path = r.path.replace(/^\/2010-04-01\/Accounts\/AC\w+\//, '');
    return r.params['Status'] ? `${path} Status=${r.params['Status']}` : path;
  });
}

describe('outbound reminder', () => {
  it('a person answers: the detection result reaches the call, the agent confirms and hangs up after its goodbye', async () => {
    const run = await runReminder({ answeredBy: 'person', speed: SPEED, ...verbose });
    expect(run.detections).toEqual([{ callId: run.call.callSid, carrierResult: 'human', outcome: 'delivered' }]);
    expect(run.call.detection).toMatchObject({ answeredBy: 'human', carrierResult: 'human', callId: run.call.callSid });
    expect(run.call.said).toEqual([LINES.reminder, LINES.confirmed]);
    expect(run.call.end?.reason).toBe('agent_hangup');
    expect(restCalls(run)).toEqual(['Calls.json', `Calls/${run.call.callSid}.json Status=completed`]);
    const create = run.requests[0]!.params;
    expect(create).toMatchObject({ MachineDetection: 'DetectMessageEnd', AsyncAmd: 'true' });
    // Everything the agent said was played, none of it cut, before Twilio was told to hang up.
    expect(run.cutMs).toBe(0);
    expect(run.hangUpAt).toBeDefined();
    expect(run.lastHeardAt!).toBeLessThanOrEqual(run.hangUpAt!);
    const spoken = run.responses.reduce((n, r) => n + r.audioMs, 0);
    expect(Math.abs(run.heardMs - spoken)).toBeLessThan(40);
  });

  it('a detection result that comes before the call does is held for it, then reaches it', async () => {
    const run = await runReminder({ answeredBy: 'person', detectionBeforeStream: true, speed: SPEED, ...verbose });
    expect(run.detections).toEqual([{ callId: run.call.callSid, carrierResult: 'human', outcome: 'held' }]);
    expect(run.call.detection).toMatchObject({ answeredBy: 'human', callId: run.call.callSid });
    expect(run.call.said).toEqual([LINES.reminder, LINES.confirmed]);
    expect(run.call.end?.reason).toBe('agent_hangup');
  });

  it('an answering machine answers: the agent waits for the beep, leaves the whole voicemail, then hangs up', async () => {
    const run = await runReminder({ answeredBy: 'machine', speed: SPEED, ...verbose });
    expect(run.call.detection).toMatchObject({
      answeredBy: 'machine',
      greetingEnded: true,
      carrierResult: 'machine_end_beep',
      callId: run.call.callSid,
    });
    expect(run.call.said).toEqual([LINES.voicemail]);
    expect(run.call.end?.reason).toBe('agent_hangup');
    expect(restCalls(run)).toEqual(['Calls.json', `Calls/${run.call.callSid}.json Status=completed`]);
    expect(run.cutMs).toBe(0);
    expect(run.lastHeardAt!).toBeLessThanOrEqual(run.hangUpAt!);
    const voicemail = run.responses.find((r) => r.transcript === LINES.voicemail);
    expect(voicemail?.status).toBe('completed');
    expect(Math.abs(run.heardMs - voicemail!.audioMs)).toBeLessThan(40);
  });
});

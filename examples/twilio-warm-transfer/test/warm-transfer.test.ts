/**
 * The warm transfer example end to end against the realtime simulator and the fake Twilio, several
 * times faster than real time: the caller hears the agent's "please hold" in full before the call
 * is moved, waits on hold in the conference, the billing team is called with the model's summary
 * and joined to the caller; when nobody answers, the caller is brought back.
 */
import { describe, expect, it } from 'vitest';
import { LINES, TRANSFER_ARGUMENTS } from '../src/agent.js';
import { runWarmTransfer } from '../src/run.js';

const SPEED = 8;
/** EXAMPLE_VERBOSE=1 prints the calls as they happen. */
const verbose = process.env.EXAMPLE_VERBOSE
  ? { print: (line: string, at: number) => console.log(`[${Math.round(at)}] ${line}`) }
  : {};

describe('Twilio warm transfer', () => {
  it('holds the caller, whispers the summary to the billing team, then joins them; the agent leaves', async () => {
    const run = await runWarmTransfer({ speed: SPEED, talkMs: 1000, ...verbose });
    expect(run.call?.said).toEqual([LINES.help, LINES.connecting]);
    // "Please hold" was played in full before Twilio was asked to move the call.
    expect(run.cutMs).toBe(0);
    expect(run.movedAt).toBeDefined();
    expect(run.lastHeardAt!).toBeLessThanOrEqual(run.movedAt!);

    const [move, dial, ...rest] = run.requests;
    expect(move?.path).toMatch(new RegExp(`/Calls/${run.callerLeg.sid}\\.json$`));
    expect(move?.params['Twiml']).toMatch(
      /<Dial><Conference startConferenceOnEnter="false"[^>]*waitUrl="[^"]*\/hold\.wav"/,
    );
    expect(dial?.path).toMatch(/\/Calls\.json$/);
    expect(dial?.params['To']).toBe('+15550002222');
    expect(dial?.params['Twiml']).toContain(`<Say>${TRANSFER_ARGUMENTS.summary}</Say>`);
    expect(rest).toEqual([]);

    // The caller waited alone, then the billing team joined; the caller hung up and it all ended.
    expect(run.conference).toEqual([
      'join caller',
      'join billing team (Alex)',
      'leave caller',
      'leave billing team (Alex)',
    ]);
    const outcomes = run.call?.transfer.map((u) => u.outcome) ?? [];
    expect(outcomes.indexOf('waiting')).toBeLessThan(outcomes.indexOf('joined'));
    expect(outcomes).toContain('ended');
    expect(run.humanLeg?.status).toBe('completed');
  });

  it('brings the caller back when nobody takes the call', async () => {
    const run = await runWarmTransfer({ speed: SPEED, answered: false, ...verbose });
    expect(run.call?.transfer.map((u) => u.outcome)).toContain('returned');
    expect(run.humanLeg?.status).toBe('no-answer');
    const back = run.requests.at(-1);
    expect(back?.path).toMatch(new RegExp(`/Calls/${run.callerLeg.sid}\\.json$`));
    expect(back?.params['Twiml']).toContain('nobody could take your call');
    expect(run.callerLeg.status).toBe('completed');
  });
});

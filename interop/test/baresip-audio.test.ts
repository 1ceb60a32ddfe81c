/**
 * The SIP endpoint against baresip 1.0 (Debian's package), a real SIP user agent: calls on
 * 127.0.0.1 in PCMU and PCMA, audio checked both ways.
 *
 * Caller → model: baresip's microphone is a WAV file (a chirp, aufile); the model must receive
 * that chirp. Model → caller: baresip decodes the model's reply and hands it, through an
 * in-process audio bridge (aubridge), to a second call into the endpoint as that call's
 * microphone; that second model must receive the first model's speech, frame by frame.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAudio } from '../../test-harness/src/similarity.js';
import { linearOf, matchFrames } from './support/baresip-audio.js';
import { EndpointRig } from './support/baresip-rig.js';
import { Baresip, baresipSkipReason, chirp, titled, waitFor, writeWav } from './support/baresip.js';

const SKIP = baresipSkipReason();

describe.skipIf(SKIP !== undefined)(titled('SipEndpoint with baresip: audio both ways', SKIP), () => {
  let rig: EndpointRig;
  let port: number;
  let dir: string;
  const chirpSamples = chirp({ leadMs: 200, toneMs: 800, totalMs: 60_000 });
  const running: Baresip[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baresip-audio-'));
    writeWav(join(dir, 'chirp.wav'), chirpSamples);
    rig = await EndpointRig.start();
    port = (await rig.endpoint()).port;
  });

  afterAll(async () => {
    for (const baresip of running) await baresip.stop();
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const codec of ['PCMU', 'PCMA'] as const) {
    it.concurrent(
      `${codec}: the model hears baresip's chirp, and baresip decodes the model's speech`,
      async () => {
        const lower = codec.toLowerCase();
        const domain = `127.0.0.1:${port}`;
        const baresip = await Baresip.start({
          accounts: [
            // The listening side: its microphone is whatever the caller's loudspeaker plays.
            { user: `${lower}-tap`, domain, codecs: [codec], source: { bridge: `tap-${lower}` } },
            {
              user: `${lower}-caller`,
              domain,
              codecs: [codec],
              source: { wav: join(dir, 'chirp.wav') },
              playerBridge: `tap-${lower}`,
            },
          ],
        });
        running.push(baresip);
        const explain = () => baresip.output.slice(-4000);

        await baresip.dial(`${lower}-tap`, `sip:tap@${domain}`);
        const tapId = (await baresip.waitForEvent(`${lower}-tap`, 'CALL_ESTABLISHED')).id!;
        await baresip.dial(`${lower}-caller`, `sip:agent@${domain}`);
        const callerId = (await baresip.waitForEvent(`${lower}-caller`, 'CALL_ESTABLISHED')).id!;
        const caller = await rig.call(callerId);
        const tap = await rig.call(tapId);
        expect(caller.call.media?.codec).toBe(lower);
        expect(tap.call.media?.codec).toBe(lower);
        const callerModel = await rig.modelOf(callerId);
        const tapModel = await rig.modelOf(tapId);

        // Caller → model: the chirp, through baresip's encoder and the endpoint's RTP path.
        await waitFor("the caller's chirp to reach the model", () => callerModel.inputAudioMs >= 1500, 30_000);
        expect(callerModel.inputFormat.type).toBe(`audio/${lower}`);
        const heard = linearOf(callerModel.inputAudio, callerModel.inputFormat);
        const inbound = compareAudio(
          { samples: chirpSamples.subarray(0, 8 * 1400), sampleRate: 8000 },
          { samples: heard.samples.subarray(0, Math.round(heard.sampleRate * 1.6)), sampleRate: heard.sampleRate },
          { maxLagMs: 200, alignMs: 1400 },
        );
        expect(inbound.snrDb, `${JSON.stringify(inbound)}\n${explain()}`).toBeGreaterThanOrEqual(25);

        // Model → caller: the model's reply to the chirp, as baresip decoded it (heard by the tap).
        const reply = await waitFor(
          "the model's reply to end",
          () => callerModel.responses.find((r) => r.status === 'completed' && r.audioMsSent > 0),
          30_000,
        );
        const spoken = linearOf(
          callerModel.outputAudio.filter((c) => c.responseId === reply.id).map((c) => c.bytes),
          reply.format,
        );
        expect(spoken.sampleRate).toBe(8000);
        const measure = () =>
          matchFrames(spoken.samples, linearOf(tapModel.inputAudio, tapModel.inputFormat).samples, 8000);
        // Wait until (nearly) every frame arrived, then judge what did.
        await waitFor(
          "the model's speech to reach the tap",
          () => {
            const m = measure();
            return m.found >= m.speechFrames * 0.95;
          },
          30_000,
          250,
        ).catch(() => undefined);
        const outbound = measure();
        expect(outbound.speechFrames).toBeGreaterThan(30);
        expect(outbound.found, `${JSON.stringify(outbound)}\n${explain()}`).toBeGreaterThanOrEqual(
          outbound.speechFrames * 0.8,
        );

        await baresip.as(`${lower}-caller`, 'hangup');
        await baresip.as(`${lower}-tap`, 'hangup');
        await waitFor('both calls to end', () => caller.call.state === 'ended' && tap.call.state === 'ended');
        expect(caller.call.endReason).toBe('bye');
      },
      90_000,
    );
  }
});

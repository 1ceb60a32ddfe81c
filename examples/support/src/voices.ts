/**
 * Sounds for the offline examples. The recorded corpus has no reminder call or answering machine,
 * so the examples speak their lines as synthesized speech-like sound: voiced syllables (a buzz
 * with a few harmonics under a syllable envelope), one per vowel group of the text, at a speaking
 * pace. Nobody can understand it, but it has what the simulated model's energy VAD and the
 * playback accounting need: speech-level energy where the text is "said", quiet in between.
 * Every sample is a function of the text, so runs are repeatable.
 */
import { encodeMuLaw } from '@switchboard/core';

/** The model's rate (PCM16 24 kHz, what the realtime simulator's script holds). */
export const MODEL_RATE = 24_000;
/** Twilio's rate (μ-law 8 kHz). */
export const PHONE_RATE = 8000;

const SYLLABLE_MS = 170;
const SYLLABLE_GAP_MS = 45;
const WORD_GAP_MS = 110;
const PAUSE_MS = 320;
/** About -10 dBFS at the loudest: speech level, far above the simulator's VAD threshold. */
const PEAK = 10_000;

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Syllables of one word: its vowel groups, at least one. */
function syllables(word: string): number {
  return Math.max(1, word.toLowerCase().match(/[aeiouy]+/g)?.length ?? 0);
}

/**
 * `text` "said" as speech-like sound, PCM16 mono at `sampleRate`. Words are split on spaces;
 * `,` `.` `?` `!` add a pause. `pitchHz` sets the voice (default 120 Hz).
 */
export function speechLike(text: string, sampleRate: number, pitchHz = 120): Int16Array {
  const parts: Array<{ kind: 'syllable' | 'gap'; ms: number }> = [];
  const words = text.split(/\s+/).filter((w) => w.length > 0);
  for (const [w, word] of words.entries()) {
    const count = syllables(word);
    for (let s = 0; s < count; s++) {
      parts.push({ kind: 'syllable', ms: SYLLABLE_MS });
      if (s < count - 1) parts.push({ kind: 'gap', ms: SYLLABLE_GAP_MS });
    }
    if (w < words.length - 1) parts.push({ kind: 'gap', ms: /[,.?!;:]$/.test(word) ? PAUSE_MS : WORD_GAP_MS });
  }
  const total = parts.reduce((n, p) => n + Math.round((p.ms * sampleRate) / 1000), 0);
  const out = new Int16Array(total);
  let at = 0;
  let seed = hash(text);
  let phase = 0;
  for (const part of parts) {
    const n = Math.round((part.ms * sampleRate) / 1000);
    if (part.kind === 'syllable') {
      // Each syllable a little higher or lower, as intonation goes.
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const f0 = pitchHz * (0.85 + ((seed >>> 8) % 300) / 1000);
      for (let i = 0; i < n; i++) {
        const envelope = Math.sin((Math.PI * i) / n) ** 0.6;
        phase += (2 * Math.PI * f0) / sampleRate;
        const voiced =
          0.55 * Math.sin(phase) + 0.3 * Math.sin(2 * phase) + 0.2 * Math.sin(3 * phase) + 0.12 * Math.sin(5 * phase);
        out[at + i] = Math.round(PEAK * envelope * voiced);
      }
    }
    at += n;
  }
  return out;
}

/** A tone, PCM16 mono: an answering machine's beep is about 1 kHz for half a second. */
export function tone(ms: number, hz: number, sampleRate: number, amplitude = 9000): Int16Array {
  const n = Math.round((ms * sampleRate) / 1000);
  const out = new Int16Array(n);
  const ramp = Math.min(n / 2, Math.round(sampleRate / 200));
  for (let i = 0; i < n; i++) {
    const edge = Math.min(1, i / ramp, (n - 1 - i) / ramp);
    out[i] = Math.round(amplitude * edge * Math.sin((2 * Math.PI * hz * i) / sampleRate));
  }
  return out;
}

/** Silence, PCM16 mono. */
export function silence(ms: number, sampleRate: number): Int16Array {
  return new Int16Array(Math.round((ms * sampleRate) / 1000));
}

/** Joins PCM16 pieces. */
export function concat(...pieces: Int16Array[]): Int16Array {
  const out = new Int16Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/**
 * Hold music for the warm transfer: a slow arpeggio, μ-law 8 kHz, `ms` long. The app plays it
 * into the call with `transport.playAudio`.
 */
export function holdMusic(ms: number): Uint8Array {
  const notes = [262, 330, 392, 523];
  const pieces: Int16Array[] = [];
  for (let t = 0, i = 0; t < ms; t += 250, i++)
    pieces.push(tone(Math.min(250, ms - t), notes[i % 4]!, PHONE_RATE, 3000));
  return encodeMuLaw(concat(...pieces));
}

/**
 * An estimated MOS for the phone leg of a call, from the ITU-T G.107 E-model, simplified the usual
 * way for VoIP monitoring:
 *
 *   R = 93.2 − Id − Ie,eff
 *
 * - 93.2 is R0 − Is + A with G.107's default values (no echo, quiet rooms, A = 0).
 * - Id, the delay impairment for a one-way (mouth-to-ear) delay Ta in ms, uses Cole and
 *   Rosenbluth's fit of G.107: Id = 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3), H the step function.
 * - Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl / BurstR + Bpl), Ppl the packet loss in percent, BurstR = 1
 *   (random loss).
 * - Codec: G.711 (μ-law or A-law) has Ie = 0, and Bpl = 4.3 (ITU-T G.113 Appendix I, G.711 without
 *   packet loss concealment: a frame lost on the way to the bridge becomes silence). Linear PCM
 *   (L16) is taken as G.711: no coding impairment, the same sensitivity to loss.
 *
 * MOS = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶ for R between 0 and 100 (G.107 Annex B), never
 * below 1; 1 for R at or under 0, 4.5 from 100. With no loss and no delay that is 4.41, G.711's
 * ceiling.
 */

/** G.107 defaults: R0 − Is + A. */
export const R_DEFAULT = 93.2;
/** G.711's equipment impairment (and linear PCM's). */
export const G711_IE = 0;
/** G.711's packet-loss robustness without concealment (G.113 Appendix I). */
export const G711_BPL = 4.3;

export type MosInput = {
  /** One-way delay, ms. */
  delayMs: number;
  /** Frames lost (late ones included), percent of the frames the caller sent. */
  lossPercent: number;
  /** Burst ratio; 1 for random loss (the default). */
  burstRatio?: number;
};

export type MosEstimate = { mos: number; rFactor: number };

/** The E-model's R factor and its MOS for a G.711 (or linear PCM) call; see the module note. */
export function estimateMos(input: MosInput): MosEstimate {
  const ta = Math.max(0, finiteOr(input.delayMs, 0));
  const ppl = Math.min(100, Math.max(0, finiteOr(input.lossPercent, 0)));
  const burst = Math.max(1, finiteOr(input.burstRatio ?? 1, 1));
  const id = 0.024 * ta + (ta > 177.3 ? 0.11 * (ta - 177.3) : 0);
  const ieEff = G711_IE + ((95 - G711_IE) * ppl) / (ppl / burst + G711_BPL);
  const r = R_DEFAULT - id - ieEff;
  return { mos: mosFromR(r), rFactor: r };
}

/** G.107 Annex B: MOS (conversational quality, estimated) from R. */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  // The polynomial dips just below 1 for R under 6.5: a MOS is never below 1.
  return Math.max(1, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6);
}

function finiteOr(value: number, fallback: number): number {
  return Number.isFinite(value) ? value : fallback;
}

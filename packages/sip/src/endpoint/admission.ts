/**
 * Admission of new calls under `maxCalls`. A call counts from the moment its INVITE arrives, not
 * from its answer: an INVITE still in `onInvite`, in digest authentication or waiting for its RTP
 * port holds a slot, so a burst of INVITEs never sets up more calls than the limit. The slot is
 * given back when the INVITE fails, is refused or cancelled, or, once answered, when the call's
 * dialog is gone.
 */
import { ConfigError } from '@switchboard/core';

/** A place among `maxCalls`, held by an INVITE being set up. */
export interface AdmissionSlot {
  /** The INVITE is done with (answered: its dialog counts from now on; or refused). Idempotent. */
  release(): void;
}

export class CallAdmission {
  readonly #max: number | undefined;
  readonly #answered: () => number;
  #settingUp = 0;

  /**
   * @param max - `maxCalls` (undefined: no limit).
   * @param answered - Calls answered and not yet forgotten (their dialogs).
   */
  constructor(max: number | undefined, answered: () => number) {
    if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 0)) {
      throw new ConfigError(`\`maxCalls\` must be a whole number from 0, got ${String(max)}.`);
    }
    this.#max = max;
    this.#answered = answered;
  }

  /** INVITEs being set up now. */
  get settingUp(): number {
    return this.#settingUp;
  }

  /** A slot for a new INVITE, or undefined when `maxCalls` calls are answered or being set up. */
  reserve(): AdmissionSlot | undefined {
    if (this.#max !== undefined && this.#answered() + this.#settingUp >= this.#max) return undefined;
    this.#settingUp++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.#settingUp--;
      },
    };
  }
}

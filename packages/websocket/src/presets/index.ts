import { ConfigError } from '@switchboard/core';
import type { RawWebSocketPreset } from '../preset.js';
import { asteriskPreset } from './asterisk.js';
import { genericPreset } from './generic.js';
import { jambonzPreset } from './jambonz.js';
import { vonagePreset } from './vonage.js';

export { asteriskPreset, ASTERISK_MAX_MESSAGE_BYTES } from './asterisk.js';
export { genericPreset } from './generic.js';
export { jambonzPreset } from './jambonz.js';
export { vonagePreset } from './vonage.js';

/** The built-in presets, by name. */
export const presets = {
  vonage: vonagePreset,
  asterisk: asteriskPreset,
  jambonz: jambonzPreset,
  generic: genericPreset,
} as const satisfies Record<string, RawWebSocketPreset>;

export type RawWebSocketPresetName = keyof typeof presets;

/** A preset by name, or a preset object checked for the members every preset has. */
export function resolvePreset(preset: RawWebSocketPresetName | RawWebSocketPreset | undefined): RawWebSocketPreset {
  if (typeof preset === 'string') {
    if (!Object.hasOwn(presets, preset)) {
      throw new ConfigError(
        `Unknown raw WebSocket preset ${JSON.stringify(preset)}: use ${Object.keys(presets).join(', ')} or a preset object.`,
      );
    }
    return presets[preset];
  }
  if (
    typeof preset !== 'object' ||
    preset === null ||
    typeof preset.name !== 'string' ||
    typeof preset.decodeControl !== 'function' ||
    typeof preset.encodeControl !== 'function' ||
    typeof preset.capabilities !== 'object'
  ) {
    throw new ConfigError(
      `\`preset\` must be one of ${Object.keys(presets).join(', ')}, or a preset object (name, capabilities, decodeControl, encodeControl).`,
    );
  }
  return preset;
}

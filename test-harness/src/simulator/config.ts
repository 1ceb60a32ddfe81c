/**
 * The session configuration of a simulated session: the defaults it starts with and how an
 * accepted `session.update` merges into it (field by field, as the service does: a field the
 * update leaves out keeps its value).
 */
import { PCM_24K } from './audio.js';
import { normaliseFormat, type SimulatorAudioFormat } from './session-schema.js';
import { isPlainObject, type Json } from './types.js';
import type { ResolvedVadOptions } from './vad.js';

export function initialConfig(id: string, model: string | undefined, vad: ResolvedVadOptions): Json {
  return {
    type: 'realtime',
    object: 'realtime.session',
    id,
    model: model ?? 'gpt-realtime',
    output_modalities: ['audio'],
    instructions: '',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    tracing: null,
    prompt: null,
    include: null,
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    audio: {
      input: {
        format: { ...PCM_24K },
        transcription: null,
        noise_reduction: null,
        turn_detection: completeTurnDetection({ type: 'server_vad' }, vad),
      },
      output: { format: { ...PCM_24K }, voice: 'alloy', speed: 1 },
    },
  };
}

/** Turn detection as the service echoes it: the given fields over the type's defaults. */
export function completeTurnDetection(td: Json, vad: ResolvedVadOptions): Json {
  const defaults: Json =
    td.type === 'semantic_vad'
      ? { type: 'semantic_vad', eagerness: 'auto', create_response: true, interrupt_response: true }
      : {
          type: 'server_vad',
          threshold: 0.5,
          prefix_padding_ms: vad.prefixPaddingMs,
          silence_duration_ms: vad.silenceMs,
          idle_timeout_ms: null,
          create_response: true,
          interrupt_response: true,
        };
  return { ...defaults, ...td };
}

/** The config after a (validated) update. */
export function mergeSessionUpdate(config: Json, update: Json, vad: ResolvedVadOptions): Json {
  const next: Json = { ...config };
  for (const [key, value] of Object.entries(update)) {
    if (key === 'audio') continue;
    next[key] = structuredClone(value);
  }
  if (isPlainObject(update.audio)) {
    const currentAudio = isPlainObject(config.audio) ? config.audio : {};
    const audio: Json = { ...currentAudio };
    for (const [key, value] of Object.entries(update.audio)) {
      if ((key === 'input' || key === 'output') && isPlainObject(value)) {
        const section: Json = { ...(isPlainObject(currentAudio[key]) ? currentAudio[key] : {}) };
        for (const [field, fieldValue] of Object.entries(value)) {
          if (field === 'format' && isPlainObject(fieldValue)) {
            section.format = normaliseFormat(fieldValue as Parameters<typeof normaliseFormat>[0]);
          } else if (field === 'turn_detection' && isPlainObject(fieldValue)) {
            section.turn_detection = completeTurnDetection(fieldValue, vad);
          } else {
            section[field] = structuredClone(fieldValue);
          }
        }
        audio[key] = section;
      } else {
        audio[key] = structuredClone(value);
      }
    }
    next.audio = audio;
  }
  next.type = 'realtime';
  next.object = 'realtime.session';
  next.id = config.id;
  return next;
}

export function audioSection(config: Json, direction: 'input' | 'output'): Json {
  const audio = isPlainObject(config.audio) ? config.audio : {};
  const section = audio[direction];
  return isPlainObject(section) ? section : {};
}

export function formatOf(config: Json, direction: 'input' | 'output'): SimulatorAudioFormat {
  const format = audioSection(config, direction).format;
  if (isPlainObject(format) && (format.type === 'audio/pcmu' || format.type === 'audio/pcma')) {
    return { type: format.type };
  }
  return { ...PCM_24K } as SimulatorAudioFormat;
}

export function turnDetectionOf(config: Json): Json | null {
  const td = audioSection(config, 'input').turn_detection;
  return isPlainObject(td) ? td : null;
}

/** Whether input audio transcription is on. */
export function transcriptionOn(config: Json): boolean {
  return isPlainObject(audioSection(config, 'input').transcription);
}

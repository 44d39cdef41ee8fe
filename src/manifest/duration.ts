/** Durations of manifests: `90s`, `15m`, `2h`, `1h30m`. */

const DURATION = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Milliseconds of a duration string, or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const [h, min, s] = [m[1], m[2], m[3]].map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number];
  const ms = ((h * 60 + min) * 60 + s) * 1000;
  return Number.isSafeInteger(ms) ? ms : undefined;
}

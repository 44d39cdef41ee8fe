/** xs:duration values of task XML (`PT5M`, `P1D`, `PT0S`) to and from whole seconds. */

/** Formats whole seconds as an xs:duration with days, hours, minutes, seconds (`PT0S` for 0). */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new RangeError(`not a duration in seconds: ${seconds}`);
  if (seconds === 0) return 'PT0S';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Whole seconds of an xs:duration without years or months (Task Scheduler writes days at
 * most); null for anything else, a fractional second included.
 */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return null;
  if (m[1] !== undefined || m[2] !== undefined) return null;
  const [d, h, min] = [m[3], m[4], m[5]].map((x) => (x === undefined ? 0 : Number(x))) as [number, number, number];
  const s = m[6] === undefined ? 0 : Number(m[6]);
  if (!Number.isInteger(s)) return null;
  const total = ((d * 24 + h) * 60 + min) * 60 + s;
  return Number.isSafeInteger(total) ? total : null;
}

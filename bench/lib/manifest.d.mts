/** See manifest.mjs. */
export function jobManifest(i: number, o: { tenant: string; schedule: string; timezone: string; role: string }): string;

/**
 * xmlbuilder2, loaded on first use: it costs about 13 MB of memory, and every process that
 * builds the scheduler registry (the daemon on any OS, `sync`, `status`) would pay for it at
 * start although only the windows adapter renders or reads task XML.
 */
import { createRequire } from 'node:module';
import type { create as Create } from 'xmlbuilder2';

let loaded: typeof Create | undefined;

/** xmlbuilder2's `create`, required on the first call. */
export const create: typeof Create = ((...args: Parameters<typeof Create>) => {
  loaded ??= (createRequire(import.meta.url)('xmlbuilder2') as { create: typeof Create }).create;
  return (loaded as (...a: unknown[]) => unknown)(...args);
}) as typeof Create;

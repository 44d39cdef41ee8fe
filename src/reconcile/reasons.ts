/** Failure reasons of a sync, as string constants (flux `condition_types.go`). */
export const Reasons = {
  SourceFetchFailed: 'SourceFetchFailed',
  ManifestInvalid: 'ManifestInvalid',
  RemovalGuardTripped: 'RemovalGuardTripped',
  OwnershipConflict: 'OwnershipConflict',
  SchedulerFailed: 'SchedulerFailed',
  StateDirFailed: 'StateDirFailed',
  Cancelled: 'Cancelled',
  Internal: 'Internal',
} as const;

/** One of {@link Reasons}. */
export type Reason = (typeof Reasons)[keyof typeof Reasons];

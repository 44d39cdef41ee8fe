/** Failure reasons of a sync, as string constants (flux `condition_types.go`). */
export const Reasons = {
  SourceFetchFailed: 'SourceFetchFailed',
  /** The head commit has no valid signature by a trusted key (`source.verify`): not applied. */
  SourceVerifyFailed: 'SourceVerifyFailed',
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

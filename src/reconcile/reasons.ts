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
  /** Another sync held the state dir for longer than a sync waits (src/reconcile/lock.ts). */
  StateDirBusy: 'StateDirBusy',
  Cancelled: 'Cancelled',
  /** The daemon aborted a sync that ran longer than `daemon.syncTimeout`. */
  SyncTimedOut: 'SyncTimedOut',
  Internal: 'Internal',
} as const;

/** One of {@link Reasons}. */
export type Reason = (typeof Reasons)[keyof typeof Reasons];

/** The steps that prepare a task's run; a failure names the one it happened at. */
export type SetupStep = 'prepare' | 'clone' | 'checkout' | 'apply diff' | 'write script' | 'install' | 'link sdk' | 'start';

/** A task could not be set up to run; becomes the task's failure reason `setup failed at <step>: <why>`. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  constructor(
    readonly step: SetupStep,
    readonly why: string,
    options?: ErrorOptions,
  ) {
    super(`setup failed at ${step}: ${why}`, options);
  }
}

/** Thrown inside a run when the task was aborted (or the agent is stopping) during setup. */
export class RunAbortedError extends Error {
  override readonly name = 'RunAbortedError';
}

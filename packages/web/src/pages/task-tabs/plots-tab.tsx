// TODO(#7): placeholder, filled in by the task outputs work.
export function PlotsTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  void isLive;
  return <p className="muted">Nothing to show yet for {taskId}.</p>;
}

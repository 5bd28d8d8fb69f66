/** Published (ready) or Draft, as the model table and details show it. */
export function ModelStatus({ ready }: { ready: boolean }) {
  return (
    <span className={`status ${ready ? 'status-published' : 'status-created'}`} data-ready={ready}>
      {ready ? 'Published' : 'Draft'}
    </span>
  );
}

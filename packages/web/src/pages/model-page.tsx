// TODO(#7): placeholder page.
export function ModelPage({ modelId }: { modelId: string }) {
  void modelId;
  return <p className="muted">This page is coming.</p>;
}

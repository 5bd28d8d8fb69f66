// TODO(#7): placeholder page.
export function QueuesPage() {
  
  return <p className="muted">This page is coming.</p>;
}

// TODO(#7): placeholder page.
export function ComparePage({ query }: { query: URLSearchParams }) {
  void query;
  return <p className="muted">This page is coming.</p>;
}

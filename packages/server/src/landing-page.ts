/** The page at `/` until the web UI is built. It shows no user data, so nothing in it needs escaping. */
export const LANDING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tasklane</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#f2f2f2;padding:0 .25rem}</style>
</head><body>
<h1>Tasklane server is running</h1>
<p>The API answers at <code>POST /&lt;service&gt;.&lt;action&gt;</code>, for example <code>/tasks.get_all</code>.
ClearML clients can point <code>CLEARML_API_HOST</code> here.</p>
<p>From a terminal: <code>tasklane task list</code>.</p>
</body></html>
`;

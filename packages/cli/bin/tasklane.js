#!/usr/bin/env node
// The `tasklane` command. A file that exists before the build, so that `npm install` links it into
// node_modules/.bin (npm skips a bin whose file is missing, and dist/ is built after linking).
await import('../dist/bin.js');

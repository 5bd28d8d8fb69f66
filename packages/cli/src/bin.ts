#!/usr/bin/env node
import { runCli } from './program.js';

// `tasklane server` keeps running after this resolves (its socket holds the process); other commands end here.
process.exitCode = await runCli(process.argv);

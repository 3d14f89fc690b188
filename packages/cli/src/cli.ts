#!/usr/bin/env node
import { main } from './main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`crac: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
